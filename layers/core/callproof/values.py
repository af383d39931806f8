"""What a value from outside may hold before it is stored: the text and number rules at the edge.

Text. Control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) are refused, naming
the field (422): they corrupt logs, CSV exports, emails and the pages that show them, and NUL breaks
many a reader downstream. Two kinds of text:

- ``SINGLE_LINE`` (names, companies, subjects, numbers as typed, keys): no control character at all,
  not even tab or newline, and no U+2028 / U+2029 (the line and paragraph separators break lines too).
- ``FREE_TEXT`` (notes, SMS bodies, details, reasons, free-form values): tab and newline are allowed
  (LF, or CR LF as browsers send a textarea); every other control character is refused.

Both refuse lone surrogates (category Cs: ``"\\ud800"`` in JSON), which no UTF-8 store or reader can
hold. Private-use characters (Co), format characters (Cf: the zero-width joiners of emoji, the
direction marks of Arabic and Hebrew names) and characters not yet assigned (Cn) are kept: they are
text people write. The check reads the value as sent, before any whitespace is stripped, so the JSON
Schema ``pattern`` each rule adds to the OpenAPI document is exactly what the API accepts (the
patterns leave surrogates out: a JavaScript validator reads an emoji as two of them). For the same
reason the rule holds the value as sent to its field's ``maxLength``: pydantic measures a stripped
field after stripping, which would accept a longer string than the document allows.

Numbers. DynamoDB stores a number with at most 38 significant digits and a magnitude from 1E-130 to
9.99...E+125, or zero; boto3 sends a float as its shortest ``repr`` and refuses any rounding.
``STORABLE`` accepts exactly those numbers (never NaN or an infinity), so a number that cannot be
stored is a 422 naming its field (or one rejected call-log entry), never a 5xx after part of a batch
was written.

Types. pydantic's lax mode reads ``true`` as the integer 1, ``0`` as ``false``, ``"12"`` as 12 and
``0`` or ``"0"`` as the date 1970-01-01; the OpenAPI document promises a JSON integer, boolean or
``YYYY-MM-DD`` string, so a body field that is a number or a boolean takes ``JSON_SCALAR`` (exactly
that JSON type: an integer also serves a number field, nothing else converts) and a date, in a body
or a query string, takes ``ISO_DATE`` (a ``YYYY-MM-DD`` string, nothing else). Any other value is a 422
naming the field, as for any type the document does not allow.

Each rule is a pydantic annotation, placed after the field's own constraints:
``Annotated[str, StringConstraints(max_length=200), SINGLE_LINE]``; on a union of scalars it checks
whichever member the value turned out to be.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
)
from pydantic_core import PydanticCustomError, core_schema

from callproof.emails import normalize_email

if TYPE_CHECKING:
    from pydantic.json_schema import JsonSchemaValue

DYNAMODB_DIGITS = 38
DYNAMODB_SMALLEST = Decimal("1E-130")
DYNAMODB_LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")
LARGEST_FLOAT_BOUND = 1e126  # floats below it print with at most 17 digits, below DYNAMODB_LARGEST

_CC = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f"  # category Cc but tab (U+0009) and newline (U+000A)
_CC_BUT_CR = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_LINE_BREAKS = r"\t\n\u2028\u2029"
_SURROGATES = r"\ud800-\udfff"


def _members(schema: JsonSchemaValue) -> list[JsonSchemaValue]:
    """The schema itself, or the members of its ``anyOf`` (a union of scalars)."""
    return list(schema.get("anyOf", [schema]))


def _max_length(schema: core_schema.CoreSchema) -> int | None:
    """The ``max_length`` of the string in a field's schema (itself, nullable or with a default)."""
    while schema["type"] in ("nullable", "default"):
        schema = schema["schema"]
    return schema.get("max_length") if schema["type"] == "str" else None


