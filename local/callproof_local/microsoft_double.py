"""The local Microsoft double: the Microsoft identity platform's OAuth 2.0 endpoints and the Microsoft
Graph calendar calls CallProof makes, on loopback, for `make run` and tests only. Never used in the
cloud: only the local stack starts it, and only the local stack sets ``MICROSOFT_BASE_URL``.

Wire formats as Microsoft's:

- ``GET /common/oauth2/v2.0/authorize`` consents at once (the user is ``login_hint``, else
  ``DEFAULT_USER``) and redirects to ``redirect_uri`` with ``code`` and ``state``;
  ``POST /common/oauth2/v2.0/token``: ``authorization_code`` (PKCE S256 verifier checked) and
  ``refresh_token``. **Every refresh answers a new refresh token and retires the old one** (Microsoft
  rotates them; the double is stricter than Microsoft, which lets the old one live a while, so a client
  that does not store the new one fails here at once). ``invalid_grant`` (AADSTS70000) once revoked.
- Graph v1.0: ``GET /v1.0/me/calendars`` (every user has the default ``Calendar``), ``POST
  /v1.0/me/calendars``, ``POST /v1.0/me/calendars/{id}/events``, ``PATCH
  /v1.0/me/calendars/{id}/events/{id}``; 401 ``InvalidAuthenticationToken`` for an unknown token.

Control endpoints (not Microsoft's): ``POST /_double/users/<address>/revoke``; ``GET /_double/stats``.
``access_ttl`` (seconds) sets the lifetime of issued access tokens (tests set it low to force refreshes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DEV_CLIENT_ID = "00000000-0000-4000-8000-00000ca11f00"
DEV_CLIENT_SECRET = "local-dev-microsoft-client-secret-0001"  # noqa: S105 - local double only
DEFAULT_USER = "rep@contoso.test"
CALENDAR_SCOPE = "Calendars.ReadWrite"
_EVENTS = re.compile(r"^/v1\.0/me/calendars(?:/([^/]+)/events(?:/([^/]+))?)?$")
_CONTROL = re.compile(r"^/_double/users/([^/]+)/revoke$")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Quiet: requests carry tokens."""


@dataclass
class _User:
    address: str
    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> event (+ "_calendar")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _graph_error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)


def _token_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description, "error_codes": [70000]}, status)


