"""How the SMS services read a phone number: as Twilio sends it (E.164, anything else is the caller's
error), or as a person typed it (with the org's default region unless it starts with +)."""

from __future__ import annotations

from callproof.errors import InvalidInput
from callproof.phones import InvalidPhoneNumber, normalize


def inbound_number(raw: str, field: str) -> str:
    """A number as Twilio sends it (E.164); anything else is the caller's error."""
    text = raw.strip()
    if not text.startswith("+"):
        raise InvalidInput("not an E.164 phone number", field=field)
    try:
        return normalize(text, "US").e164  # the region is ignored when the number has a country code
    except InvalidPhoneNumber as exc:
        raise InvalidInput(f"not a phone number: {exc}", field=field) from None


def typed_number(raw: str, region: str, field: str) -> str:
    """A number as a person typed it, in E.164; ``InvalidInput`` on ``field`` when it is none."""
    try:
        return normalize(raw, region).e164
    except InvalidPhoneNumber as exc:
        raise InvalidInput(f"not a phone number: {exc}", field=field) from None
