import pytest

from callproof.calls.numbers import NumberKind, classify
from callproof.phones import InvalidPhoneNumber

REAL_WORLD = [
    # raw as the phone shows it, device region, kind, E.164, extension
    ("+1 415 555 0100", "US", NumberKind.PHONE, "+14155550100", None),
    ("(415) 555-0100", "US", NumberKind.PHONE, "+14155550100", None),
    ("1 415 555 0100", "US", NumberKind.PHONE, "+14155550100", None),
    ("06 12 34 56 78", "FR", NumberKind.PHONE, "+33612345678", None),
    ("0612345678", "FR", NumberKind.PHONE, "+33612345678", None),
    ("+33 6 12 34 56 78", "US", NumberKind.PHONE, "+33612345678", None),
    ("44 20 7946 0958", "GB", NumberKind.PHONE, "+442079460958", None),
    ("020 7946 0958", "GB", NumberKind.PHONE, "+442079460958", None),
    ("415-555-0100 ext. 42", "US", NumberKind.PHONE, "+14155550100", "42"),
    ("72345", "US", NumberKind.SHORT_CODE, None, None),
    ("36111", "FR", NumberKind.SHORT_CODE, None, None),
    ("VERIFY", "US", NumberKind.ALPHANUMERIC, None, None),
    ("Google", "GB", NumberKind.ALPHANUMERIC, None, None),
]


@pytest.mark.parametrize(("raw", "region", "kind", "e164", "extension"), REAL_WORLD)
def test_real_world_numbers(
    raw: str, region: str, kind: NumberKind, e164: str | None, extension: str | None
) -> None:
    number = classify(raw, region)
    assert (number.kind, number.e164, number.extension) == (kind, e164, extension)
    assert number.raw == raw
    assert number.matchable is (kind is NumberKind.PHONE)


@pytest.mark.parametrize("raw", ["12", "+999 1234", "555-01", "((((", "+1 415 555 01001234567"])
def test_unreadable_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        classify(raw, "US")
