"""Reading RFC 5322 messages (Gmail's ``format=raw``): headers, subject, text / HTML bodies, attachments
listed (name, size, type) but never kept."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from callproof.mail.model import Attachment, ParsedMail

ADDRESS_HEADERS = ("from", "to", "cc", "bcc", "reply-to")
MAX_BODY_CHARS = 1_000_000


def addresses_from_headers(headers: list[tuple[str, str]]) -> frozenset[str]:
    """Every address in From / To / Cc / Bcc / Reply-To, lower-cased (case of the local part ignored,
    as the contacts' emails are stored lower-cased)."""
    values = [value for name, value in headers if name.lower() in ADDRESS_HEADERS]
    return frozenset(
        address.strip().lower()
        for _, address in getaddresses(values)
        if "@" in address and len(address) <= 320
    )


def parse(raw: bytes) -> ParsedMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    headers = [(name, str(value)) for name, value in message.items()]
    text = html = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(Attachment(part.get_filename() or "", size, content_type))
        elif content_type == "text/plain" and text is None:
            text = _content(part)
        elif content_type == "text/html" and html is None:
            html = _content(part)
    return ParsedMail(
        headers=headers,
        subject=str(message.get("subject", "")),
        sender=str(message.get("from", "")),
        date=str(message["date"]) if message.get("date") else None,
        text=text,
        html=html,
        attachments=attachments,
        addresses=addresses_from_headers(headers),
    )


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset: keep what decodes
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return str(content)[:MAX_BODY_CHARS]
