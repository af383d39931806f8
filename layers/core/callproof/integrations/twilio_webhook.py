"""Twilio webhooks: the X-Twilio-Signature check and TwiML replies (twilio's own helpers).

Twilio signs the full URL it called plus the POST parameters (sorted by name, each name followed by
its value, repeated values sorted). The URL is our configured public URL of the endpoint,
never the Host header, which the client controls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

TWIML_CONTENT_TYPE = "text/xml"


class FormParams:
    """Form parameters in arrival order, blank values kept; twilio's validator reads ``getall``."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def __iter__(self) -> Iterator[str]:  # the validator iterates the names
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def first(self, name: str) -> str | None:
        values = self.getall(name)
        return values[0] if values else None


def signature_is_valid(auth_token: str, url: str, params: FormParams, signature: str | None) -> bool:
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def sign(auth_token: str, url: str, params: dict[str, str] | FormParams) -> str:
    """The X-Twilio-Signature Twilio would send for this request (CLI, tests, the local double)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def twiml(message: str | None) -> str:
    """An empty ``<Response/>``, or one ``<Message>`` (escaped by the TwiML builder)."""
    response = MessagingResponse()
    if message:
        response.message(message)
    return str(response)
