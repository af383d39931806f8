"""The local Google double: Google's OAuth, Gmail and push-token endpoints on loopback, for `make run`
and tests only. Never used in the cloud: only the local stack starts it, and only the local stack sets
``GOOGLE_API_BASE_URL`` / ``GOOGLE_OAUTH_BASE_URL`` / ``GOOGLE_CERTS_URL``.

It speaks the real wire formats for what CallProof uses:

- OAuth 2.0: ``GET /o/oauth2/v2/auth`` consents at once (the mailbox is ``login_hint``, else
  ``DEFAULT_MAILBOX``) and redirects to ``redirect_uri`` with ``code`` and ``state``; ``POST /token``
  (authorization_code with the PKCE S256 verifier checked; refresh_token, ``invalid_grant`` once
  revoked); ``POST /revoke``.
- Gmail v1 under ``/gmail/v1/users/me/``: ``profile``, ``labels`` (the system labels and the mailbox's
  user labels), ``watch`` (its ``labelIds`` kept), ``stop``, ``history`` (messageAdded with each message's
  ``labelIds``,
  ``maxResults`` paging, **404 for a history id older than the mailbox keeps**), ``messages`` (list with
  ``q=newer_than:Nd`` and ``labelIds``, every one required), ``messages/{id}`` (``format=metadata`` with ``metadataHeaders``, ``raw``,
  ``full``), and ``POST /batch/gmail/v1`` (multipart/mixed of application/http parts, answered in
  kind with ``Content-ID: <response-...>``).
- People v1: ``GET /v1/people/me/connections`` (pageSize paging, ``requestSyncToken`` /
  ``syncToken``, 400 FAILED_PRECONDITION EXPIRED_SYNC_TOKEN for a token older than
  ``/_double/mailboxes/<address>/expire-people-sync``; 403 without the contacts scope); a person
  deleted since a sync token is listed as Google does, ``resourceName`` and ``metadata.deleted``.
- OAuth consent takes the last ``login_hint`` (CallProof sends the member's email; a test may append
  the account the user picks instead) and honours ``include_granted_scopes=true`` (the new token
  carries the account's earlier grants too, as Google's incremental authorization).
- Calendar v3: ``GET /calendar/v3/users/me/calendarList`` (needs ``calendar.calendarlist.readonly``;
  every mailbox has its primary calendar), ``POST /calendar/v3/calendars``, ``POST
  .../calendars/{id}/events`` and ``PATCH .../calendars/{id}/events/{eventId}`` (need
  ``calendar.app.created``, and answer 403 for a calendar the app did not create, as Google does).
- ``GET /oauth2/v1/certs``: the PEM certificates (by key id) of the local push-token signer, the
  format of Google's ``https://www.googleapis.com/oauth2/v1/certs``, with its cache headers
  (``Cache-Control: public, max-age=...``, ``Expires``); ``/_double/stats`` counts the fetches.

Messages are .eml files (bytes) put into a mailbox; each gets the next history id, as in Gmail, and
joins the thread of the message its ``In-Reply-To`` / ``References`` name (Gmail's threading, per
mailbox: the same conversation has other thread ids in other mailboxes).

Control endpoints (not Google's): ``POST /_double/mailboxes/<address>/messages`` (body: an .eml;
``?labels=INBOX,Label_1``, default INBOX) -> ``{"id", "threadId", "historyId"}``; ``POST
/_double/mailboxes/<address>/labels`` (``{"name"}``) -> the new user label; ``POST /_double/mailboxes/<address>/expire-history`` (older history ids now
answer 404); ``POST /_double/mailboxes/<address>/revoke`` (refresh tokens answer ``invalid_grant``);
``POST /_double/mailboxes/<address>/people`` (a JSON list of People API persons); ``POST
/_double/mailboxes/<address>/delete-people`` (a JSON list of resourceNames, deleted as in Google);
``POST /_double/push-token`` (``{"audience", "email"}`` -> a signed OIDC token as Pub/Sub sends);
``POST /_double/throttle`` (``{"count": n}``: the next n message fetches answer 429); ``GET
/_double/stats``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DEV_CLIENT_ID = "callproof-local.apps.googleusercontent.com"
DEV_CLIENT_SECRET = "local-dev-google-client-secret-0001"  # noqa: S105 - local double only
DEFAULT_MAILBOX = "rep@callproof.test"
PUSH_SERVICE_ACCOUNT = "gmail-push@callproof-dev.iam.gserviceaccount.com"  # the template default
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
_GMAIL = re.compile(r"^/gmail/v1/users/me/(profile|watch|stop|history|messages|labels)(?:/([0-9a-f]+))?$")
_CONTROL = re.compile(
    r"^/_double/mailboxes/([^/]+)/(messages|expire-history|revoke|people|delete-people|expire-people-sync|labels)$"
)
SYSTEM_LABELS = ("CHAT", "SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM", "STARRED", "UNREAD")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts.readonly"
CALENDAR_APP_CREATED = "https://www.googleapis.com/auth/calendar.app.created"
CALENDAR_LIST_READONLY = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
_CALENDAR = re.compile(r"^/calendar/v3/(?:users/me/calendarList|calendars(?:/([^/]+)/events(?:/([^/]+))?)?)$")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Quiet: requests carry mail."""