@dataclass(frozen=True, slots=True)
class TextRule:
    """Refuses the characters of ``refused`` in a string (anything else is for the field's type)."""

    kind: str
    refused: re.Pattern[str]
    json_pattern: str

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and not (value.isascii() and value.isprintable()):
            found = self.refused.search(value)
            if found is not None:
                raise ValueError(f"{self.kind} text may not contain U+{ord(found.group()[0]):04X}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        longest = _max_length(schema)
        if longest is None:
            return core_schema.no_info_before_validator_function(self.check, schema)

        def check(value: Any) -> Any:
            if isinstance(value, str) and len(value) > longest:  # as sent, whitespace included
                raise PydanticCustomError(
                    "string_too_long",
                    "String should have at most {max_length} characters",
                    {"max_length": longest},
                )
            return self.check(value)

        return core_schema.no_info_before_validator_function(check, schema)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        for member in _members(json_schema):
            if member.get("type") == "string" and "pattern" not in member:
                member["pattern"] = self.json_pattern
        return json_schema


SINGLE_LINE = TextRule(
    "single-line",
    re.compile(f"[{_LINE_BREAKS}{_CC}{_SURROGATES}]"),
    f"^[^{_LINE_BREAKS}{_CC}]*$",
)
# \r alone is refused; CR LF is a newline (U+000D sits inside _CC, so it needs its own alternative).
FREE_TEXT = TextRule(
    "free",
    re.compile(f"\\r(?!\\n)|[{_CC_BUT_CR}{_SURROGATES}]"),
    f"^(?:[^{_CC}]|\\r\\n)*$",
)

# For the keys of a mapping: the same check, without the pattern (pydantic would make a key pattern
# ``patternProperties``, which leaves the other keys' values unconstrained in the document).
SINGLE_LINE_KEY = BeforeValidator(SINGLE_LINE.check)


def storable_number(value: Any) -> Any:
    """``value`` unchanged unless it is a number DynamoDB cannot store as boto3 sends it (ValueError)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if len(number.as_tuple().digits) > DYNAMODB_DIGITS:
        raise ValueError(f"may have at most {DYNAMODB_DIGITS} significant digits")
    if number and not DYNAMODB_SMALLEST <= abs(number) <= DYNAMODB_LARGEST:
        raise ValueError("must be 0 or between 1E-130 and 9.99E+125 in magnitude")
    return value


@dataclass(frozen=True, slots=True)
class NumberRule:
    """Refuses the numbers DynamoDB cannot store, and documents a float's bounds in the JSON Schema
    (an integer's stay undocumented: Powertools' OpenAPI models hold bounds as floats, and no float
    is 10**38 - 1)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(storable_number, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        for member in _members(json_schema):
            if member.get("type") != "number":
                continue
            if not {"minimum", "exclusiveMinimum"} & member.keys():  # a field's own bound (ge, gt) stays
                member["exclusiveMinimum"] = -LARGEST_FLOAT_BOUND
            if not {"maximum", "exclusiveMaximum"} & member.keys():
                member["exclusiveMaximum"] = LARGEST_FLOAT_BOUND
        return json_schema


STORABLE = NumberRule()

# Contact points as typed at the edge: an address (normalized; phones are parsed where they are used).
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(normalize_email), SINGLE_LINE]
RawPhone = Annotated[str, StringConstraints(min_length=1, max_length=64), SINGLE_LINE]


# A number or boolean body field takes only that JSON type (pydantic's strict mode on JSON values).
JSON_SCALAR = Strict()

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value: Any) -> Any:
    """``value`` unchanged if it is a ``YYYY-MM-DD`` string (pydantic then checks the date exists) or
    a date; anything else, a number or a timestamp string included, is refused (ValueError)."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


ISO_DATE = BeforeValidator(iso_date)


_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # matched at the start


def iso_datetime(value: Any) -> Any:
    """``value`` unchanged if it is a datetime, or text that begins as an ISO 8601 date (pydantic then
    parses the rest; where the field is an ``AwareDatetime``, a time and offset are required); a number, or text of one ("0.5", which pydantic's lax mode would
    read as a Unix timestamp, even in a query string), is refused (ValueError). So is a time whose
    offset puts it outside years 1-9999 in UTC (``0001-01-01T00:00+05:00``): every stored time is UTC,
    and converting it raised OverflowError, a 5xx."""
    if value is None:
        return value
    if isinstance(value, datetime):
        _check_utc(value)
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value  # a form pydantic reads and Python does not, or none: pydantic says
        _check_utc(parsed)
        return value
    raise ValueError("must be a date and time written in ISO 8601, e.g. 2026-11-27T18:05:00+01:00")


def _check_utc(moment: datetime) -> None:
    if moment.utcoffset() is None:
        return
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a date and time that exists in UTC (years 1 to 9999)") from None


ISO_DATETIME = BeforeValidator(iso_datetime)
