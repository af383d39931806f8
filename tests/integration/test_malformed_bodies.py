"""Issue 13, point 2: a malformed body is a 4xx in the one error shape on every operation that takes
a body, through the routes of the template, and it changes nothing. Before ``http.handle`` checked
media types and parsed bodies safely, each of these answered 5xx on some operation."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import boto3

from callproof_local import invoke
from callproof_local.provision import declared_functions
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import TEMPLATE, api_event

Body = Callable[[dict[str, Any]], None]


def _operations() -> list[tuple[str, str, str, str]]:
    """(function, method, resource, media type) of every template route that may carry a body."""
    functions = declared_functions(TEMPLATE)
    found = []
    for function in functions.values():
        for route in function.api_events:
            if route.method in {"POST", "PUT", "PATCH", "DELETE"}:
                app = invoke.load_module(function.code_dir, function.handler).app
                found.append(
                    (function.logical_id, route.method, route.path, app.media_type(route.method, route.path))
                )
    return sorted(found)


OPERATIONS = _operations()
JSON_OPERATIONS = [op for op in OPERATIONS if op[3] == "application/json"]


def _raw(text: str, content_type: str | None = "application/json") -> Body:
    def shape(event: dict[str, Any]) -> None:
        event["body"] = text
        event["headers"].pop("Content-Type")
        event["multiValueHeaders"].pop("Content-Type")
        if content_type is not None:
            event["headers"]["Content-Type"] = content_type
            event["multiValueHeaders"]["Content-Type"] = [content_type]

    return shape


def _base64(data: bytes) -> Body:
    def shape(event: dict[str, Any]) -> None:
        event["body"] = base64.b64encode(data).decode()
        event["isBase64Encoded"] = True

    return shape


MALFORMED = {
    "invalid-utf8-base64": (_base64(b"\xff"), 400),
    "invalid-utf8-raw": (_raw("\udcff"), 400),  # 0xff as Python reads an undecodable byte
    "not-utf8-json": (_raw('{"a": "\xff"}', "application/json; charset=latin-1"), 415),
    "multipart-with-json": (_raw("{}", "multipart/form-data"), 415),
    "multipart-with-boundary": (_raw("{}", "multipart/form-data; boundary=x"), 415),
    "text-plain": (_raw("{}", "text/plain"), 415),
    "no-content-type": (_raw("{}", None), 415),
    "nested-1000": (_raw('{"a":' * 1000 + "1" + "}" * 1000), 422),
    "array-nested-20000": (_raw("[" * 20_000 + "]" * 20_000), 422),
    "nested-33": (_raw('{"a":' * 33 + "1" + "}" * 33), 422),
    "digits-5000": (_raw('{"x": ' + "7" * 5000 + "}"), 422),
    "float-digits-5000": (_raw('{"x": 0.' + "7" * 5000 + "}"), 422),
    "nan": (_raw('{"x": NaN}'), 400),
    "infinity": (_raw('{"x": -Infinity}'), 400),
    "not-json": (_raw("{not json"), 400),
    "not-an-object": (_raw("[{}]"), 422),
}


def _event(method: str, resource: str) -> dict[str, Any]:
    path = re.sub(r"{(\w+)}", lambda m: f"x{m.group(1)[:3]}1", resource)
    return api_event(method, path, resource=resource, roles="admin,compliance,rep")


def _item_counts(aws_stack: dict[str, Physical]) -> dict[str, int]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return {
        name: client.scan(TableName=name, Select="COUNT")["Count"]
        for name in client.list_tables()["TableNames"]
    }


def _refusal(status: int, body: Any, expected: int) -> str | None:
    """What is wrong with the answer, if it is not ``expected`` in the one error shape."""
    if status != expected:
        return f"{status} instead of {expected}: {body}"
    if set(body) != {"error"} or set(body["error"]) != {"code", "message", "field", "details"}:
        return f"not the error shape: {body}"
    return None if body["error"]["code"] and body["error"]["message"] else f"no code or message: {body}"


def test_there_are_json_operations_and_the_public_request_is_one() -> None:
    assert len(JSON_OPERATIONS) >= 25
    assert ("DsarPagesFunction", "POST", "/privacy/requests", "application/json") in JSON_OPERATIONS
    assert ("ContactsFunction", "POST", "/v1/contacts/imports", "text/csv") in OPERATIONS
    assert (
        "DsarPagesFunction",
        "POST",
        "/privacy/confirm",
        "application/x-www-form-urlencoded",
    ) in OPERATIONS


def test_every_json_operation_refuses_every_malformed_body_with_a_4xx(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    sent = []
    for case, (shape, expected) in MALFORMED.items():
        for function, method, resource, _ in JSON_OPERATIONS:
            event = _event(method, resource)
            shape(event)
            sent.append((f"{case}: {method} {resource}", function, event, expected))
    before = _item_counts(aws_stack)  # counted once the caller has answered the age question
    wrong = []
    for name, function, event, expected in sent:
        problem = _refusal(*call(function, event), expected)
        if problem:
            wrong.append(f"{name}: {problem}")
    assert wrong == []
    assert _item_counts(aws_stack) == before


def test_a_body_of_another_media_type_than_the_route_takes_is_415(call: Invoke) -> None:
    wrong = []
    for function, method, resource, media_type in OPERATIONS:
        other = "text/csv" if media_type == "application/json" else "application/json"
        event = _event(method, resource)
        _raw('{"name": "Ada"}', other)(event)
        status, body = call(function, event)
        problem = _refusal(status, body, 415)
        if problem or body["error"]["field"] != "body" or media_type not in body["error"]["message"]:
            wrong.append(f"{method} {resource}: {problem or body}")
    assert wrong == []


def test_a_number_too_long_is_named_by_its_field_and_json_types_are_read_as_rfc_9110_says(
    call: Invoke,
) -> None:
    event = api_event("PUT", "/v1/org/settings", roles="admin", body=None)
    _raw('{"call_retention_months": ' + "1" * 5000 + "}")(event)
    status, body = call("AccountsFunction", event)
    assert _refusal(status, body, 422) is None
    assert body["error"]["field"] == "call_retention_months"

    event = api_event("POST", "/v1/contacts", body={"name": "Ada", "type": "customer"})
    event["headers"]["Content-Type"] = "Application/JSON; Charset=UTF-8"
    status, created = call("ContactsFunction", event)
    assert (status, created["name"]) == (201, "Ada")


def test_a_route_ignores_the_type_of_an_empty_body(call: Invoke) -> None:
    event = api_event("POST", "/v1/contacts", body=None, content_type="multipart/form-data")
    status, body = call("ContactsFunction", event)
    assert _refusal(status, body, 422) is None  # the body is missing: said so, not a crash
    assert body["error"]["field"] == "body"
