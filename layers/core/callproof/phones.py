"""Phone numbers: parse with the org's default region, store E.164, keep the raw input and extension."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

MAX_RAW_LENGTH = 64

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length for its country",
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
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(_PARSE_REASONS.get(exc.error_type, "not a phone number")) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise InvalidPhoneNumber(_POSSIBLE_REASONS.get(possible, "not a possible number"))
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"not a valid number (read with default region {region})")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Phone(e164=e164, raw=text, extension=number.extension or None)


def masked(e164: str) -> str:
    """Only the last four digits, for a page that shows someone which number it means."""
    return "\u2022\u2022\u2022\u2022 " + e164[-4:] if len(e164) > 4 else "\u2022\u2022\u2022\u2022"