class MicrosoftDouble:
    def __init__(self, client_id: str = DEV_CLIENT_ID, client_secret: str = DEV_CLIENT_SECRET) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_ttl = 3599
        self._lock = threading.RLock()
        self._users: dict[str, _User] = {}
        self._codes: dict[str, tuple[str, str, str, str]] = {}  # code -> user, challenge, redirect, scope
        self._access: dict[str, str] = {}
        self._refresh: dict[str, tuple[str, str]] = {}  # refresh token -> user, scope
        self.stats = {"requests": 0, "refreshes": 0, "calendar_writes": 0}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> MicrosoftDouble:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="microsoft-double", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def user(self, address: str) -> _User:
        with self._lock:
            user = self._users.get(address.lower())
            if user is None:
                user = self._users[address.lower()] = _User(address.lower())
                default = "AAMkAD" + secrets.token_hex(12)
                user.calendars[default] = {
                    "id": default,
                    "name": "Calendar",
                    "canEdit": True,
                    "isDefaultCalendar": True,
                }
            return user

    def events(self, address: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.user(address).events.values()]

    def revoke_user(self, address: str) -> None:
        with self._lock:
            for token in [t for t, (u, _) in self._refresh.items() if u == address.lower()]:
                del self._refresh[token]
            for token in [t for t, u in self._access.items() if u == address.lower()]:
                del self._access[token]

    def valid_refresh_tokens(self, address: str) -> int:
        with self._lock:
            return sum(1 for u, _ in self._refresh.values() if u == address.lower())

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.stats["requests"] += 1
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == "/common/oauth2/v2.0/authorize" and request.method == "GET":
            return self._authorize(request)
        if path == "/common/oauth2/v2.0/token" and request.method == "POST":
            return self._token(request)
        if path == "/_double/stats":
            return _json(self.stats)
        control = _CONTROL.match(path)
        if control and request.method == "POST":
            self.revoke_user(control.group(1))
            return _json({"ok": True})
        match = _EVENTS.match(path)
        if match:
            return self._graph(request, match.group(1), match.group(2))
        return _graph_error(404, "ResourceNotFound", "Resource not found for the segment.")

    def _authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("code_challenge_method") != "S256":
            return Response("AADSTS700016: invalid request", status=400)
        user = (args.get("login_hint") or DEFAULT_USER).lower()
        code = "0.A" + secrets.token_urlsafe(32)
        redirect = str(args.get("redirect_uri", ""))
        with self._lock:
            self.user(user)
            self._codes[code] = (
                user,
                str(args.get("code_challenge", "")),
                redirect,
                str(args.get("scope", "")),
            )
        query = urlencode(
            {"code": code, "state": args.get("state", ""), "session_state": secrets.token_hex(8)}
        )
        return Response(status=302, headers={"Location": f"{redirect}?{query}"})

    def _issue(self, user: str, scope: str) -> Response:
        access = "eyJ0eXAi." + secrets.token_urlsafe(32)
        refresh = "0.AR" + secrets.token_urlsafe(48)
        self._access[access] = user
        self._refresh[refresh] = (user, scope)
        granted = " ".join(s for s in scope.split() if s != "offline_access")
        body = {
            "token_type": "Bearer",
            "scope": granted,
            "expires_in": self.access_ttl,
            "ext_expires_in": self.access_ttl,
            "access_token": access,
            "refresh_token": refresh,
        }
        return _json(body)

    def _token(self, request: Request) -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.username:
            client_id, client_secret = request.authorization.username, request.authorization.password
        if client_id != self.client_id or client_secret != self.client_secret:
            return _token_error("invalid_client", "AADSTS7000215: Invalid client secret provided.", 401)
        grant = form.get("grant_type")
        with self._lock:
            if grant == "authorization_code":
                entry = self._codes.pop(str(form.get("code")), None)
                if entry is None:
                    return _token_error(
                        "invalid_grant", "AADSTS70008: The provided authorization code is expired."
                    )
                user, challenge, redirect, scope = entry
                verifier = str(form.get("code_verifier", ""))
                digest = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                )
                if digest != challenge or form.get("redirect_uri") != redirect:
                    return _token_error("invalid_grant", "AADSTS501481: The Code_Verifier does not match.")
                return self._issue(user, scope)
            if grant == "refresh_token":
                entry2 = self._refresh.pop(str(form.get("refresh_token")), None)  # rotated: single use
                if entry2 is None:
                    return _token_error(
                        "invalid_grant", "AADSTS70000: The provided grant has expired or revoked."
                    )
                self.stats["refreshes"] += 1
                return self._issue(*entry2)
        return _token_error("unsupported_grant_type", "AADSTS70003: unsupported grant type")

    def _graph(self, request: Request, calendar_id: str | None, event_id: str | None) -> Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        with self._lock:
            address = self._access.get(token) if scheme == "Bearer" else None
            if address is None:
                return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
            user = self.user(address)
            body = request.get_json(silent=True) or {}
            if calendar_id is None:
                if request.method == "GET":
                    return _json(
                        {
                            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('me')/calendars",
                            "value": list(user.calendars.values()),
                        }
                    )
                if request.method == "POST":
                    if not body.get("name"):
                        return _graph_error(400, "ErrorInvalidRequest", "name is required")
                    new_id = "AAMkAD" + secrets.token_hex(12)
                    user.calendars[new_id] = {
                        "id": new_id,
                        "name": body["name"],
                        "canEdit": True,
                        "isDefaultCalendar": False,
                    }
                    return _json(user.calendars[new_id], 201)
                return _graph_error(405, "ErrorInvalidRequest", "method not allowed")
            if calendar_id not in user.calendars:
                return _graph_error(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            fields = ("subject", "body", "start", "end", "location", "attendees")
            if event_id is None and request.method == "POST":
                if "start" not in body or "end" not in body:
                    return _graph_error(400, "ErrorInvalidRequest", "start and end are required")
                self.stats["calendar_writes"] += 1
                new_event = {
                    "id": "AAMkAGE" + secrets.token_hex(16),
                    **{k: body[k] for k in fields if k in body},
                }
                new_event["webLink"] = f"https://outlook.office365.com/owa/?itemid={new_event['id']}"
                user.events[new_event["id"]] = {**new_event, "_calendar": calendar_id}
                return _json(new_event, 201)
            if event_id is not None and request.method == "PATCH":
                stored = user.events.get(event_id)
                if stored is None or stored["_calendar"] != calendar_id:
                    return _graph_error(
                        404, "ErrorItemNotFound", "The specified object was not found in the store."
                    )
                self.stats["calendar_writes"] += 1
                stored.update({k: body[k] for k in fields if k in body})
                return _json({k: v for k, v in stored.items() if k != "_calendar"})
        return _graph_error(405, "ErrorInvalidRequest", "method not allowed")


def local_environment(gateway_url: str, double_url: str) -> dict[str, str]:
    """Process environment the local stack sets for the calendars function (never set in the cloud)."""
    return {"MICROSOFT_BASE_URL": double_url, "CALENDAR_PUBLIC_BASE_URL": gateway_url}


def set_dev_credentials(session: Any, moto_url: str | None, secret_arn: str) -> None:
    """Store the development OAuth client in the template's Microsoft secret (in moto)."""
    client = (
        session.client("secretsmanager", endpoint_url=moto_url)
        if moto_url
        else session.client("secretsmanager")
    )
    client.put_secret_value(
        SecretId=secret_arn,
        SecretString=json.dumps({"client_id": DEV_CLIENT_ID, "client_secret": DEV_CLIENT_SECRET}),
    )
