"""Issue 13, point 7, across the API: every text field of every request body has a rule (one of
``callproof.values``' text rules, or a narrower pattern, enum or format), and a control character
is a 422 naming the field in each domain; free-form text keeps its lines and tabs."""

from __future__ import annotations

from typing import Any

import pytest

from callproof import aws
from callproof.values import FREE_TEXT, SINGLE_LINE
from callproof_local.openapi import document
from tests.integration.conftest import Invoke
from tests.support import api_event


def _text_fields() -> dict[str, dict[str, Any]]:
    """Every string a request body may hold, by ``METHOD path field``, with its schema."""
    doc = document()
    schemas = doc["components"]["schemas"]
    found: dict[str, dict[str, Any]] = {}

    def walk(schema: dict[str, Any], where: str) -> None:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        for member in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(member, where)
        if schema.get("type") == "string":
            found[where] = schema
        for name, child in schema.get("properties", {}).items():
            walk(child, f"{where}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{where}.*")
        if "items" in schema:
            walk(schema["items"], f"{where}[]")

    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type in content:
                if media_type == "application/json":
                    walk(content[media_type].get("schema", {}), f"{method.upper()} {path} ")
    return found


def test_every_text_field_of_every_request_body_has_a_rule() -> None:
    fields = _text_fields()
    assert len(fields) > 50
    unruled = [
        where for where, schema in fields.items() if not {"pattern", "enum", "const", "format"} & set(schema)
    ]
    assert unruled == []
    ours = {schema.get("pattern") for schema in fields.values()} & {
        SINGLE_LINE.json_pattern,
        FREE_TEXT.json_pattern,
    }
    assert ours == {SINGLE_LINE.json_pattern, FREE_TEXT.json_pattern}
    assert fields["POST /v1/sms/messages .body"]["pattern"] == FREE_TEXT.json_pattern
    assert fields["POST /v1/contacts .name"]["pattern"] == SINGLE_LINE.json_pattern


DSAR = {
    "type": "access",
    "subject": {"email": "ada@example.com"},
    "jurisdiction": "gdpr",
    "received": "2026-11-20",
    "verification": "called back on the number we hold",
}
PUBLIC = {"org_id": "org-a", "type": "access", "email": "ada@example.com", "jurisdiction": "gdpr"}
DEVICE = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
EVENT = {"summary": "Call", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T10:30:00Z"}

REFUSED = [
    ("ContactsFunction", "POST", "/v1/contacts", {"name": "nul\u0000byte", "type": "customer"}, "name"),
    ("AccountsFunction", "PATCH", "/v1/me", {"full_name": "Ada\u001b[2J"}, "full_name"),
    (
        "AccountsFunction",
        "POST",
        "/v1/org/members",
        {"email": "b@x.io", "full_name": "B\nB", "roles": ["rep"]},
        "full_name",
    ),
    ("SmsFunction", "POST", "/v1/sms/messages", {"contact_id": "c1", "body": "hi\u0000"}, "body"),
    ("SmsFunction", "POST", "/v1/sms/messages", {"contact_id": "c1", "body": "hi\rthere"}, "body"),
    ("SmsFunction", "PUT", "/v1/org/sms/settings", {"brand": "Acme\nCorp"}, "brand"),
    (
        "SmsFunction",
        "PUT",
        "/v1/org/sms/senders",
        {"phone_numbers": ["+14155550100\u0000"]},
        "phone_numbers.0",
    ),
    ("CalendarsFunction", "POST", "/v1/calendar/events", {**EVENT, "summary": "Call\tAda"}, "summary"),
    ("CalendarsFunction", "POST", "/v1/calendar/events", {**EVENT, "description": "a\u0000"}, "description"),
    ("DsarFunction", "POST", "/v1/dsar/requests", {**DSAR, "details": "x\u0000y"}, "details"),
    ("DsarFunction", "POST", "/v1/dsar/requests", {**DSAR, "verification": "ok\u0007ok"}, "verification"),
    ("DsarPagesFunction", "POST", "/privacy/requests", {**PUBLIC, "details": "\u0085"}, "details"),
    ("CallLogsFunction", "PUT", "/v1/devices/d1", {**DEVICE, "os_name": "And\nroid"}, "os_name"),
    ("CallLogsFunction", "PUT", "/v1/devices/d1", {**DEVICE, "settings": {"k": "v\u0000"}}, "settings.k"),
]


@pytest.mark.parametrize(("function", "method", "path", "body", "field"), REFUSED)
def test_a_control_character_is_422_naming_the_field_in_every_domain(
    call: Invoke, function: str, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    resource = "/v1/devices/{device_id}" if path.startswith("/v1/devices/") else path
    event = api_event(method, path, resource=resource, body=body, roles="admin,compliance,rep")
    if function == "DsarPagesFunction":
        event["requestContext"].pop("authorizer")
    status, error = call(function, event)
    assert (status, error["error"]["field"]) == (422, field), error
    assert "may not contain U+" in error["error"]["details"][0]["message"]


def test_free_text_keeps_its_lines_and_tabs(call: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSAR_PUBLIC_BASE_URL", "https://api.example/dev")
    aws.ses().verify_email_identity(EmailAddress="privacy@callproof.example")
    details = "Please correct:\n\tmy name\r\n\tmy phone"
    body = {**DSAR, "type": "correction", "start": False, "details": details}
    event = api_event("POST", "/v1/dsar/requests", body=body, roles="compliance")
    status, created = call("DsarFunction", event)
    assert (status, created["details"]) == (201, details), created