@dataclass
class _Message:
    gmail_id: str
    thread_id: str
    history_id: int
    internal_date: int
    raw: bytes
    labels: list[str]
    message_id: str = ""


@dataclass
class _Mailbox:
    address: str
    history_id: int = 1000
    oldest_history: int = 0
    messages: list[_Message] = field(default_factory=list)
    watched_until: int = 0
    watched_labels: list[str] = field(default_factory=list)
    user_labels: dict[str, str] = field(default_factory=dict)  # label id -> name
    revoked: bool = False
    granted: set[str] = field(default_factory=set)
    people: list[dict[str, Any]] = field(default_factory=list)  # People API person resources
    people_changes: int = 0
    people_sync_floor: int = 0  # sync tokens older than this answer EXPIRED_SYNC_TOKEN
    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> calendar (+ "_app")
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> event (+ "_calendar")


CERTS_MAX_AGE = 21_600  # seconds; Google's certificate responses say a few hours


def certs_cache_headers(max_age: int = CERTS_MAX_AGE, now: float | None = None) -> dict[str, str]:
    """The cache headers Google sends with its signing certificates (``max-age``, ``Expires``)."""
    moment = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    http_date = "%a, %d %b %Y %H:%M:%S GMT"
    return {
        "Cache-Control": f"public, max-age={max_age}, must-revalidate, no-transform",
        "Date": moment.strftime(http_date),
        "Expires": (moment + dt.timedelta(seconds=max_age)).strftime(http_date),
    }


def _deleted_person(person: dict[str, Any]) -> dict[str, Any]:
    """A person deleted since a sync token, as people.connections.list lists it."""
    return {
        "resourceName": person["resourceName"],
        "etag": f"%{person['_change']}",
        "metadata": {
            "sources": [{"type": "CONTACT", "id": person["resourceName"].split("/")[-1]}],
            "deleted": True,
        },
    }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)


def partial_response(body: Any, fields: str | None) -> Any:
    """Google's ``fields`` parameter (partial responses): comma-separated paths, ``/`` for nesting
    and ``a(b,c)`` for several members of ``a`` (``id,payload/headers``,
    ``history(messagesAdded(message(id,labelIds))),historyId``). A path through a list applies to each
    element; a member named but absent is left out, as Google does."""
    if not fields:
        return body
    return _project(body, _field_tree(fields))


def _field_tree(fields: str) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    stack = [tree]  # the member sets open at each "(" level
    path: list[dict[str, Any]] = []  # the nodes a "/" path has opened since the last "," at this level
    name = ""

    def close_name() -> None:
        nonlocal name, path
        if name:
            node = (path[-1] if path else stack[-1]).setdefault(name, {})
            path = [*path, node]
        name = ""

    for char in fields.replace(" ", ""):
        if char == "/":
            close_name()
        elif char == "(":
            close_name()
            stack.append(path[-1] if path else stack[-1])
            path = []
        elif char == ")":
            close_name()
            stack.pop()
            path = []
        elif char == ",":
            close_name()
            path = []
        else:
            name += char
    close_name()
    return tree


def _project(value: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [_project(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: _project(value[key], sub) for key, sub in tree.items() if key in value}


def _google_error(status: int, message: str, reason: str) -> Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": {404: "NOT_FOUND", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}.get(
                status, "ERROR"
            ),
        }
    }
    return _json(body, status, {"Retry-After": "0"} if status == 429 else None)


