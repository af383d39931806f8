"""Email addresses: validated syntax (no DNS look-up), stored lower-cased."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


class InvalidEmail(ValueError):
    """The input is not a syntactically valid email address; the message says why."""


def normalize_email(raw: str) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_LENGTH:
        raise InvalidEmail("empty" if not text else f"longer than {MAX_LENGTH} characters")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized.lower()
