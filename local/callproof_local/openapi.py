"""Write the API's OpenAPI document from the handlers' own resolvers (`make openapi`).

Each function's Powertools resolver knows its routes, pydantic models and success codes; this merges
them into one document for the whole REST API, read from the template so a new function is included
with no edit. What Powertools does not know is added from the code's own facts, never from a second
list of routes:

- summary and description: the handler's docstring (first line, then the rest);
- tag: the function's, from ``TAGS`` (one per function, described);
- security: none on routes the template leaves public (``Auth: NONE``), the Cognito bearer elsewhere;
- errors, all in the one ``Error`` shape (``callproof.http.ErrorOut``), by rule: 422 and 429 and
  503 everywhere; 400/413/415 where there is a body; 401/403 where a token is needed, 428 where the
  account gate (the age question, the policy consent) applies (``http.POLICY_EXEMPT_ROUTES``); 404 where a token is needed or the path
  names something; 409 on writes (a concurrent change, a state that forbids it, an Idempotency-Key in use);
- bodies the resolver reads itself: CSV (``media_types``) and forms (``form_bodies``).

Two models may not share a name (a client generator would merge them): ``document`` refuses it.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from callproof import bodies, http, idempotency
from callproof_local.invoke import load_module
from callproof_local.model import Function
from callproof_local.provision import declared_functions

TITLE = "CallProof API"
VERSION = "1"
DESCRIPTION = (
    "The CallProof CRM backend. Authenticated routes take a Cognito ID token as `Authorization: "
    "Bearer <token>`; public routes (privacy requests, SMS consent pages, OAuth callbacks, webhooks) "
    "take none. Every error answer is an `Error`. Creates accept an `Idempotency-Key` header."
)

TAGS: dict[str, tuple[str, str]] = {
    "AccountsFunction": (
        "Accounts",
        "The caller's profile, photo, age and consents; the org's members and settings.",
    ),
    "AccountPagesFunction": ("Legal", "Public pages about how we treat your data: the cookie policy."),
    "CalendarCallbackFunction": ("Calendar", "Connect a Google or Microsoft calendar and write its events."),
    "CalendarsFunction": ("Calendar", "Connect a Google or Microsoft calendar and write its events."),
    "CallLogsFunction": (
        "Call logs",
        "Calls logged by the mobile app, matched to contacts by number; devices.",
    ),
    "ContactsFunction": ("Contacts", "The org's contacts: CRUD, lookup by phone or email, CSV import."),
    "DsarFunction": (
        "Privacy requests (staff)",
        "Compliance staff run access, erasure, correction, restriction and portability requests.",
    ),
    "DsarPagesFunction": (
        "Privacy requests (public)",
        "Anyone files a privacy request; it runs once its identifiers are proven.",
    ),
    "GmailCallbackFunction": (
        "Gmail",
        "Read-only Gmail sync of mail that involves the org's contacts; Google Contacts import.",
    ),
    "GmailFunction": (
        "Gmail",
        "Read-only Gmail sync of mail that involves the org's contacts; Google Contacts import.",
    ),
    "GmailPushFunction": ("Webhooks", "What Google and Twilio call: signed, replay-safe."),
    "SmsFunction": ("SMS", "Texts to existing customers, their consent, the org's senders and settings."),
    "SmsPagesFunction": (
        "SMS consent pages",
        "The HTML pages where a number opts in or out (CSRF-protected forms).",
    ),
    "SmsWebhookFunction": ("Webhooks", "What Google and Twilio call: signed, replay-safe."),
}

ERRORS: dict[int, str] = {
    400: "The body is not what its media type says (malformed JSON or form).",
    401: "No valid bearer token.",
    403: "The caller's role or org may not do this (or an under-16 account awaits its guardian).",
    404: "Nothing of that id (in the path or the body) in the caller's org, or the caller has none yet.",
    409: "A concurrent change, a state that forbids this, or an Idempotency-Key still in use; reload and retry.",
    413: "The body is larger than this route takes.",
    415: "The body's media type (or charset) is not the one this route takes.",
    422: "The request is well-formed but invalid; `field` and `details` name what.",
    428: (
        "The caller must answer the age question first (`age_confirmation_required`: PUT /v1/me/age), "
        "or consent to a significant policy version (`policy_consent_required`: POST /v1/me/consents)."
    ),
    429: "Too many requests from this client; retry later.",
    503: "Throttled after retries; nothing was lost, retry shortly.",
}
WRITES = frozenset({"post", "put", "patch", "delete"})
HTML = {"text/html": {"schema": {"type": "string"}}}


def document() -> dict[str, Any]:
    functions = declared_functions()
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": _error_schema()}
    for function in sorted(functions.values(), key=lambda f: f.logical_id):
        app = getattr(load_module(function.code_dir, function.handler), "app", None)
        if not function.api_events or not isinstance(app, APIGatewayRestResolver):
            continue
        spec = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
        merge_schemas(schemas, spec.get("components", {}).get("schemas", {}), function.logical_id)
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                _complete(operation, method, path, function, app)
            paths.setdefault(path, {}).update(operations)
    schemas = _referenced(schemas, paths)
    tags = sorted({tag for tag in TAGS.values()})
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "tags": [{"name": name, "description": text} for name, text in tags],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"cognito": []}],
    }


def merge_schemas(schemas: dict[str, Any], more: dict[str, Any], where: str) -> None:
    """Add ``more`` to ``schemas``, refusing a name two different models share."""
    for name, schema in more.items():
        if schemas.get(name, schema) != schema and name != "HTTPValidationError":
            raise ValueError(f"two models are named {name}: rename one ({where})")
        schemas[name] = schema


def _referenced(schemas: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """Only the models the operations reach (Powertools' own validation models are replaced)."""
    reached: set[str] = set()
    pending = [paths]
    while pending:
        text = json.dumps(pending.pop())
        for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)) - reached:
            reached.add(name)
            pending.append(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in reached}


