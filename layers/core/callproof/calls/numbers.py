"""What a call log's number is: a dialable number (E.164), a short code, or an alphanumeric sender.

Only dialable numbers are ever matched to contacts. Short codes ("72345") and alphanumeric senders
("VERIFY") are stored as reported so the rep's history is complete, but no contact can own them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from callproof.phones import normalize

_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 &._-]{1,11}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")


class NumberKind(StrEnum):
    PHONE = "phone"
    SHORT_CODE = "short_code"
    ALPHANUMERIC = "alphanumeric"


@dataclass(frozen=True, slots=True)
class CallNumber:
    raw: str
    kind: NumberKind
    e164: str | None = None
    extension: str | None = None

    @property
    def matchable(self) -> bool:
        return self.kind is NumberKind.PHONE


def classify(raw: str, region: str) -> CallNumber:
    """Raises ``InvalidPhoneNumber`` (with the reason) for input that is none of the three kinds."""
    text = raw.strip()
    if _ALPHANUMERIC_SENDER.match(text):
        return CallNumber(raw=text, kind=NumberKind.ALPHANUMERIC)
    if _SHORT_CODE.match(text) and _is_short_code(text, region):
        return CallNumber(raw=text, kind=NumberKind.SHORT_CODE)
    phone = normalize(text, region)  # raises InvalidPhoneNumber with the reason
    return CallNumber(raw=text, kind=NumberKind.PHONE, e164=phone.e164, extension=phone.extension)


def _is_short_code(digits: str, region: str) -> bool:
    import phonenumbers  # on first use, as in callproof.phones
    from phonenumbers import shortnumberinfo

    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(shortnumberinfo.is_possible_short_number_for_region(number, region))
