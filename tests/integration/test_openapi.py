import json
from typing import Any

import pytest

from callproof_local.openapi import _referenced, document, merge_schemas
from tests.support import ROOT


def test_published_openapi_document_is_current() -> None:
    published = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert published == document(), "run `make openapi` and commit docs/openapi.json"


def test_every_template_api_route_is_documented() -> None:
    paths = document()["paths"]
    assert set(paths) >= {
        "/v1/contacts",
        "/v1/contacts/{contact_id}",
        "/v1/contacts/lookup",
        "/v1/contacts/imports",
    }
    assert set(paths["/v1/contacts/{contact_id}"]) == {"get", "patch", "delete"}


# Issue 13, point 10: the document is the API. Each test below failed on the document before: every
# operation listed only 200 and Powertools' 422, public routes inherited the Cognito requirement,
# /v1/me/consents pointed to the SMS ConsentOut, GET /sms/opt-in was JSON, no summary, no tag.
DOC = document()
OPERATIONS = [(method, path, op) for path, ops in DOC["paths"].items() for method, op in ops.items()]
PUBLIC = {
    ("get", "/legal/cookies"),
    ("get", "/privacy"),
    ("post", "/privacy"),
    ("post", "/privacy/requests"),
    ("get", "/sms/opt-in"),
    ("post", "/sms/opt-in"),
    ("get", "/sms/opt-out"),
    ("post", "/sms/opt-out"),
    ("get", "/oauth/google/callback"),
    ("get", "/oauth/{provider}/calendar/callback"),
    ("post", "/webhooks/gmail/push"),
    ("post", "/webhooks/twilio/sms"),
    ("post", "/webhooks/twilio/sms/status/{org_id}/{contact_id}/{message_id}"),
}


def _schema(op: dict[str, Any], code: str, media_type: str = "application/json") -> dict[str, Any]:
    return op["responses"][code]["content"][media_type]["schema"]


def test_every_operation_has_a_summary_a_known_tag_and_a_unique_id() -> None:
    tags = {tag["name"] for tag in DOC["tags"]}
    assert len(OPERATIONS) >= 70
    for method, path, op in OPERATIONS:
        assert op["summary"], (method, path)
        assert not op["summary"].startswith(method.upper()), (method, path)  # Powertools' default
        assert len(op["tags"]) == 1, (method, path)
        assert op["tags"][0] in tags, (method, path)
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))


def test_public_routes_need_no_token_and_the_rest_need_the_cognito_bearer() -> None:
    public = {(method, path) for method, path, op in OPERATIONS if op.get("security") == []}
    assert public == PUBLIC
    assert DOC["security"] == [{"cognito": []}]
    for method, path, op in OPERATIONS:
        if (method, path) in PUBLIC and not path.startswith("/webhooks/"):
            assert "401" not in op["responses"], (method, path)
        elif (method, path) not in PUBLIC:
            assert {"401", "403"} <= set(op["responses"]), (method, path)


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("post", "/v1/contacts", "201"),
        ("post", "/v1/sms/messages", "201"),
        ("post", "/v1/dsar/requests", "201"),
        ("post", "/v1/org/members", "201"),
        ("post", "/v1/me/consents", "201"),
        ("post", "/v1/me/photo", "201"),
        ("post", "/v1/calendars", "201"),
        ("post", "/v1/calendar/events", "201"),
        ("post", "/privacy/requests", "202"),
        ("post", "/v1/dsar/requests/{request_id}/start", "202"),
        ("delete", "/v1/contacts/{contact_id}", "204"),
        ("delete", "/v1/org/members/{user_id}", "204"),
        ("delete", "/v1/call-logs/{call_id}", "204"),
        ("post", "/webhooks/gmail/push", "204"),
        ("get", "/v1/contacts", "200"),
    ],
)
def test_the_success_code_is_the_one_the_route_answers(method: str, path: str, code: str) -> None:
    responses = DOC["paths"][path][method]["responses"]
    assert [c for c in responses if c.startswith("2")] == [code]
    if code == "204":
        assert "content" not in responses[code]


