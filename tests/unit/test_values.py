"""Issue 13, points 3 and 7: the value rules of ``callproof.values``: numbers DynamoDB stores, text
without control characters, and the JSON Schema patterns that say so in the OpenAPI document."""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AwareDatetime, StringConstraints, TypeAdapter, ValidationError

from callproof.values import (
    DYNAMODB_LARGEST,
    DYNAMODB_SMALLEST,
    FREE_TEXT,
    ISO_DATETIME,
    SINGLE_LINE,
    STORABLE,
    storable_number,
)

CONTROL = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]
KEPT = [
    "Zoë",
    "李小龍",
    "👩‍👩‍👧",
    "\u200f\u05e9\u05dc\u05d5\u05dd",
    "\ue000",
    "\U0010fffd",
    "\u0378",
]  # Cf, Co, Cn


def takes(rule: object, text: str) -> bool:
    try:
        rule.check(text)  # type: ignore[attr-defined]
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------- text
def test_there_are_65_control_characters_and_single_line_text_refuses_each() -> None:
    assert len(CONTROL) == 65
    for char in CONTROL:
        assert not takes(SINGLE_LINE, f"nul{char}byte"), repr(char)
        with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
            SINGLE_LINE.check(char)


def test_free_text_takes_tab_and_newline_lf_or_crlf_only() -> None:
    for text in ("a\tb", "line\nline", "line\r\nline\r\n", "\n\n"):
        assert takes(FREE_TEXT, text), repr(text)
    for char in set(CONTROL) - {"\t", "\n"}:
        assert not takes(FREE_TEXT, f"a{char}b"), repr(char)
    assert not takes(FREE_TEXT, "a\rb")
    assert not takes(FREE_TEXT, "a\n\r")
    for text in ("a\tb", "a\nb", "a\r\nb", "a\u2028b", "a\u2029b"):
        assert not takes(SINGLE_LINE, text), repr(text)


def test_both_keep_what_people_write_and_refuse_lone_surrogates() -> None:
    for text in KEPT:
        assert takes(SINGLE_LINE, text), repr(text)
        assert takes(FREE_TEXT, text), repr(text)
    for text in ("\ud800", "a\udfffb", "\udcff"):
        assert not takes(SINGLE_LINE, text), repr(text)
        assert not takes(FREE_TEXT, text), repr(text)


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=30))
def test_the_documented_patterns_say_exactly_what_the_rules_take(text: str) -> None:
    for rule in (SINGLE_LINE, FREE_TEXT):
        assert (re.fullmatch(rule.json_pattern, text) is not None) == takes(rule, text), repr(text)


@given(st.text(st.sampled_from(["a", "\t", "\n", "\r", "\x00", "\u2028", " "]), max_size=12))
def test_the_documented_patterns_agree_on_line_breaks(text: str) -> None:
    for rule in (SINGLE_LINE, FREE_TEXT):
        assert (re.fullmatch(rule.json_pattern, text) is not None) == takes(rule, text), repr(text)


def test_the_rule_reads_the_value_before_its_whitespace_is_stripped_and_keeps_the_constraints() -> None:
    name = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True, max_length=5), SINGLE_LINE])
    assert name.validate_python(" abc ") == "abc"
    with pytest.raises(ValidationError, match="U\\+000A"):
        name.validate_python("abc\n")
    with pytest.raises(ValidationError, match="at most 5"):
        name.validate_python("abcdef")
    assert name.json_schema()["pattern"] == SINGLE_LINE.json_pattern
    assert name.json_schema()["maxLength"] == 5
    with pytest.raises(ValidationError, match="valid string"):
        name.validate_python(5)  # other types are the field's to refuse


@pytest.mark.parametrize("rule", [SINGLE_LINE, FREE_TEXT])
def test_the_documented_max_length_holds_for_the_value_as_sent_whitespace_included(rule: object) -> None:
    """pydantic measures a stripped string after stripping: "  abcde  " would fit a maxLength of 5.
    The document's maxLength is for the string as sent, so the rule refuses it (a fuzzer's finding)."""
    for field in (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=5), rule],
        Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=5), rule],
    ):
        adapter = TypeAdapter(field)
        with pytest.raises(ValidationError, match="at most 5 characters"):
            adapter.validate_python("  abcde  ")
        assert adapter.validate_python("abcde") == "abcde"
    unbounded = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True), rule])
    assert unbounded.validate_python("  " + "x" * 10_000 + "  ") == "x" * 10_000


# ------------------------------------------------------------------------------------- numbers
def test_dynamodbs_limits_are_taken_and_what_lies_beyond_is_refused() -> None:
    for number in (
        0,
        0.0,
        -0.0,
        1e-130,
        -1e-130,
        1.5e-130,
        9.999999999999998e125,
        10**38 - 1,
        -(10**38 - 1),
        True,
    ):
        assert storable_number(number) == number
    for number in (
        9.9e-131,
        1e-200,
        5e-324,
        1e126,
        1e200,
        10**38,
        -(10**38),
        10**4000,
        float("nan"),
        float("inf"),
        float("-inf"),
    ):
        with pytest.raises(ValueError, match=r"finite|digits|magnitude"):
            storable_number(number)
    assert str(DYNAMODB_SMALLEST) == "1E-130"
    assert Decimal("9." + "9" * 37 + "E+125") == DYNAMODB_LARGEST


@given(st.one_of(st.floats(), st.integers(min_value=-(10**45), max_value=10**45)))
def test_every_number_taken_is_one_boto3_sends_and_dynamodb_keeps(number: int | float) -> None:
    try:
        storable_number(number)
    except ValueError:
        return
    sent = Decimal(str(number)) if isinstance(number, float) else number
    serialized = Decimal(TypeSerializer().serialize(sent)["N"])
    assert serialized == Decimal(str(number)) if isinstance(number, float) else serialized == number
    assert serialized == 0 or DYNAMODB_SMALLEST <= abs(serialized) <= DYNAMODB_LARGEST
    assert len(serialized.as_tuple().digits) <= 38


def test_the_annotated_types_refuse_with_a_field_message_and_document_their_bounds() -> None:
    floats, ints = TypeAdapter(Annotated[float, STORABLE]), TypeAdapter(Annotated[int, STORABLE])
    with pytest.raises(ValidationError, match="1E-130"):
        floats.validate_python(1e-200)
    with pytest.raises(ValidationError, match="finite"):
        floats.validate_python(float("nan"))
    with pytest.raises(ValidationError):
        ints.validate_python(10**38)
    assert ints.json_schema() == {"type": "integer"}
    assert floats.json_schema() == {"type": "number", "exclusiveMinimum": -1e126, "exclusiveMaximum": 1e126}


# ---------------------------------------------------------------------- times that exist in UTC
AWARE_TIME = TypeAdapter(Annotated[AwareDatetime, ISO_DATETIME])


@pytest.mark.parametrize(
    "sent",
    [
        "0001-01-01T00:00:03+05:00",  # the fuzzer's, on POST /v1/incidents: a 502 before the fix
        "9999-12-31T23:00:00-05:00",
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_a_time_outside_utcs_years_is_refused(sent: object) -> None:
    with pytest.raises(ValidationError, match="exists in UTC"):
        AWARE_TIME.validate_python(sent)


@pytest.mark.parametrize(
    "sent", ["0001-01-01T06:00:00+05:00", "9999-12-31T18:00:00-05:00", "2026-11-27T18:05Z"]
)
def test_a_time_within_utcs_years_is_kept(sent: str) -> None:
    assert AWARE_TIME.validate_python(sent).astimezone(UTC).year in (1, 2026, 9999)
