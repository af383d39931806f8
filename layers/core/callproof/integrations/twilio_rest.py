"""Outbound SMS through Twilio's REST API (the ``SmsGateway`` port), with the official client.

Locally (``TWILIO_API_BASE_URL`` set, only by the local stack) the client's HTTP layer rewrites
``https://api*.twilio.com`` to the local Twilio double, which speaks the same wire format. The twilio
loggers are held at WARNING: at INFO they print request parameters (numbers and bodies).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from callproof.errors import InvalidInput, TemporarilyUnavailable
from callproof.sms.model import SendResult
from callproof.sms.ports import RecipientOptedOut

if TYPE_CHECKING:
    from twilio.http.response import Response

OPTED_OUT_CODE = 21610
_TWILIO_API = re.compile(r"^https://api(?:\.[a-z0-9-]+)*\.twilio\.com")
_quiet = logging.getLogger("twilio.http_client")
_quiet.setLevel(logging.WARNING)
logging.getLogger("twilio").setLevel(logging.WARNING)


class ProviderRefused(InvalidInput):
    code = "provider_refused"


class RedirectingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends every ``api.twilio.com`` request to ``base_url`` instead."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_quiet)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, _TWILIO_API.sub(self.base_url, url), *args, **kwargs)


class TwilioSmsGateway:
    def __init__(
        self, account_sid: str, auth_token: str, api_base_url: str | None = None, timeout: float = 10.0
    ) -> None:
        http_client = (
            RedirectingHttpClient(api_base_url, timeout)
            if api_base_url
            else TwilioHttpClient(timeout=timeout, logger=_quiet)
        )
        self.client = Client(account_sid, auth_token, http_client=http_client, environment={})

    def send(self, to: str, body: str, sender: str, status_callback: str | None) -> SendResult:
        kwargs: dict[str, Any] = {"to": to, "body": body}
        if sender.startswith("MG"):
            kwargs["messaging_service_sid"] = sender
        else:
            kwargs["from_"] = sender
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            if exc.code == OPTED_OUT_CODE:
                raise RecipientOptedOut() from None
            if 400 <= exc.status < 500 and exc.status not in (401, 403, 429):
                raise ProviderRefused(f"Twilio refused the message (error {exc.code})") from None
            raise TemporarilyUnavailable(f"Twilio answered {exc.status} (error {exc.code}); retry") from None
        except (TwilioException, RequestException):
            raise TemporarilyUnavailable("Twilio could not be reached; retry") from None
        return SendResult(message_sid=str(message.sid), status=str(message.status))
