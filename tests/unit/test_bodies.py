"""Issue 13, point 2: ``callproof.bodies`` reads a body once, safely, or says why not."""

from __future__ import annotations

import base64

import pytest

from callproof.bodies import (
    CSV,
    JSON,
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    MalformedJson,
    UnacceptableBody,
    check_media_type,
    json_object,
    parse_json,
)
from callproof.errors import UnsupportedMediaType


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_json_nests_up_to_the_limit_and_no_further_however_deep() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH))
    for levels in (MAX_JSON_DEPTH + 1, 1_000, 100_000):
        with pytest.raises(UnacceptableBody, match="nested deeper"):
            parse_json(nested(levels))
    with pytest.raises(UnacceptableBody):
        parse_json("[" * 50_000 + "]" * 50_000)


def test_a_number_token_too_long_to_read_is_named_by_where_it_is() -> None:
    longest = "9" * MAX_NUMBER_CHARS
    assert parse_json(f'{{"x": {longest}}}') == {"x": int(longest)}
    for token in ("7" * 5_000, "-" + "7" * MAX_NUMBER_CHARS, "0." + "1" * 5_000, "1e" + "0" * 200):
        with pytest.raises(UnacceptableBody) as refused:
            parse_json(f'{{"entries": [{{}}, {{"metadata": {{"x": {token}}}}}]}}')
        assert refused.value.field == "entries.1.metadata.x"
    with pytest.raises(UnacceptableBody) as refused:
        parse_json("1" * 5_000)
    assert refused.value.field == "body"


@pytest.mark.parametrize("text", ['{"x": NaN}', '{"x": Infinity}', '{"x": -Infinity}', "{x", "", "\ufeff{}"])
def test_what_is_not_json_is_malformed(text: str) -> None:
    with pytest.raises(MalformedJson):
        parse_json(text)


def test_a_json_body_is_utf8_text_holding_an_object() -> None:
    assert json_object(base64.b64encode('{"a": "Zoë"}'.encode()).decode(), True) == (
        '{"a": "Zoë"}',
        {"a": "Zoë"},
    )
    for raw, is_base64 in ((base64.b64encode(b"\xff").decode(), True), ("\udcff", False), ("!!", True)):
        with pytest.raises(MalformedJson):
            json_object(raw, is_base64)
    for text in ("[{}]", "1", '"x"', "null"):
        with pytest.raises(UnacceptableBody):
            json_object(text, False)


@pytest.mark.parametrize(
    "header",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
    ],
)
def test_json_media_types_taken(header: str) -> None:
    check_media_type(header, JSON)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json; charset=latin-1",
        "application/jsonx",
        "application/merge-patch+json",
        "text/csv",
    ],
)
def test_other_media_types_refused(header: str) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        check_media_type(header, JSON)
    assert refused.value.field == "body"


def test_csv_takes_csv_only() -> None:
    check_media_type("text/csv; charset=utf-8", CSV)
    with pytest.raises(UnsupportedMediaType):
        check_media_type("application/json", CSV)
