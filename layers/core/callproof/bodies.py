"""What a request body may be, checked once before any route reads it (``callproof.http.handle``).

Each route takes one media type: the function's (JSON, or forms for public pages and Twilio), or
another it names (``POST /v1/contacts/imports`` takes CSV; the public DSAR confirmation, a form); a
body of any other type, or with a charset other than UTF-8, is a 415. A JSON body must be UTF-8 JSON
text (400) and an object (422). ``parse_json`` also refuses what Python's parser accepts or chokes on
though it is no JSON we take: NaN and Infinity (not JSON: 400), nesting deeper than
``MAX_JSON_DEPTH`` (Python's parser runs out of stack near 1,000 levels) and number tokens longer
than ``MAX_NUMBER_CHARS`` (Python refuses to convert an integer of 4,300 digits), both 422; what a
number may be once read is ``callproof.values``' rule for the field it lands in.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from callproof.errors import DomainError, InvalidInput, UnsupportedMediaType

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CSV = "text/csv"
UTF_8 = frozenset({"utf-8", "utf8"})
MAX_JSON_DEPTH = 32  # our deepest body nests 4 levels
MAX_NUMBER_CHARS = 100  # DynamoDB keeps 38 significant digits


class MalformedJson(DomainError):
    """A body that is not UTF-8 JSON text (400)."""

    code = "malformed_json"


class UnacceptableBody(InvalidInput):
    """Well-formed JSON no route takes: not an object, too deep, a number too long to read (422, with
    the code of pydantic's refusals)."""

    code = "validation_error"


def check_media_type(header: str, expected: str) -> None:
    """The Content-Type ``header`` must name ``expected`` (in any case), and UTF-8 if a charset."""
    media_type, *parameters = (part.strip().lower() for part in header.split(";"))
    pairs = (parameter.partition("=") for parameter in parameters)
    charsets = {value.strip().strip('"') for name, _, value in pairs if name.strip() == "charset"}
    if media_type != expected or not charsets <= UTF_8:
        raise UnsupportedMediaType(f"send the body as {expected} (UTF-8)", field="body")


def decoded(raw: str, is_base64: bool) -> str:
    """The event's body as text (API Gateway may base64 it). Raw text may still hold lone surrogates
    (``"\\udcff"``, an undecodable byte as Python reads it): not UTF-8 either."""
    try:
        data = base64.b64decode(raw, validate=True) if is_base64 else raw.encode()
        return data.decode("utf-8")
    except (binascii.Error, UnicodeError):
        raise InvalidInput("body must be UTF-8 text", field="body") from None


def json_object(raw: str, is_base64: bool) -> tuple[str, dict[str, Any]]:
    """The body's text and the JSON object it holds."""
    try:
        text = decoded(raw, is_base64)
    except InvalidInput:
        raise MalformedJson("request body is not UTF-8 text", field="body") from None
    value = parse_json(text)
    if not isinstance(value, dict):  # Powertools would read a one-element array as its element
        raise UnacceptableBody("body must be a JSON object", field="body")
    return text, value


class _LongNumber:
    """Stands for a number token too long to convert, until ``_check_tree`` says where it is."""


def parse_json(text: str) -> Any:
    try:
        value = json.loads(
            text,
            parse_int=lambda token: _LongNumber() if len(token) > MAX_NUMBER_CHARS else int(token),
            parse_float=lambda token: _LongNumber() if len(token) > MAX_NUMBER_CHARS else float(token),
            parse_constant=_not_json,
        )
    except RecursionError:
        raise UnacceptableBody(f"body nested deeper than {MAX_JSON_DEPTH} levels", field="body") from None
    except ValueError:
        raise MalformedJson("request body is not valid JSON", field="body") from None
    _check_tree(value)
    return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _check_tree(value: Any) -> None:
    """Walks the parsed body without recursion: its depth, and numbers too long to be read."""
    if isinstance(value, _LongNumber):
        raise UnacceptableBody(f"number longer than {MAX_NUMBER_CHARS} characters", field="body")
    pending: list[tuple[Any, tuple[str, ...]]] = [(value, ())] if isinstance(value, dict | list) else []
    while pending:
        node, path = pending.pop()
        if len(path) >= MAX_JSON_DEPTH:
            raise UnacceptableBody(f"body nested deeper than {MAX_JSON_DEPTH} levels", field="body")
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(child, dict | list):
                pending.append((child, (*path, str(key))))
            elif isinstance(child, _LongNumber):
                where = ".".join((*path, str(key)))
                raise UnacceptableBody(f"number longer than {MAX_NUMBER_CHARS} characters", field=where)