def _error_schema() -> dict[str, Any]:
    schema = http.ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    body = schema.pop("$defs")["ErrorBody"]
    schema["properties"]["error"] = body
    return schema


def _complete(operation: dict[str, Any], method: str, path: str, function: Function, app: Any) -> None:
    route = _handler_route(app, method, path)
    summary, _, description = (inspect.getdoc(route.func) or "").partition("\n")
    if not summary:
        raise ValueError(f"{method.upper()} {path} has no docstring to summarize it")
    operation["summary"] = summary.strip()
    if description.strip():
        operation["description"] = " ".join(description.split())
    operation["tags"] = [TAGS[function.logical_id][0]]
    public = not any(e.auth_required for e in function.api_events if _serves(e, method, path))
    if public:
        operation["security"] = []
    if route.responses is None:  # the routes that declare their own answers (HTML, TwiML) keep them
        _json_success(operation)
    _request_body(operation, method, path, app)
    codes = {422, 429, 503}
    if "requestBody" in operation:
        codes |= {400, 413, 415}
    if not public or path.startswith("/webhooks/"):  # webhooks: Google's token, Twilio's signature
        codes |= {401, 403}
    if not public and (method.upper(), path) not in http.POLICY_EXEMPT_ROUTES:
        codes.add(428)
    if "{" in path or not public:  # an id in the path or body, or the caller's own (no photo yet...)
        codes.add(404)
    if method in WRITES:
        codes.add(409)
    responses = operation["responses"]
    for code in sorted(codes):
        responses.setdefault(str(code), _error(code))
    if "HTTPValidationError" in json.dumps(responses["422"]):
        responses["422"] = _error(422)  # ours, not Powertools'
    if "text/html" in responses.get("200", {}).get("content", {}):
        # a page's refusals are pages too for a browser (JSON for a client that asks for it)
        for code in codes:
            response = responses[str(code)]
            response["content"] = {**response.get("content", {}), **HTML}
    operation["responses"] = dict(sorted(responses.items()))
    if (method.upper(), path) in idempotency.CREATE_ROUTES:
        operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY]


def _handler_route(app: http.Resolver, method: str, path: str) -> Any:
    for route in app.routes():
        if route.method == method.upper() and route.openapi_path == path:
            return route
    raise LookupError(f"{method.upper()} {path}: no route")


def _serves(event: Any, method: str, path: str) -> bool:
    return event.method in (method.upper(), "ANY") and re.sub(r"\{[^}]+\}", "{}", event.path) == re.sub(
        r"\{[^}]+\}", "{}", path
    )


def _json_success(operation: dict[str, Any]) -> None:
    """A 204 has no body; an answer Powertools could not type (``Response[None]``) is described."""
    for code, response in operation["responses"].items():
        if code == "204":
            response.pop("content", None)
            response["description"] = "Done; no body."


def _request_body(operation: dict[str, Any], method: str, path: str, app: http.Resolver) -> None:
    """Bodies the route reads itself (CSV, forms), which Powertools does not see."""
    if method not in WRITES or "requestBody" in operation:
        return
    media_type = app.media_type(method.upper(), path)
    if media_type == bodies.CSV:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "name,email,phone,company\nAda Lovelace,ada@example.com,+14155550100,Acme\n",
                }
            },
            "description": "UTF-8 CSV with a header row; at most 10 MB.",
        }
    elif media_type == bodies.FORM:
        operation["requestBody"] = {
            "required": True,
            "content": {
                bodies.FORM: {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
            },
        }


def _error(code: int) -> dict[str, Any]:
    return {
        "description": ERRORS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: for 24 hours the same key and body (same org, user and route) answer the "
        "first response again, with Idempotent-Replayed: true, and create nothing more; the same key "
        "with another body is 422 idempotency_key_reused; while the first request runs, 409 "
        "idempotency_key_in_use. Without the header, each request creates."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_CHARS,
        "pattern": "^[ -~]+$",
    },
}


def main() -> None:
    print(json.dumps(document(), indent=2, sort_keys=False))


if __name__ == "__main__":
    main()
