"""HTTP glue shared by every API Gateway function: the resolver, the one error mapping, body limits.

Authenticated REST functions hand their resolver the account gate (guardian consent, the age question,
policy consent); public pages and webhooks have none. This module never imports the composition root.

Every error answer has the same JSON shape::

    {"error": {"code": "not_found", "message": "contact not found", "field": null, "details": []}}

``handle`` checks each body once before a route runs (``callproof.bodies``: its size, the one media
type the route takes, a JSON object parsed safely), and Powertools' validation reads that parse.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from botocore.exceptions import ClientError

from callproof import html_pages
from callproof.aws import THROTTLING_CODES
from callproof.bodies import (
    CSV,
    FORM,
    JSON,
    MalformedJson,
    check_media_type,
    decoded,
    json_object,
    parse_json,
)
from callproof.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TemporarilyUnavailable,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
)
from callproof.idempotency import Idempotency
from callproof.models import Model
from callproof.observability import logger
from callproof.tenancy import Caller, caller_from_event

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Route as HandlerRoute
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError
    from aws_lambda_powertools.shared.cookies import Cookie
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_JSON_BYTES = 1024 * 1024
# A synchronous CSV import (<= 1,000 rows); base64-encoded it stays under Lambda's 6 MB payload.
MAX_CSV_BYTES = 4 * 1024 * 1024
Route = tuple[str, str]  # (method, resource) as API Gateway names them: ("POST", "/v1/contacts/imports")

STATUS_BY_ERROR: Mapping[type[DomainError], HTTPStatus] = {
    MalformedJson: HTTPStatus.BAD_REQUEST,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Gone: HTTPStatus.GONE,
    TooManyRequests: HTTPStatus.TOO_MANY_REQUESTS,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    TemporarilyUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


class ErrorBody(Model):
    code: str  # stable, for programs: "validation_error", "not_found", "policy_consent_required"...
    message: str  # for people
    field: str | None  # the request field at fault, dotted ("phones.0"), when one is
    details: list[dict[str, Any]]  # one entry per refusal of a validation_error: field, type, message


class ErrorOut(Model):
    """The one shape of every error answer (the OpenAPI document's ``Error``)."""

    error: ErrorBody


def error_response(
    status: HTTPStatus,
    code: str,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> Response[dict[str, Any]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=_error_body(code, message, field, details),
    )


def _error_body(
    code: str, message: str, field: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, "details": details or []}}


def status_for(error: DomainError) -> HTTPStatus:
    for error_type in type(error).__mro__:
        if error_type in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[error_type]
    return HTTPStatus.BAD_REQUEST


def _field_path(location: tuple[Any, ...]) -> str:
    """``("body", "phones", 0)`` -> ``phones.0``; the whole body (missing, say) -> ``body``."""
    parts = [str(part) for part in location]
    inside = parts[1:] if parts and parts[0] in {"body", "query", "path", "header"} else parts
    return ".".join(inside) or ".".join(parts)


class GateRefusal(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def field(self) -> str: ...

    @property
    def details(self) -> list[dict[str, object]]: ...


class AccountGate(Protocol):
    """Whether an authenticated caller may proceed (``callproof.accounts.consent.PolicyGate``)."""

    def refusal(self, org_id: str, user_id: str) -> GateRefusal | None: ...


@dataclass(frozen=True, slots=True)
class _Parsed:
    text: str
    value: Any


class Resolver(APIGatewayRestResolver):
    """A validating resolver that also knows its function's body rules and account gate."""

    def __init__(
        self,
        account_gate: Callable[[], AccountGate] | None,
        max_body_bytes: int,
        form_bodies: bool,
        media_types: Mapping[Route, str],
    ) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=self._json_body)
        self.account_gate = account_gate
        self.max_body_bytes = max_body_bytes
        self.form_bodies = form_bodies
        self.media_types = dict(media_types)
        self._parsed: _Parsed | None = None  # the body ``handle`` parsed, for the request it resolves
        self.idempotency = Idempotency()  # creates sent with an Idempotency-Key run once per key

    def routes(self) -> list[HandlerRoute]:
        """Every route this resolver serves (the OpenAPI generator reads their handlers' docstrings)."""
        return [*self._static_routes, *self._dynamic_routes]

    def media_type(self, method: str, resource: str) -> str:
        """The one media type the route takes in its body."""
        return self.media_types.get((method, resource), FORM if self.form_bodies else JSON)

    def _json_body(self, text: str) -> Any:
        """What Powertools' validation reads: the parse ``handle`` made (it decodes the body again)."""
        if self._parsed is not None and self._parsed.text == text:
            return self._parsed.value
        return parse_json(text)


def resolver(
    account_gate: Callable[[], AccountGate] | None = None,
    *,
    max_body_bytes: int = MAX_JSON_BYTES,
    form_bodies: bool = False,
    media_types: Mapping[Route, str] | None = None,
) -> Resolver:
    """A resolver with the domain errors mapped to HTTP. REST functions pass ``account_gate`` (built
    lazily, once per environment); public pages and webhooks posting forms pass ``form_bodies``;
    ``media_types`` names the routes that take another body than the function's (``bodies.CSV``...)."""
    app = Resolver(account_gate, max_body_bytes, form_bodies, media_types or {})

    @app.exception_handler(DomainError)
    def on_domain_error(error: DomainError) -> Response[dict[str, Any]]:
        status = status_for(error)
        logger.info("request refused", extra={"error_code": error.code, "status": int(status)})
        return error_response(status, error.code, error.message, error.field)

    @app.exception_handler(RequestValidationError)
    def on_validation_error(error: RequestValidationError) -> Response[dict[str, Any]]:
        errors = error.errors()
        if any(item.get("type") == "json_invalid" for item in errors):
            return error_response(HTTPStatus.BAD_REQUEST, "malformed_json", "request body is not valid JSON")
        details = [
            {"field": _field_path(tuple(item["loc"])), "type": item["type"], "message": item.get("msg", "")}
            for item in errors
        ]
        first = details[0]["field"] if details else None
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "request validation failed", first, details
        )

    @app.exception_handler(ClientError)
    def on_aws_error(error: ClientError) -> Response[dict[str, Any]]:
        """Throttling that outlived botocore's retries is the caller's cue to retry; the rest is a bug."""
        if error.response.get("Error", {}).get("Code") not in THROTTLING_CODES:
            raise error
        logger.warning("throttled after retries", extra={"aws_error": error.response["Error"]["Code"]})
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE, TemporarilyUnavailable.code, "throttled; retry shortly"
        )

    @app.not_found
    def on_unknown_route(_: NotFoundError) -> Response[dict[str, Any]]:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route")

    return app