class PushSigner:
    """An RSA key and self-signed certificate that sign Pub/Sub-style OIDC tokens (RS256)."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "callproof-local-google-double")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        self.key_id = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()  # noqa: S324 - an id
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._signer = crypt.RSASigner.from_string(pem, key_id=self.key_id)  # type: ignore[no-untyped-call]

    def certs(self) -> dict[str, str]:
        return {self.key_id: self.cert_pem}

    def sign(
        self,
        audience: str,
        email: str = PUSH_SERVICE_ACCOUNT,
        *,
        email_verified: bool = True,
        issuer: str = "https://accounts.google.com",
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "azp": "1" * 21,
            "sub": "1" * 21,
            "email": email,
            "email_verified": email_verified,
            "iat": now,
            "exp": now + 3600,
        }
        token: bytes = jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
        return token.decode()


class GoogleDouble:
    def __init__(self, client_id: str = DEV_CLIENT_ID, client_secret: str = DEV_CLIENT_SECRET) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.signer = PushSigner()
        self._lock = threading.RLock()
        self._mailboxes: dict[str, _Mailbox] = {}
        self._codes: dict[str, tuple[str, str, str, str]] = {}  # code -> mailbox, challenge, redirect, scope
        self._access: dict[str, str] = {}  # access token -> mailbox
        self._scopes: dict[str, set[str]] = {}  # access token -> granted scopes
        self._refresh: dict[str, str] = {}  # refresh token -> mailbox
        self._throttle = 0
        self.stats = {
            "requests": 0,
            "batch_parts": 0,
            "bytes": 0,
            "partial_parts": 0,
            "certs": 0,
            "history_bytes": 0,  # of the bytes, those of history.list answers
        }
        self.certs_max_age = CERTS_MAX_AGE  # what the certificates' Cache-Control says
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> GoogleDouble:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="google-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- in-process helpers (tests, bench) ------------------------------------------------------

    def mailbox(self, address: str) -> _Mailbox:
        with self._lock:
            return self._mailboxes.setdefault(address.lower(), _Mailbox(address.lower()))

    def deliver(self, address: str, raw: bytes, labels: list[str] | None = None) -> tuple[str, int]:
        with self._lock:
            box = self.mailbox(address)
            box.history_id += 1
            gmail_id = f"{box.history_id:x}{secrets.token_hex(6)}"
            parsed = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
            named = _MESSAGE_ID.findall(f"{parsed['In-Reply-To'] or ''} {parsed['References'] or ''}")
            own = _MESSAGE_ID.findall(str(parsed["Message-ID"] or ""))[:1]
            thread_id = next(
                (m.thread_id for m in box.messages if m.message_id and m.message_id in named), gmail_id
            )
            try:
                internal = int(parsedate_to_datetime(str(parsed["Date"])).timestamp() * 1000)
            except (TypeError, ValueError):
                internal = int(time.time() * 1000)
            box.messages.append(
                _Message(
                    gmail_id, thread_id, box.history_id, internal, raw, labels or ["INBOX"], "".join(own)
                )
            )
            return gmail_id, box.history_id

    def thread_of(self, address: str, gmail_id: str) -> str:
        with self._lock:
            return next(m.thread_id for m in self.mailbox(address).messages if m.gmail_id == gmail_id)

    def add_label(self, address: str, name: str) -> str:
        """A user label, as Gmail names them (``Label_<n>``)."""
        with self._lock:
            box = self.mailbox(address)
            label_id = f"Label_{len(box.user_labels) + 1}"
            box.user_labels[label_id] = name
            return label_id

    def add_people(self, address: str, people: list[dict[str, Any]]) -> None:
        """People API person resources (``names``, ``emailAddresses``, ``phoneNumbers``,
        ``organizations``); each gets a resourceName and the next change number."""
        with self._lock:
            box = self.mailbox(address)
            for person in people:
                box.people_changes += 1
                person = dict(person)
                person.setdefault("resourceName", f"people/c{box.people_changes}")
                person["_change"] = box.people_changes
                box.people.append(person)

    def delete_people(self, address: str, resource_names: list[str]) -> None:
        """Delete people as a user does in Google Contacts: each deletion is the next change; a sync
        token from before it lists the person with ``metadata.deleted``, a full sync no more."""
        with self._lock:
            box = self.mailbox(address)
            for person in box.people:
                if person["resourceName"] in resource_names and not person.get("_deleted"):
                    box.people_changes += 1
                    person["_change"], person["_deleted"] = box.people_changes, True

    def _connections(self, box: _Mailbox, args: Any) -> Response:
        with self._lock:
            sync = str(args.get("syncToken") or "")
            since = 0
            if sync:
                since = int(sync.removeprefix("sync.")) if sync.startswith("sync.") else -1
                if since < box.people_sync_floor:
                    body = {
                        "error": {
                            "code": 400,
                            "message": "Sync token is expired. Clear local cache and retry call without the sync token.",
                            "status": "FAILED_PRECONDITION",
                            "details": [
                                {
                                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                    "reason": "EXPIRED_SYNC_TOKEN",
                                    "domain": "people.googleapis.com",
                                }
                            ],
                        }
                    }
                    return _json(body, 400)
            changed = [
                _deleted_person(p) if p.get("_deleted") else {k: v for k, v in p.items() if k != "_change"}
                for p in box.people
                if p["_change"] > since and not (p.get("_deleted") and not sync)
            ]
            size = min(int(args.get("pageSize") or 100), 1000)
            offset = int(args.get("pageToken") or 0)
            page: dict[str, Any] = {
                "connections": changed[offset : offset + size],
                "totalPeople": len(changed),
                "totalItems": len(changed),
            }
            if offset + size < len(changed):
                page["nextPageToken"] = str(offset + size)
            elif args.get("requestSyncToken") == "true":
                page["nextSyncToken"] = f"sync.{box.people_changes}"
            return _json(page)

    def expire_history(self, address: str) -> None:
        with self._lock:
            box = self.mailbox(address)
            box.oldest_history = box.history_id

    def revoke_mailbox(self, address: str) -> None:
        with self._lock:
            self.mailbox(address).revoked = True
            for token in [t for t, m in self._refresh.items() if m == address.lower()]:
                del self._refresh[token]

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.stats["requests"] += 1
        response = self.dispatch(request)
        with self._lock:
            self.stats["bytes"] += len(response.get_data())
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == "/o/oauth2/v2/auth" and request.method == "GET":
            return self._authorize(request)
        if path == "/token" and request.method == "POST":
            return self._token(request)
        if path == "/revoke" and request.method == "POST":
            return self._revoke(request)
        if path == "/oauth2/v1/certs":
            with self._lock:
                self.stats["certs"] += 1
            return _json(self.signer.certs(), headers=certs_cache_headers(self.certs_max_age))
        if path == "/batch/gmail/v1" and request.method == "POST":
            return self._batch(request)
        if path == "/_double/push-token" and request.method == "POST":
            body = request.get_json(silent=True) or {}
            token = self.signer.sign(
                str(body.get("audience", "")),
                str(body.get("email", PUSH_SERVICE_ACCOUNT)),
                email_verified=bool(body.get("email_verified", True)),
            )
            return _json({"token": token})
        if path == "/_double/throttle" and request.method == "POST":
            with self._lock:
                self._throttle = int((request.get_json(silent=True) or {}).get("count", 0))
            return _json({"throttle": self._throttle})
        if path == "/_double/stats":
            return _json(self.stats)
        control = _CONTROL.match(path)
        if control and request.method == "POST":
            address, action = control.group(1).lower(), control.group(2)
            if action == "messages":
                labels = [v for v in str(request.args.get("labels") or "").split(",") if v] or None
                gmail_id, history_id = self.deliver(address, request.get_data(), labels)
                thread = self.thread_of(address, gmail_id)
                return _json({"id": gmail_id, "threadId": thread, "historyId": str(history_id)}, 201)
            if action == "labels":
                name = str((request.get_json(silent=True) or {}).get("name", ""))
                return _json({"id": self.add_label(address, name), "name": name, "type": "user"}, 201)
            if action == "people":
                self.add_people(address, list(request.get_json(silent=True) or []))
                return _json({"ok": True}, 201)
            if action == "delete-people":  # a JSON list of resourceNames
                self.delete_people(address, [str(n) for n in request.get_json(silent=True) or []])
                return _json({"ok": True})
            if action == "expire-people-sync":
                with self._lock:
                    box = self.mailbox(address)
                    box.people_sync_floor = box.people_changes + 1
                return _json({"ok": True})
            if action == "expire-history":
                self.expire_history(address)
            else:
                self.revoke_mailbox(address)
            return _json({"ok": True})
        if path == "/v1/people/me/connections" and request.method == "GET":
            token = (request.headers.get("Authorization") or "").partition(" ")[2]
            owner = self._mailbox_for(request.headers.get("Authorization"))
            if owner is None:
                return _google_error(401, "Request had invalid authentication credentials.", "authError")
            if CONTACTS_SCOPE not in self._scopes.get(token, set()):
                return _google_error(
                    403, "Request had insufficient authentication scopes.", "insufficientPermissions"
                )
            return self._connections(owner, request.args)
        calendar = _CALENDAR.match(path)
        if calendar:
            return self._calendar(request, calendar.group(1), calendar.group(2))
        match = _GMAIL.match(path)
        if match:
            mailbox = self._mailbox_for(request.headers.get("Authorization"))
            if mailbox is None:
                return _google_error(401, "Request had invalid authentication credentials.", "authError")
            return self._gmail(mailbox, request.method, match.group(1), match.group(2), request.args, request)
        return _json({"error": "not found"}, 404)

    # --- OAuth ----------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("code_challenge_method") != "S256":
            return Response("invalid_request", status=400)
        # CallProof sends the member's email; a test appends another ``login_hint``: the account the
        # user picks at the chooser (the last one wins), as Google lets the user choose.
        mailbox = ((args.getlist("login_hint") or [DEFAULT_MAILBOX])[-1]).lower()
        scope = str(args.get("scope", ""))
        if args.get("include_granted_scopes") == "true":  # incremental: the token carries earlier grants
            with self._lock:
                scope = " ".join(sorted(set(scope.split()) | self.mailbox(mailbox).granted))
        code = "4/" + secrets.token_urlsafe(24)
        redirect = str(args.get("redirect_uri", ""))
        with self._lock:
            self._codes[code] = (
                mailbox,
                str(args.get("code_challenge", "")),
                redirect,
                scope,
            )
            self.mailbox(mailbox).revoked = False
        query = urlencode({"state": args.get("state", ""), "code": code, "scope": args.get("scope", "")})
        return Response(status=302, headers={"Location": f"{redirect}?{query}"})

    def _token(self, request: Request) -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.username:
            client_id, client_secret = request.authorization.username, request.authorization.password
        if client_id != self.client_id or client_secret != self.client_secret:
            return _json({"error": "invalid_client", "error_description": "Unauthorized"}, 401)
        grant = form.get("grant_type")
        with self._lock:
            if grant == "authorization_code":
                entry = self._codes.pop(str(form.get("code")), None)
                if entry is None:
                    return _json({"error": "invalid_grant", "error_description": "Malformed auth code."}, 400)
                mailbox, challenge, redirect, scope = entry
                verifier = str(form.get("code_verifier", ""))
                digest = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                )
                if digest != challenge or form.get("redirect_uri") != redirect:
                    return _json({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
                refresh = "1//" + secrets.token_urlsafe(32)
                self._refresh[refresh] = mailbox
                self.mailbox(mailbox).granted |= set(scope.split())  # incremental: grants add up
                return self._issue(mailbox, scope, refresh)
            if grant == "refresh_token":
                mailbox_for_refresh = self._refresh.get(str(form.get("refresh_token")))
                if mailbox_for_refresh is None:
                    return _json(
                        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                        400,
                    )
                granted = " ".join(sorted(self.mailbox(mailbox_for_refresh).granted)) or GMAIL_SCOPE
                return self._issue(mailbox_for_refresh, granted, None)
        return _json({"error": "unsupported_grant_type"}, 400)

    def _issue(self, mailbox: str, scope: str, refresh: str | None) -> Response:
        access = "ya29." + secrets.token_urlsafe(32)
        self._access[access] = mailbox
        self._scopes[access] = set(scope.split())
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": 3599,
            "scope": scope,
            "token_type": "Bearer",
        }
        if refresh:
            body["refresh_token"] = refresh
        return _json(body)

    def _revoke(self, request: Request) -> Response:
        token = str(request.form.get("token") or request.args.get("token") or "")
        with self._lock:
            mailbox = self._refresh.pop(token, None) or self._access.get(token)
            if mailbox is None:
                return _json({"error": "invalid_token", "error_description": "Token expired or revoked"}, 400)
            self.revoke_mailbox(mailbox)
            for access in [t for t, m in self._access.items() if m == mailbox]:
                del self._access[access]
        return _json({})

    # --- Calendar v3 (calendarList.list, calendars.insert, events.insert, events.patch) -----------

    def _calendar(self, request: Request, calendar_id: str | None, event_id: str | None) -> Response:
        token = (request.headers.get("Authorization") or "").partition(" ")[2]
        box = self._mailbox_for(request.headers.get("Authorization"))
        if box is None:
            return _google_error(401, "Request had invalid authentication credentials.", "authError")
        scopes = self._scopes.get(token, set())
        insufficient = _google_error(
            403, "Request had insufficient authentication scopes.", "insufficientPermissions"
        )
        with self._lock:
            self.stats.setdefault("calendar_writes", 0)
            box.calendars.setdefault(
                box.address,
                {
                    "id": box.address,
                    "summary": box.address,
                    "accessRole": "owner",
                    "primary": True,
                    "_app": False,
                },
            )
            public = {k: v for k, v in box.calendars.items()}
            if request.path.endswith("/calendarList") and request.method == "GET":
                if CALENDAR_LIST_READONLY not in scopes:
                    return insufficient
                items = [
                    {"kind": "calendar#calendarListEntry", **{k: v for k, v in c.items() if k != "_app"}}
                    for c in public.values()
                ]
                return _json({"kind": "calendar#calendarList", "etag": '"1"', "items": items})
            if CALENDAR_APP_CREATED not in scopes:
                return insufficient
            body = request.get_json(silent=True) or {}
            if calendar_id is None and request.method == "POST":  # calendars.insert
                if not body.get("summary"):
                    return _google_error(400, "Missing title.", "required")
                new_id = f"c_{secrets.token_hex(16)}@group.calendar.google.com"
                box.calendars[new_id] = {
                    "id": new_id,
                    "summary": body["summary"],
                    "timeZone": body.get("timeZone", "UTC"),
                    "accessRole": "owner",
                    "_app": True,
                }
                return _json({"kind": "calendar#calendar", "id": new_id, "summary": body["summary"]})
            calendar = box.calendars.get(str(calendar_id))
            if calendar is None:
                return _google_error(404, "Not Found", "notFound")
            if not calendar["_app"]:  # calendar.app.created: only calendars this app created
                return _google_error(403, "Forbidden", "forbidden")
            self.stats["calendar_writes"] += 1
            if event_id is None and request.method == "POST":  # events.insert
                new_event = {"kind": "calendar#event", "id": secrets.token_hex(13), "status": "confirmed"}
                new_event.update(_event_fields(body))
                if "start" not in new_event or "end" not in new_event:
                    return _google_error(400, "Missing time.", "required")
                new_event["htmlLink"] = f"https://www.google.com/calendar/event?eid={new_event['id']}"
                box.events[new_event["id"]] = {**new_event, "_calendar": calendar_id}
                return _json(new_event)
            if event_id is not None and request.method == "PATCH":  # events.patch
                stored = box.events.get(event_id)
                if stored is None or stored["_calendar"] != calendar_id:
                    return _google_error(404, "Not Found", "notFound")
                stored.update(_event_fields(body))
                return _json({k: v for k, v in stored.items() if k != "_calendar"})
        return _json({"error": "not found"}, 404)

    def calendar_events(self, address: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.mailbox(address).events.values()]

    def _mailbox_for(self, authorization: str | None) -> _Mailbox | None:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            address = self._access.get(token) if scheme == "Bearer" else None
            return self.mailbox(address) if address else None

    # --- Gmail ----------------------------------------------------------------------------------

    def _gmail(
        self, box: _Mailbox, method: str, resource: str, item: str | None, args: Any, request: Request | None
    ) -> Response:
        with self._lock:
            if resource == "profile":
                return _json(
                    {
                        "emailAddress": box.address,
                        "messagesTotal": len(box.messages),
                        "threadsTotal": len(box.messages),
                        "historyId": str(box.history_id),
                    }
                )
            if resource == "watch" and method == "POST":
                body = (request.get_json(silent=True) if request else None) or {}
                if not str(body.get("topicName", "")).startswith("projects/"):
                    return _google_error(400, "Invalid topicName", "invalidArgument")
                box.watched_until = int(time.time() * 1000) + 7 * 86_400_000
                box.watched_labels = [str(label) for label in body.get("labelIds") or []]
                return _json({"historyId": str(box.history_id), "expiration": str(box.watched_until)})
            if resource == "stop" and method == "POST":
                box.watched_until = 0
                return Response(status=204)
            if resource == "labels" and item is None:
                system = [{"id": name, "name": name, "type": "system"} for name in SYSTEM_LABELS]
                user = [
                    {
                        "id": label_id,
                        "name": name,
                        "messageListVisibility": "show",
                        "labelListVisibility": "labelShow",
                        "type": "user",
                    }
                    for label_id, name in box.user_labels.items()
                ]
                return _json({"labels": system + user})
            if resource == "history":
                return self._history(box, args)
            if resource == "messages" and item is None:
                return self._list(box, args)
            if resource == "messages" and item:
                return self._get(box, item, args)
        return _google_error(404, "Not Found", "notFound")

    def _history(self, box: _Mailbox, args: Any) -> Response:
        start = int(args.get("startHistoryId") or 0)
        if start < box.oldest_history or start <= 0:
            return _google_error(404, "Requested entity was not found.", "notFound")
        records = [
            {
                "id": str(m.history_id),
                "messages": [{"id": m.gmail_id, "threadId": m.thread_id}],
                "messagesAdded": [
                    {"message": {"id": m.gmail_id, "threadId": m.thread_id, "labelIds": m.labels}}
                ],
            }
            for m in box.messages
            if m.history_id > start
        ]
        size = min(int(args.get("maxResults") or 100), 500)
        offset = int(args.get("pageToken") or 0)
        page: dict[str, Any] = {"history": records[offset : offset + size], "historyId": str(box.history_id)}
        if offset + size < len(records):
            page["nextPageToken"] = str(offset + size)
        if not page["history"]:
            del page["history"]
        answer = _json(partial_response(page, args.get("fields")))
        self.stats["history_bytes"] += len(answer.get_data())  # _gmail holds the lock
        return answer

    def _list(self, box: _Mailbox, args: Any) -> Response:
        query = str(args.get("q") or "")
        match = re.search(r"newer_than:(\d+)d", query)
        since = int(time.time() * 1000) - int(match.group(1)) * 86_400_000 if match else 0
        wanted = set(args.getlist("labelIds"))  # every one of them, as Gmail's messages.list
        found = [m for m in reversed(box.messages) if m.internal_date >= since and wanted <= set(m.labels)]
        size = min(int(args.get("maxResults") or 100), 500)
        offset = int(args.get("pageToken") or 0)
        page: dict[str, Any] = {
            "messages": [{"id": m.gmail_id, "threadId": m.thread_id} for m in found[offset : offset + size]],
            "resultSizeEstimate": len(found),
        }
        if offset + size < len(found):
            page["nextPageToken"] = str(offset + size)
        return _json(page)

    def _get(self, box: _Mailbox, gmail_id: str, args: Any) -> Response:
        if self._throttle > 0:
            self._throttle -= 1
            return _google_error(429, "User-rate limit exceeded.", "userRateLimitExceeded")
        message = next((m for m in box.messages if m.gmail_id == gmail_id), None)
        if message is None:
            return _google_error(404, "Requested entity was not found.", "notFound")
        body: dict[str, Any] = {
            "id": message.gmail_id,
            "threadId": message.thread_id,
            "labelIds": message.labels,
            "snippet": "",
            "historyId": str(message.history_id),
            "internalDate": str(message.internal_date),
            "sizeEstimate": len(message.raw),
        }
        fmt = args.get("format") or "full"
        if fmt == "raw":
            body["raw"] = base64.urlsafe_b64encode(message.raw).decode()
        else:
            parsed = BytesParser(policy=policy.compat32).parsebytes(
                message.raw, headersonly=fmt == "metadata"
            )
            wanted = {h.lower() for h in args.getlist("metadataHeaders")} if fmt == "metadata" else None
            headers = [
                {"name": name, "value": str(value)}
                for name, value in parsed.items()
                if wanted is None or name.lower() in wanted
            ]
            body["payload"] = {"partId": "", "mimeType": parsed.get_content_type(), "headers": headers}
        return _json(partial_response(body, args.get("fields")))

    def _batch(self, request: Request) -> Response:
        mailbox_outer = self._mailbox_for(request.headers.get("Authorization"))
        content_type = request.headers.get("Content-Type", "")
        envelope = f"Content-Type: {content_type}\r\n\r\n".encode() + request.get_data()
        message = BytesParser(policy=policy.compat32).parsebytes(envelope)
        if not message.is_multipart():
            return _google_error(400, "Failed to parse batch request", "badRequest")
        boundary = "batch_" + secrets.token_hex(8)
        out = []
        parts = message.get_payload()
        assert isinstance(parts, list)
        if len(parts) > 100:
            return _google_error(400, "Too many requests in batch", "badRequest")
        for part in parts:
            assert isinstance(part, Message)
            with self._lock:
                self.stats["batch_parts"] += 1
            content_id = str(part.get("Content-ID", "")).strip("<>")
            inner = part.get_payload()
            inner_bytes = inner.encode() if isinstance(inner, str) else str(inner).encode()
            head, _, _ = inner_bytes.replace(b"\r\n", b"\n").partition(b"\n\n")
            lines = head.decode().split("\n")
            method, target, _ = [*lines[0].split(" "), "", ""][:3]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
            }
            url = urlsplit(target)
            box = self._mailbox_for(headers.get("authorization")) or mailbox_outer
            match = _GMAIL.match(url.path)
            if box is None:
                response = _google_error(401, "Request had invalid authentication credentials.", "authError")
            elif match is None:
                response = _google_error(404, "Not Found", "notFound")
            else:
                args = _Args(parse_qs(url.query))
                with self._lock:
                    self.stats["partial_parts"] += bool(args.get("fields"))  # asked for a partial answer
                response = self._gmail(box, method, match.group(1), match.group(2), args, None)
            out.append(batch_part(boundary, content_id, response))
        body = "".join(out) + f"--{boundary}--\r\n"
        return Response(body, status=200, content_type=f"multipart/mixed; boundary={boundary}")


def batch_part(boundary: str, content_id: str, response: Response) -> str:
    """One answer of a batch, framed as Google frames it (``make bench`` sizes its floor with it)."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in response.headers.items() if k.lower() == "retry-after")
    return (
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{content_id}>\r\n\r\n"
        f"HTTP/1.1 {response.status}\r\nContent-Type: application/json; charset=UTF-8\r\n{extra}\r\n"
        f"{response.get_data(as_text=True)}\r\n"
    )


