"""Issue 13 (the schemathesis tier's first finding): a number, boolean or date field takes only the
JSON type the OpenAPI document promises. pydantic's lax mode read ``false`` as the integer 0,
``1`` as ``true`` and ``0`` or ``"0"`` as the date 1970-01-01, so ``PUT /v1/org/settings``
``{"daily_sms_cap": false}`` set the cap to 0 (200) and ``PUT /v1/me/age`` ``{"birth_date": 0}``
recorded a birth in 1970; each is now a 422 naming the field, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from callproof_local.openapi import document
from tests.integration.conftest import Invoke
from tests.support import api_event

SCALARS = {"integer", "number", "boolean"}


def _scalar_fields() -> set[str]:
    """Every number, boolean and date a request body or query string may hold, as
    ``METHOD path field`` (a mapping's values, ``*``, are unions where any scalar type is fine)."""
    doc = document()
    schemas = doc["components"]["schemas"]
    found: set[str] = set()

    def walk(schema: dict[str, Any], where: str) -> None:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        for member in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(member, where)
        if schema.get("type") in SCALARS or schema.get("format") in {"date", "date-time"}:
            found.add(where)
        for name, child in schema.get("properties", {}).items():
            walk(child, f"{where}.{name}".replace(" .", " "))
        if "items" in schema:
            walk(schema["items"], f"{where}[]")

    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                if media_type == "application/json":
                    walk(content.get("schema", {}), f"{method.upper()} {path} ")
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                is_date = any(m.get("format") == "date" for m in schema.get("anyOf", [schema]))
                if parameter["in"] == "query" and is_date:  # a query's numbers and booleans are text
                    walk(schema, f"{method.upper()} {path} {parameter['name']}")
    return found


DSAR = {
    "type": "access",
    "subject": {"email": "ada@example.com"},
    "jurisdiction": "gdpr",
    "received": "2026-11-20",
    "verification": "called back on the number we hold",
}
PUBLIC = {"org_id": "org-a", "type": "restriction", "email": "ada@example.com", "jurisdiction": "gdpr"}
DEVICE = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
PLACE = {"latitude": 51.5, "longitude": -0.1, "accuracy_m": 20}
DEVICES = "/v1/devices/{device_id}"
EXTEND = "/v1/dsar/requests/{request_id}/extend"
INCIDENT = {"description": "A laptop was lost.", "stores": ["contacts"], "data_kinds": ["contact_details"]}
AUTHORITY = "/v1/incidents/{incident_id}/authority"

# (function, method, path, resource, body, query, field, wrong value)
WRONG: list[tuple[str, str, str, str | None, dict[str, Any] | None, dict[str, str] | None, str, Any]] = [
    ("CallLogsFunction", "PUT", "/v1/devices/d1", DEVICES, DEVICE, None, "location_consent", 1),
    ("CallLogsFunction", "PUT", "/v1/devices/d1", DEVICES, DEVICE, None, "location.latitude", True),
    ("CallLogsFunction", "PUT", "/v1/devices/d1", DEVICES, DEVICE, None, "location.longitude", "1.5"),
    ("CallLogsFunction", "PUT", "/v1/devices/d1", DEVICES, DEVICE, None, "location.accuracy_m", False),
    ("DsarFunction", "POST", "/v1/dsar/requests", None, DSAR, None, "received", 0),
    ("DsarFunction", "POST", "/v1/dsar/requests", None, DSAR, None, "received", "1764547200"),
    ("DsarFunction", "POST", "/v1/dsar/requests", None, DSAR, None, "lift", 0),
    ("DsarFunction", "POST", "/v1/dsar/requests", None, DSAR, None, "start", "false"),
    ("DsarFunction", "POST", "/v1/dsar/requests/r1/extend", EXTEND, {"reason": "busy"}, None, "to", 0),
    ("DsarFunction", "GET", "/v1/dsar/requests", None, None, {}, "due_before", "0"),
    ("DsarPagesFunction", "POST", "/privacy/requests", None, PUBLIC, None, "lift", 1),
    ("AccountsFunction", "PUT", "/v1/me/age", None, {}, None, "birth_date", 0),
    ("AccountsFunction", "PUT", "/v1/me/age", None, {}, None, "attests_16_or_over", "true"),
    ("AccountsFunction", "POST", "/v1/me/consents", None, {"purpose": "geolocation"}, None, "granted", 0),
    ("AccountsFunction", "PUT", "/v1/org/settings", None, {}, None, "call_retention_months", True),
    ("AccountsFunction", "PUT", "/v1/org/settings", None, {}, None, "sms_confirmations", 1),
    ("AccountsFunction", "PUT", "/v1/org/settings", None, {}, None, "daily_sms_cap", False),
    ("AccountsFunction", "PUT", "/v1/org/settings", None, {}, None, "member_grace_days", True),
    ("SmsFunction", "PUT", "/v1/org/sms/settings", None, {}, None, "confirmations", 0),
    ("SmsFunction", "PUT", "/v1/org/sms/settings", None, {}, None, "daily_cap", True),
    ("DsarFunction", "POST", "/v1/incidents", None, INCIDENT, None, "detected_at", 0),
    (
        "DsarFunction",
        "POST",
        f"/v1/incidents/{'0' * 23}/authority",
        AUTHORITY,
        {"reference": "R1"},
        None,
        "notified_at",
        0,
    ),
]
# A call-log batch validates each entry on its own: a wrong type rejects that entry in the answer
# (tests/integration/calls/test_call_log_values.py), the rest are stored.
PER_ENTRY = {"POST /v1/call-logs entries[].started_at", "POST /v1/call-logs entries[].duration_seconds"}


def _template(method: str, path: str, resource: str | None) -> str:
    return f"{method} {resource or path}"


def test_every_number_boolean_and_date_field_is_in_the_table() -> None:
    """A new field of these types needs its line in WRONG (and the rule in callproof.values)."""
    tested = {f"{_template(m, p, r)} {field}" for _, m, p, r, _, _, field, _ in WRONG} | PER_ENTRY
    assert _scalar_fields() - tested == set()


@pytest.mark.parametrize(("function", "method", "path", "resource", "body", "query", "field", "value"), WRONG)
def test_a_value_of_another_json_type_is_422_naming_the_field(
    call: Invoke,
    function: str,
    method: str,
    path: str,
    resource: str | None,
    body: dict[str, Any] | None,
    query: dict[str, str] | None,
    field: str,
    value: Any,
) -> None:
    if query is not None:
        query = {**query, field: value}
    elif field.startswith("location."):
        body = {**(body or {}), "location": {**PLACE, field.removeprefix("location."): value}}
    else:
        body = {**(body or {}), field: value}
    event = api_event(method, path, resource=resource, body=body, query=query, roles="admin,compliance,rep")
    if function == "DsarPagesFunction":
        event["requestContext"].pop("authorizer")
    status, error = call(function, event)
    assert (status, error["error"]["field"]) == (422, field), error


@pytest.mark.parametrize(
    ("function", "method", "path", "body", "answered"),
    [
        (
            "AccountsFunction",
            "PUT",
            "/v1/org/settings",
            {"daily_sms_cap": 5, "sms_confirmations": True},
            {"daily_sms_cap": 5, "sms_confirmations": True},
        ),
        ("AccountsFunction", "PUT", "/v1/me/age", {"birth_date": "1990-02-28"}, {"basis": "birth_date"}),
        (
            "SmsFunction",
            "PUT",
            "/v1/org/sms/settings",
            {"daily_cap": 0, "confirmations": False},
            {"daily_cap": 0, "confirmations": False},
        ),
    ],
)
def test_the_right_json_types_are_still_taken(
    call: Invoke, function: str, method: str, path: str, body: dict[str, Any], answered: dict[str, Any]
) -> None:
    event = api_event(method, path, body=body, roles="admin,compliance,rep")
    status, answer = call(function, event)
    assert status == 200, answer
    assert {name: answer[name] for name in answered} == answered


def test_a_refused_cap_changes_nothing(call: Invoke) -> None:
    put = api_event("PUT", "/v1/org/settings", body={"daily_sms_cap": 7}, roles="admin")
    assert call("AccountsFunction", put)[0] == 200
    wrong = api_event("PUT", "/v1/org/settings", body={"daily_sms_cap": False}, roles="admin")
    assert call("AccountsFunction", wrong)[0] == 422
    status, settings = call("AccountsFunction", api_event("GET", "/v1/org/settings", roles="admin"))
    assert (status, settings["daily_sms_cap"]) == (200, 7)