def page_answers(media_type: str, *codes: int) -> dict[int, Any]:
    """The OpenAPI ``responses`` of a route whose answers are pages (HTML, TwiML), errors included:
    Powertools would document them as JSON."""
    page = {media_type: {"schema": {"type": "string"}}}
    return {code: {"description": HTTPStatus(code).phrase, "content": page} for code in codes}


def html_response(status: int, document: str, cookies: list[Cookie] | None = None) -> Response[str]:
    """A public HTML page (see ``callproof.html_pages``) with its security headers."""
    headers = dict(html_pages.SECURITY_HEADERS)
    return Response(status, html_pages.CONTENT_TYPE, document, headers=headers, cookies=cookies)


def current_caller(app: Resolver) -> Caller:
    return caller_from_event(app.current_event.raw_event)


def body_text(app: Resolver) -> str:
    """The request body as text (API Gateway may base64 it); not UTF-8 is the caller's error."""
    event = app.current_event
    return decoded(event.body or "", bool(event.is_base64_encoded))


def client_address(app: Resolver) -> str:
    """The caller's address as API Gateway saw it (the TCP peer: a header cannot forge it). Public
    routes use it only hashed, for their rate limits; it is never logged or stored."""
    identity = (app.current_event.raw_event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "")


def form_pairs(app: Resolver, max_fields: int = 100) -> list[tuple[str, str]]:
    """A form-encoded body (public HTML forms, Twilio webhooks) as (name, value) pairs in order."""
    try:
        return urllib.parse.parse_qsl(body_text(app), keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise InvalidInput("too many form fields", field="body") from None


# A path holding a control character names nothing of ours (no id, slug or token holds one). Refused
# before routing: Powertools anchors its route patterns with ``$``, which also matches before a final
# newline, so "/v1/contacts/%0A" resolved to the contact list and "/v1/contacts/c1%0A" to contact c1.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def handle(app: Resolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Refuse a path that names no route, then oversize bodies before anything reads them, then a
    body of another media type than the route takes, then JSON that is malformed or not an object; on
    authenticated functions refuse a request without a valid caller (401) and a caller the account
    gate stops; then resolve the route, its validation reading the body parsed here."""
    if _CONTROL_CHARACTER.search(str(event.get("path") or "")):
        return _early_error(HTTPStatus.NOT_FOUND, "not_found", "no such route", None)
    media_type = app.media_type(str(event.get("httpMethod")), str(event.get("resource")))
    try:
        parsed = _checked_body(app, event, media_type)
    except DomainError as error:
        logger.info("body refused", extra={"error_code": error.code})
        return _early_error(status_for(error), error.code, error.message, error.field)
    if app.account_gate is not None:
        refusal = _account_refusal(event, app.account_gate)
        if refusal is not None:
            return refusal
    if media_type != JSON:
        return app.resolve(event, context)
    # Powertools picks its body parser by Content-Type: it sees the one type the route takes.
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    app._parsed = parsed
    try:
        body = parsed.value if parsed is not None else None
        resolve = partial(app.resolve, {**event, "headers": {**headers, "Content-Type": JSON}}, context)
        return app.idempotency.once(event, context, body, resolve)
    except DomainError as error:  # the Idempotency-Key's refusals: reused for another request, in use
        return _early_error(status_for(error), error.code, error.message, error.field)
    finally:
        app._parsed = None


def _checked_body(app: Resolver, event: Mapping[str, Any], media_type: str) -> _Parsed | None:
    body = event.get("body") or ""
    is_base64 = bool(event.get("isBase64Encoded"))
    limit = MAX_CSV_BYTES if media_type == CSV else app.max_body_bytes
    size = len(body) * 3 // 4 if is_base64 else len(body.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise PayloadTooLarge(f"body over {limit} bytes", field="body")
    if not body:
        return None  # no body, nothing to type: a route that needs one says it is missing
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    check_media_type(headers.get("content-type", ""), media_type)
    if media_type != JSON:
        return None  # forms and CSV files are read (and decoded) by their routes
    return _Parsed(*json_object(body, is_base64))


# Routes the account gate never stops (the policy consent, the age question, the guardian's consent;
# ADR 0008): what a user must reach to read and accept a new policy version, to withdraw consent (as
# easy as giving it), and to read and answer the age question. Every other authenticated route passes
# the gate first.
POLICY_EXEMPT_ROUTES = frozenset(
    {
        ("GET", "/v1/me"),
        ("GET", "/v1/policies/{document}"),
        ("GET", "/v1/me/consents"),
        ("POST", "/v1/me/consents"),
        ("DELETE", "/v1/me/consents/{purpose}"),
        ("GET", "/v1/me/age"),
        ("PUT", "/v1/me/age"),
        # A member's own data rights never wait, for a new policy or the age question (ADR 0018).
        ("POST", "/v1/me/export"),
        ("DELETE", "/v1/me"),
    }
)


def _account_refusal(event: Mapping[str, Any], gate: Callable[[], AccountGate]) -> dict[str, Any] | None:
    """401 without a valid caller; then, outside ``POLICY_EXEMPT_ROUTES``, 403
    ``guardian_consent_required`` while an under-16 account awaits its guardian, 428
    ``age_confirmation_required`` until the caller has answered the age question, 428
    ``policy_consent_required`` (with the version id) while a significant policy version awaits the
    caller's consent.

    The check costs nothing on most requests: ``callproof.accounts.consent.PolicyGate`` caches the
    current policy per Lambda environment (60 s) and each user's pass (5 min); see ADR 0008.
    """
    try:
        caller = caller_from_event(event)
    except DomainError as error:  # no (valid) caller: no route code runs, no service is built
        return _early_error(status_for(error), error.code, error.message, error.field)
    if (event.get("httpMethod"), event.get("resource")) in POLICY_EXEMPT_ROUTES:
        return None
    refused = gate().refusal(caller.org_id, caller.user_id)
    if refused is None:
        return None
    logger.info("request refused by the account gate", extra={"error_code": refused.code})
    body = _error_body(refused.code, refused.message, refused.field, refused.details)
    return {
        "statusCode": refused.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _early_error(status: HTTPStatus, code: str, message: str, field: str | None) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(_error_body(code, message, field)),
        "isBase64Encoded": False,
    }
