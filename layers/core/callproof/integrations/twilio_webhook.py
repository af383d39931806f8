"""Twilio webhooks: the X-Twilio-Signature check and TwiML replies (twilio's own helpers).

Twilio signs the full URL it called, query string included, plus the POST parameters (sorted by name,
each name followed by its value, repeated values sorted). The URL is our configured public URL of the
endpoint, never the Host header, which the client controls.

API Gateway's REST proxy event does not carry the raw query string: only its parameters, decoded
(``+`` and ``%20`` both become a space) and grouped by name. ``called_urls`` therefore rebuilds the
query in the few encodings a webhook URL is written in (a space as ``+`` or ``%20``; the characters
``/ : @ , ; ! $ ' ( ) *`` escaped or left as they are), in the order API Gateway gives the names and
in sorted order. Every candidate carries exactly the parameters the handler can read,
so a signature is only valid for the query it covered; a URL written some other way (a name repeated
around another, ``?flag`` without ``=``, needless escapes) fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from urllib.parse import quote, quote_plus

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


_KEPT_IN_QUERIES = "/:@,;!$'()*"  # RFC 3986 allows them unescaped in a query; & = + keep their meaning
_ENCODINGS: tuple[Callable[[str], str], ...] = (
    lambda text: quote_plus(text, safe=""),  # urlencode's form encoding: a space is "+"
    lambda text: quote(text, safe=""),  # a space is "%20"
    lambda text: quote_plus(text, safe=_KEPT_IN_QUERIES),
    lambda text: quote(text, safe=_KEPT_IN_QUERIES),
)


def called_urls(public_base_url: str, path: str, query: Mapping[str, Sequence[str]] | None) -> list[str]:
    """The URLs Twilio may have signed for a call to ``path`` with ``query`` (API Gateway's
    ``multiValueQueryStringParameters``), at our configured public base URL."""
    url = public_base_url.rstrip("/") + path
    pairs = [(name, value) for name, values in (query or {}).items() for value in values]
    if not pairs:
        return [url]
    orders = (pairs, sorted(pairs, key=lambda pair: pair[0]))  # stable: repeated values keep their order
    candidates = (
        url + "?" + "&".join(f"{encode(name)}={encode(value)}" for name, value in order)
        for order in orders
        for encode in _ENCODINGS
    )
    return list(dict.fromkeys(candidates))


def signature_is_valid(
    auth_token: str, urls: str | Sequence[str], params: FormParams, signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's for ``params`` posted to ``urls`` (one URL, or the candidates
    of ``called_urls``: any one of them)."""
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    candidates = [urls] if isinstance(urls, str) else urls
    return any(validator.validate(url, params, signature) for url in candidates)


def sign(auth_token: str, url: str, params: dict[str, str] | FormParams) -> str:
    """The X-Twilio-Signature Twilio would send for this request (CLI, tests, the local double)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def twiml(message: str | None) -> str:
    """An empty ``<Response/>``, or one ``<Message>`` (escaped by the TwiML builder)."""
    response = MessagingResponse()
    if message:
        response.message(message)
    return str(response)
