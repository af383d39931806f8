"""The local API Gateway: routes each ``Api`` event of the template to its handler over HTTP.

It builds the REST API (v1) Lambda proxy event, plays the Cognito user pool authorizer (the bearer
token is verified before any handler runs; claims land in ``requestContext.authorizer.claims`` as
strings, as API Gateway puts them) and turns the proxy response back into HTTP.

What the gateway answers itself (no token, no route, a body over 10 MB, a failed handler) has the
API's one error shape, ``{"error": {"code", "message", "field": null, "details": []}}``, as the
template's ``GatewayResponses`` make API Gateway answer it (``GATEWAY_RESPONSES``; a test holds the
two equal). Why a token was refused is logged at INFO (``callproof_local.gateway``: a fixed reason
such as ``expired`` or ``bad_signature``, never the token or a claim). The access line on stderr names
the route template (``POST /v1/contacts/{contact_id}``), never the path or query, as the template's
access log does with ``$context.resourcePath``: ids and numbers in URLs stay out of logs.

Deliberate differences from API Gateway, for a clearer local experience:
- a known path with another method answers 405 with ``Allow`` (API Gateway cannot tell it from an
  unknown route and answers 404 for both);
- ``GET /health`` and ``/_local/...`` (local administration: ``POST /_local/schedules/<name>`` fires a
  schedule, ``GET /_local/outbox`` lists the mail sent through SES, ``GET /_local/aws`` names the moto
  endpoint behind the gateway for the CLI's direct writes; the last two to loopback clients only) are served
  by the gateway itself, before the template's routes, without authentication; they answer the CLI in
  their own shape (``{"message"}``), and are not part of the API.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import socket
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from callproof_local import auth, swagger
from callproof_local.invoke import invoke
from callproof_local.model import ApiEvent, Function
from callproof_local.routing import Match, Routes
from callproof_local.template import ACCOUNT_ID, REGION

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
    "+json",
    "+xml",
)
_DATE_CLAIMS = ("exp", "iat")  # API Gateway formats these as dates, and keeps auth_time numeric
NO_ROUTE = "-"  # what API Gateway's access log shows for a request that matched no resource
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayResponse:
    """An answer API Gateway gives itself, before or instead of a handler's (a gateway response)."""

    status: int
    code: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": None, "details": []}}


# The template's GatewayResponses, by response type, for the cases the local gateway meets (the
# template has more: throttling, WAF, timeouts...). tests/integration/test_gateway_responses.py
# renders the template's and compares. METHOD_NOT_ALLOWED is local only (see the module docstring).
GATEWAY_RESPONSES: Mapping[str, GatewayResponse] = {
    "UNAUTHORIZED": GatewayResponse(
        401, "unauthenticated", "missing, invalid or expired token", {"WWW-Authenticate": "Bearer"}
    ),
    "ACCESS_DENIED": GatewayResponse(403, "forbidden", "access denied"),
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(404, "not_found", "no such route"),
    "REQUEST_TOO_LARGE": GatewayResponse(413, "payload_too_large", "request over 10 MB"),
    "DEFAULT_5XX": GatewayResponse(502, "internal_error", "internal server error"),
    "METHOD_NOT_ALLOWED": GatewayResponse(405, "method_not_allowed", "method not allowed on this route"),
}


class PortInUseError(OSError):
    """The gateway's port is taken (or otherwise cannot be bound)."""


class UnknownScheduleError(KeyError):
    """``/_local/schedules/<name>`` named no schedule of the template."""


@dataclass(frozen=True)
class Route:
    function: Function
    event: ApiEvent


ScheduleRunner = Callable[[str], Any]


def routes_of(functions: Iterable[Function]) -> Routes[Route]:
    return Routes(
        (event.method, event.path, Route(function, event))
        for function in functions
        for event in function.api_events
    )


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload), status=status, headers=dict(headers or {}), content_type="application/json"
    )


def gateway_answer(response_type: str, headers: Mapping[str, str] | None = None) -> Response:
    """The HTTP answer of the gateway response ``response_type`` (with ``headers`` added)."""
    answer = GATEWAY_RESPONSES[response_type]
    return _json(answer.status, answer.body(), {**answer.headers, **(headers or {})})


