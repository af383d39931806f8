"""Phone numbers: parse with the org's default region, store E.164, keep the raw input and extension.

``phonenumbers`` (its metadata is a large part of a cold start, ADR 0013) is imported by the first
parse, not with this module: many requests of a function that imports ``Phone`` never parse one.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_RAW_LENGTH = 64

# phonenumbers' NumberParseException error types and ValidationResult values, by name
_PARSE_REASONS = {
    "INVALID_COUNTRY_CODE": "unknown country calling code",
    "NOT_A_NUMBER": "not a phone number",
    "TOO_SHORT_AFTER_IDD": "too short after the international prefix",
    "TOO_SHORT_NSN": "too short",
    "TOO_LONG": "too long",
}
_POSSIBLE_REASONS = {
    "INVALID_COUNTRY_CODE": "unknown country calling code",
    "TOO_SHORT": "too short",
    "TOO_LONG": "too long",
    "INVALID_LENGTH": "wrong length for its country",
}


class InvalidPhoneNumber(ValueError):
    """The input cannot be read as a dialable phone number; the message says why."""


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    raw: str
    extension: str | None = None


def normalize(raw: str, region: str) -> Phone:
    """Parse ``raw`` (any common spelling) as a number of ``region`` unless it carries a country code."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("empty")
    if len(text) > MAX_RAW_LENGTH:
        raise InvalidPhoneNumber(f"longer than {MAX_RAW_LENGTH} characters")
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _reason(NumberParseException, exc.error_type, _PARSE_REASONS)
        raise InvalidPhoneNumber(reason or "not a phone number") from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        reason = _reason(ValidationResult, possible, _POSSIBLE_REASONS)
        raise InvalidPhoneNumber(reason or "not a possible number")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"not a valid number (read with default region {region})")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Phone(e164=e164, raw=text, extension=number.extension or None)


def _reason(constants: type, value: object, reasons: dict[str, str]) -> str | None:
    return next((text for name, text in reasons.items() if getattr(constants, name) == value), None)


def masked(e164: str) -> str:
    """Only the last four digits, for a page that shows someone which number it means."""
    return "\u2022\u2022\u2022\u2022 " + e164[-4:] if len(e164) > 4 else "\u2022\u2022\u2022\u2022"
