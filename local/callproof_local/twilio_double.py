"""The local Twilio double: Twilio's Messages REST API on loopback, for `make run` and tests only.

It speaks Twilio's wire format for what CallProof uses: ``POST /2010-04-01/Accounts/{Sid}/Messages.json``
(form-encoded, HTTP basic auth with the account SID and auth token) answers 201 with a Message resource
shaped like Twilio's, or Twilio's error JSON: 21610 for a number it was told opted out (Twilio blocks
those), 20003 for bad credentials, 21602 / 21604 / 21606 for missing Body / To / From. It records what
would have been sent, and (as Twilio does) posts signed ``sent`` and ``delivered`` status callbacks to
the message's StatusCallback URL. Never used in the cloud: only the local stack starts it, and only the
local stack sets ``TWILIO_API_BASE_URL``.

Inspection endpoints (not Twilio's): ``GET /_double/messages`` (what was sent),
``POST /_double/opt-outs`` with ``Number=+1...`` (behave as if that number had replied STOP to Twilio).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from callproof.integrations.twilio_webhook import sign

DEV_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEV_AUTH_TOKEN = "local-dev-twilio-auth-token-0001"  # noqa: S105 - printed at start; not a real token
DEV_TWILIO_NUMBER = "+15005550006"  # Twilio's own magic "valid From" test number
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The double keeps quiet: the gateway already logs each request of the stack."""


def _error(status: int, code: int, message: str) -> Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(json.dumps(body), status=status, content_type="application/json")


class TwilioDouble:
    def __init__(
        self, account_sid: str = DEV_ACCOUNT_SID, auth_token: str = DEV_AUTH_TOKEN, *, callbacks: bool = True
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callbacks = callbacks
        self.sent: list[dict[str, Any]] = []
        self.opted_out: set[str] = set()
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._callback_threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> TwilioDouble:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for thread in list(self._callback_threads):
            thread.join(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path == "/_double/messages" and request.method == "GET":
            with self._lock:
                return Response(json.dumps({"messages": self.sent}), content_type="application/json")
        if request.path == "/_double/opt-outs" and request.method == "POST":
            number = request.form.get("Number", "")
            with self._lock:
                self.opted_out.add(number)
            return Response(
                json.dumps({"opted_out": sorted(self.opted_out)}), content_type="application/json"
            )
        match = _MESSAGES.match(request.path)
        if match is None or request.method != "POST":
            return _error(404, 20404, "The requested resource was not found")
        if not self._authorized(request, match.group(1)):
            return _error(401, 20003, "Authenticate")
        return self._create_message(match.group(1), request.form)

    def _authorized(self, request: Request, account_sid: str) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == account_sid == self.account_sid and secrets.compare_digest(password, self.auth_token)

    def _create_message(self, account_sid: str, form: Any) -> Response:
        to, body = form.get("To"), form.get("Body")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not (sender or service):
            return _error(400, 21606, "A 'From' phone number or MessagingServiceSid is required.")
        with self._lock:
            if to in self.opted_out:
                return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True).replace("GMT", "+0000")
        message = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(body) // 153))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.sent.append({**message, "status_callback": form.get("StatusCallback")})
        callback = form.get("StatusCallback")
        if callback and self.callbacks:
            thread = threading.Thread(
                target=self._report,
                args=(callback, sid, account_sid, to, sender or DEV_TWILIO_NUMBER),
                daemon=True,
            )
            self._callback_threads.append(thread)
            thread.start()
        return Response(json.dumps(message), status=201, content_type="application/json")

    def _report(self, url: str, sid: str, account_sid: str, to: str, sender: str) -> None:
        """Post ``sent`` then ``delivered``, signed with the auth token, as Twilio does."""
        for status in ("sent", "delivered"):
            params = {
                "AccountSid": account_sid, "ApiVersion": "2010-04-01", "From": sender, "MessageSid": sid,
                "MessageStatus": status, "SmsSid": sid, "SmsStatus": status, "To": to,
            }  # fmt: skip
            request = urllib.request.Request(  # noqa: S310 - the local gateway's URL
                url,
                data=urllib.parse.urlencode(params).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": sign(self.auth_token, url, params),
                },
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    pass
            except OSError:
                return  # the stack is stopping, or the callback was refused: Twilio would give up too


def local_environment(gateway_url: str, double_url: str) -> dict[str, str]:
    """Process environment the local stack sets for the SMS function (never set in the cloud)."""
    return {"SMS_PUBLIC_BASE_URL": gateway_url, "TWILIO_API_BASE_URL": double_url}


def set_dev_credentials(session: Any, moto_url: str, secret_arn: str) -> None:
    """Store the development account SID and auth token in the template's Twilio secret (in moto)."""
    client = session.client("secretsmanager", endpoint_url=moto_url)
    client.put_secret_value(
        SecretId=secret_arn,
        SecretString=json.dumps({"account_sid": DEV_ACCOUNT_SID, "auth_token": DEV_AUTH_TOKEN}),
    )


def banner(gateway_url: str, double_url: str) -> str:
    return "\n".join(
        [
            "SMS (Twilio double at " + double_url + "; nothing leaves this machine):",
            f"  Twilio auth token (development): {DEV_AUTH_TOKEN}",
            f"  Inbound webhook URL:  {gateway_url}/webhooks/twilio/sms",
            "  Sign a request:       callproof twilio-sign --url URL From=+14155550100 To=... Body=STOP ...",
        ]
    )