def authorizer_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's Cognito authorizer passes them: strings, groups comma-joined."""
    shaped = {}
    for name, value in claims.items():
        if name in _DATE_CLAIMS and isinstance(value, int):
            shaped[name] = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        elif isinstance(value, list):
            shaped[name] = ",".join(map(str, value))
        elif isinstance(value, bool):
            shaped[name] = str(value).lower()
        else:
            shaped[name] = str(value)
    return shaped


def bearer_token(header: str | None) -> str | None:
    """``Bearer <jwt>`` or the raw token, as the Cognito authorizer accepts both."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else header.strip()


def _body_field(body: bytes, content_type: str) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if any(marker in content_type.lower() for marker in _TEXT_TYPES):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return dict(grouped)


def proxy_event(
    request: Request, match: Match[Route], body: bytes, claims: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The API Gateway REST proxy event for ``request`` (stage taken from the template's Api)."""
    headers = _multi(request.headers.items())
    query = _multi(request.args.items(multi=True))
    event = match.target.event
    text, is_base64 = _body_field(body, request.content_type or "")
    now = time.time()
    context: dict[str, Any] = {
        "resourceId": "local",
        "resourcePath": match.resource,
        "httpMethod": request.method,
        "path": f"/{event.stage}{request.path}",
        "stage": event.stage,
        "requestId": str(uuid.uuid4()),
        "extendedRequestId": str(uuid.uuid4()),
        "requestTime": formatdate(now, usegmt=True),
        "requestTimeEpoch": int(now * 1000),
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "domainName": request.host,
        "identity": {"sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string},
    }
    if claims is not None:
        context["authorizer"] = {"claims": authorizer_claims(claims)}
    return {
        "resource": match.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {key: values[-1] for key, values in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {key: values[-1] for key, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def http_response(result: Any) -> Response:
    """The HTTP response for a Lambda proxy result; raises ValueError if it is malformed."""
    if not isinstance(result, dict) or "statusCode" not in result:
        raise ValueError(f"malformed Lambda proxy response: {str(result)[:200]}")
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise ValueError("malformed Lambda proxy response: body must be a string")
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(payload, status=int(result["statusCode"]))
    response.headers.remove("Content-Type")
    for key, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(key, str(value))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response


LOOPBACK = ("127.0.0.1", "::1")


def sent_mail(message: Any) -> dict[str, Any]:
    """One message of moto's SES backend as ``{id, from, to, subject, body}`` (raw mail also with its
    ``headers``, so the marketing mail's RFC 8058 unsubscribe headers can be read)."""
    if hasattr(message, "raw_data"):  # SendRawEmail
        parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain", "html"))
        return {
            "id": message.id,
            "from": message.source,
            "to": list(dict.fromkeys(message.destinations)),  # moto adds the To header to Destinations
            "subject": str(parsed.get("Subject", "")),
            "body": part.get_content() if part is not None else "",
            "headers": {name: str(value) for name, value in parsed.items()},  # List-Unsubscribe...
        }
    destinations = message.destinations
    recipients = (
        [
            address
            for field in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in destinations.get(field, [])
        ]
        if isinstance(destinations, dict)
        else list(destinations)
    )
    return {
        "id": message.id,
        "from": message.source,
        "to": recipients,
        "subject": getattr(message, "subject", getattr(message, "template", "")),
        "body": getattr(message, "body", getattr(message, "template_data", "")),
    }


def outbox() -> list[dict[str, Any]]:
    """The mail the stack sent through SES, oldest first (moto's in-process backend keeps it)."""
    from moto.ses.models import ses_backends

    return [sent_mail(message) for message in ses_backends[ACCOUNT_ID][REGION].sent_messages]


class Gateway:
    """The WSGI application (see the module docstring for the routes it serves)."""

    def __init__(self, functions: Iterable[Function], moto_url: str, run_schedule: ScheduleRunner) -> None:
        self._functions = list(functions)
        self._routes = routes_of(self._functions)
        self._moto_url = moto_url
        self._run_schedule = run_schedule

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        response, resource = self._dispatch(request)
        elapsed = (time.perf_counter() - started) * 1000
        print(
            f"{request.method} {resource} -> {response.status_code} ({elapsed:.0f} ms)",
            file=sys.stderr,
            flush=True,
        )
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def dispatch(self, request: Request) -> Response:
        return self._dispatch(request)[0]

    def _dispatch(self, request: Request) -> tuple[Response, str]:
        """The answer, and the route template the access line names (``NO_ROUTE`` if none)."""
        body = request.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            while request.stream.read(1 << 20):
                pass  # drain, so the client reads our answer instead of a reset connection
            return gateway_answer("REQUEST_TOO_LARGE"), NO_ROUTE
        if request.path == "/health" and request.method == "GET":
            return self._health(), "/health"
        if request.path.startswith("/_local/"):
            return self._local(request)
        if request.path == "/docs" and request.method == "GET":
            return swagger.answer(request.args.get("format") == "json"), "/docs"
        match = self._routes.match(request.method, request.path)
        if isinstance(match, list):
            if not match:
                return gateway_answer("MISSING_AUTHENTICATION_TOKEN"), NO_ROUTE
            return gateway_answer("METHOD_NOT_ALLOWED", {"Allow": ", ".join(match)}), NO_ROUTE
        claims = None
        if match.target.event.auth_required:
            try:
                claims = self._authorize(request)
            except auth.TokenError as refused:
                LOG.info(
                    "token refused",
                    extra={"reason": refused.reason, "route": f"{request.method} {match.resource}"},
                )
                return gateway_answer("UNAUTHORIZED"), match.resource
        event = proxy_event(request, match, body, claims)
        try:
            return http_response(invoke(match.target.function, event)), match.resource
        except Exception:  # API Gateway turns any Lambda failure into a 502
            traceback.print_exc(file=sys.stderr)
            return gateway_answer("DEFAULT_5XX"), match.resource

    @staticmethod
    def _authorize(request: Request) -> dict[str, Any]:
        """The claims of the request's token, as the Cognito authorizer checks it."""
        token = bearer_token(request.headers.get("Authorization"))
        if not token:
            raise auth.TokenError("no token", "missing")
        return auth.verify(token)

    def _health(self) -> Response:
        try:
            with urllib.request.urlopen(f"{self._moto_url}/moto-api/config", timeout=2):  # noqa: S310
                moto = True
        except OSError:
            moto = False
        return _json(
            200 if moto else 503,
            {"status": "ok" if moto else "degraded", "moto": moto, "functions": len(self._functions)},
        )

    def _local(self, request: Request) -> tuple[Response, str]:
        if request.path in ("/_local/outbox", "/_local/aws") and request.method == "GET":
            if request.remote_addr not in LOOPBACK:
                return _json(403, {"message": "Forbidden"}), request.path
            if request.path == "/_local/aws":
                return _json(200, {"endpoint_url": self._moto_url, "region": REGION}), request.path
            return _json(200, {"messages": outbox()}), "/_local/outbox"
        prefix = "/_local/schedules/"
        if not (request.path.startswith(prefix) and request.method == "POST"):
            return _json(404, {"message": "Not Found"}), NO_ROUTE
        name = request.path.removeprefix(prefix)
        try:
            result = self._run_schedule(name)
        except UnknownScheduleError as exc:
            return _json(404, {"message": str(exc.args[0])}), "/_local/schedules/{name}"
        except Exception as exc:  # report the handler's failure to the CLI
            traceback.print_exc(file=sys.stderr)
            failure = {
                "message": f"schedule {name} failed",
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
            }
            return _json(500, failure), "/_local/schedules/{name}"
        return _json(200, {"schedule": name, "result": result}), "/_local/schedules/{name}"


class _LogFormat(logging.Formatter):
    """``INFO token refused reason=expired route=GET /v1/contacts``: the message and its extras."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{key}={getattr(record, key)}" for key in ("reason", "route") if hasattr(record, key)
        )
        return f"{record.levelname} {record.getMessage()} {extras}".rstrip()


class GatewayServer:
    """A threaded HTTP server on 127.0.0.1; the port is bound at construction to fail fast."""

    def __init__(self, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind(("127.0.0.1", port))
        except OSError as exc:
            self._socket.close()
            raise PortInUseError(exc.errno, f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
        self._socket.listen(128)
        self.port: int = self._socket.getsockname()[1]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, app: Gateway) -> None:
        if (
            not LOG.handlers
        ):  # the gateway's own log (why tokens are refused) goes to stderr, as its access lines
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_LogFormat())
            LOG.addHandler(handler)
            LOG.setLevel(logging.INFO)
        self._server = make_server("127.0.0.1", self.port, app, threaded=True, fd=self._socket.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()