def test_every_error_is_our_error_shape_and_each_code_is_where_it_can_happen() -> None:
    assert "HTTPValidationError" not in json.dumps(DOC)
    error = {"$ref": "#/components/schemas/Error"}
    for method, path, op in OPERATIONS:
        codes = set(op["responses"])
        for code, response in op["responses"].items():
            if code >= "400" and "application/json" in response["content"]:
                assert response["content"]["application/json"]["schema"] == error, (method, path, code)
        assert {"422", "429", "503"} <= codes
        needs_token = (method, path) not in PUBLIC
        page = path.startswith("/sms/") or path == "/privacy"  # HTML forms: an unknown org or link is 404
        assert ("404" in codes) == ("{" in path or needs_token) or page, (method, path)
        assert ("409" in codes) == (method != "get") or path.startswith("/sms/")
        assert ({"400", "413", "415"} <= codes) == ("requestBody" in op), (method, path)
    assert "428" in DOC["paths"]["/v1/contacts"]["post"]["responses"]
    assert "428" not in DOC["paths"]["/v1/me/consents"]["post"]["responses"]  # how a user consents
    body = DOC["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(body["required"]) == {"code", "message", "field", "details"}


def test_models_have_one_name_each() -> None:
    accounts = _schema(DOC["paths"]["/v1/me/consents"]["post"], "201")
    sms = _schema(DOC["paths"]["/v1/sms/consent/lookup"]["post"], "200")
    assert accounts == {"$ref": "#/components/schemas/ConsentOut"}
    assert sms == {"$ref": "#/components/schemas/SmsConsentOut"}
    assert "purpose" in DOC["components"]["schemas"]["ConsentOut"]["properties"]
    calendar = _schema(DOC["paths"]["/oauth/{provider}/calendar/callback"]["get"], "200")
    assert calendar == {"$ref": "#/components/schemas/CalendarConnectedOut"}


def test_pages_csv_and_twiml_are_described_as_what_they_are() -> None:
    for method in ("get", "post"):
        page = DOC["paths"]["/sms/opt-in"][method]["responses"]
        assert set(page["200"]["content"]) == {"text/html"}
        assert set(page["422"]["content"]) == {"text/html"}  # a refused form is a page too
    twiml = DOC["paths"]["/webhooks/twilio/sms"]["post"]
    assert set(twiml["responses"]["200"]["content"]) == {"text/xml"}
    assert set(twiml["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}
    csv = DOC["paths"]["/v1/contacts/imports"]["post"]["requestBody"]
    assert set(csv["content"]) == {"text/csv"}


def test_two_models_of_one_name_are_refused() -> None:
    schemas = {"ConsentOut": {"properties": {"purpose": {}}}}
    merge_schemas(schemas, {"ConsentOut": {"properties": {"purpose": {}}}}, "AccountsFunction")  # same
    with pytest.raises(ValueError, match="two models are named ConsentOut"):
        merge_schemas(schemas, {"ConsentOut": {"properties": {"e164": {}}}}, "SmsFunction")


# Issue 18, point 4: what a typed client (clients/typescript) is generated from. Both failed before: an
# answer's field with a default (PhoneOut.extension, EntryResultOut.call_id...) was optional though the
# answer always carries it, and a call-log batch's entries were any object.
def test_every_field_of_an_answer_is_required_as_the_answer_always_carries_it() -> None:
    schemas = DOC["components"]["schemas"]
    answers = set(_referenced(schemas, {"answers": [op["responses"] for _, _, op in OPERATIONS]}))
    assert {"PhoneOut", "EntryResultOut", "ImportJobOut", "IntegrationOut"} <= answers
    for name in answers:
        schema = schemas[name]
        assert set(schema.get("properties", {})) == set(schema.get("required", [])), name


def test_a_call_log_entry_is_documented_as_what_the_phone_sends() -> None:
    batch = DOC["components"]["schemas"]["CallBatchIn"]["properties"]["entries"]
    entry = {"$ref": "#/components/schemas/CallEntryIn"}
    # Any other object is accepted and answered as a rejected entry: the document must not forbid it.
    assert batch["items"] == {"anyOf": [entry, {"type": "object", "additionalProperties": True}]}
    required = set(DOC["components"]["schemas"]["CallEntryIn"]["required"])
    assert required == {
        "client_id",
        "phone_number",
        "direction",
        "started_at",
        "duration_seconds",
        "device_id",
    }
