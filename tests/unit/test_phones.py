import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from callproof.phones import InvalidPhoneNumber, normalize

SPELLINGS_OF_ONE_NUMBER = [
    "+1 415 555 0100",
    "(415) 555-0100",
    "415.555.0100",
    "1-415-555-0100",
    "4155550100",
]


@pytest.mark.parametrize("raw", SPELLINGS_OF_ONE_NUMBER)
def test_us_spellings_map_to_one_e164(raw: str) -> None:
    phone = normalize(raw, "US")
    assert phone.e164 == "+14155550100"
    assert phone.raw == raw


def test_region_decides_national_numbers_and_country_code_overrides_it() -> None:
    assert normalize("020 7946 0958", "GB").e164 == "+442079460958"
    assert normalize("+44 20 7946 0958", "US").e164 == "+442079460958"


def test_extension_is_kept_apart() -> None:
    phone = normalize("415-555-0100 ext. 12", "US")
    assert (phone.e164, phone.extension) == ("+14155550100", "12")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", "not a phone number"),
        ("12", "too short"),
        ("+999 123456", "unknown country calling code"),
        ("", "empty"),
        ("1" * 80, "longer than 64"),
        ("+1 415 555 01001234567", "too long"),
    ],
)
def test_unreadable_numbers_are_rejected_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=reason):
        normalize(raw, "US")


REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "AU", "JP"]


def _example_numbers() -> st.SearchStrategy[tuple[str, phonenumbers.PhoneNumber]]:
    def example(region: str) -> tuple[str, phonenumbers.PhoneNumber]:
        number = phonenumbers.example_number(region)
        assert number is not None
        return region, number

    return st.sampled_from(REGIONS).map(example)


@given(_example_numbers())
def test_normalizing_twice_changes_nothing(example: tuple[str, phonenumbers.PhoneNumber]) -> None:
    region, number = example
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    once = normalize(national, region)
    assert normalize(once.e164, region).e164 == once.e164
    assert normalize(once.e164, "US").e164 == once.e164  # E.164 no longer depends on a region


@given(
    _example_numbers(),
    st.sampled_from(
        [
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.RFC3966,
        ]
    ),
    st.sampled_from(["", " ", "  "]),
)
def test_two_spellings_in_the_same_region_map_to_one_e164(
    example: tuple[str, phonenumbers.PhoneNumber], fmt: int, padding: str
) -> None:
    region, number = example
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    spelled = padding + phonenumbers.format_number(number, fmt) + padding
    assert normalize(spelled, region).e164 == expected


TYPES = [
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
]
FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@st.composite
def noisy_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(region, a spelling people type, its E.164): phonenumbers' example numbers of several types
    and regions, formatted three ways, with separators sprinkled between the digits and padding."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from(TYPES))
    number = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    assert number is not None
    text = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    separators = draw(
        st.lists(st.sampled_from(["", "", " ", "-", ".", "/"]), min_size=len(text), max_size=len(text))
    )
    noisy = "".join(
        char + (sep if char.isdigit() else "") for char, sep in zip(text, separators, strict=True)
    )
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return (
        region,
        padding + noisy.rstrip("-./ ") + padding,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
    )


@given(noisy_numbers())
def test_a_typed_spelling_normalizes_to_its_number_and_then_stays_put(example: tuple[str, str, str]) -> None:
    region, raw, expected = example
    once = normalize(raw, region)
    assert once.e164 == expected
    assert once.raw == raw.strip()
    assert normalize(once.e164, region) == type(once)(once.e164, once.e164, None)
    assert normalize(once.e164, "US").e164 == expected  # E.164 no longer depends on a region


@given(st.text(alphabet="0123456789 +-().", min_size=1, max_size=20), st.sampled_from(REGIONS))
def test_any_input_is_either_a_number_or_refused_with_a_reason(raw: str, region: str) -> None:
    """Robustness only (most random digit strings are not numbers): never another exception."""
    try:
        outcome = normalize(raw, region).e164
    except InvalidPhoneNumber as refused:
        outcome = f"refused: {refused}"
    assert outcome.startswith("+") or len(outcome) > len("refused: ")