class _Args:
    """The bits of werkzeug's MultiDict the Gmail handlers use, over parse_qs output."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def get(self, key: str, default: Any = None) -> Any:
        found = self._values.get(key)
        return found[0] if found else default

    def getlist(self, key: str) -> list[str]:
        return list(self._values.get(key, []))


def _event_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = ("summary", "description", "location", "start", "end", "attendees")
    return {k: body[k] for k in fields if k in body}


def local_environment(gateway_url: str, double_url: str) -> dict[str, str]:
    """Process environment the local stack sets for the Gmail functions (never set in the cloud)."""
    return {
        "GOOGLE_API_BASE_URL": double_url,
        "GOOGLE_OAUTH_BASE_URL": double_url,
        "GOOGLE_CERTS_URL": f"{double_url}/oauth2/v1/certs",
        "GOOGLE_OAUTH_REDIRECT_URI": f"{gateway_url}/oauth/google/callback",
        "GMAIL_PUSH_AUDIENCE": f"{gateway_url}/webhooks/gmail/push",
        "GMAIL_PUSH_SERVICE_ACCOUNT": PUSH_SERVICE_ACCOUNT,
    }


def set_dev_credentials(session: Any, moto_url: str | None, secret_arn: str) -> None:
    """Store the development OAuth client in the template's Google secret (in moto)."""
    client = (
        session.client("secretsmanager", endpoint_url=moto_url)
        if moto_url
        else session.client("secretsmanager")
    )
    client.put_secret_value(
        SecretId=secret_arn,
        SecretString=json.dumps({"client_id": DEV_CLIENT_ID, "client_secret": DEV_CLIENT_SECRET}),
    )


def banner(gateway_url: str, double_url: str) -> str:
    return "\n".join(
        [
            "Gmail (Google double at " + double_url + "; nothing leaves this machine):",
            f"  Connect:   POST {gateway_url}/v1/integrations/google/authorize, then open the URL "
            f"(add &login_hint=ADDRESS; default {DEFAULT_MAILBOX})",
            "  New mail:  callproof gmail-deliver --mailbox ADDRESS FILE.eml",
        ]
    )
