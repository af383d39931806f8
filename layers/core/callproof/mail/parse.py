"""Reading RFC 5322 messages (Gmail's ``format=raw``): headers, subject, text / HTML bodies, attachments
listed (name, size, type) but never kept."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from callproof.mail.model import Attachment, ParsedMail

ADDRESS_HEADERS = ("from", "to", "cc", "bcc", "reply-to")
MAX_BODY_CHARS = 1_000_000
_MSG_ID = re.compile(r"<[^<>\s]{1,900}>")


def addresses_from_headers(headers: list[tuple[str, str]]) -> frozenset[str]:
    """Every address in From / To / Cc / Bcc / Reply-To, lower-cased (case of the local part ignored,
    as the contacts' emails are stored lower-cased)."""
    values = [value for name, value in headers if name.lower() in ADDRESS_HEADERS]
    return frozenset(
        address.strip().lower()
        for _, address in getaddresses(values)
        if "@" in address and len(address) <= 320
    )


def _header_addresses(headers: list[tuple[str, str]], names: tuple[str, ...]) -> frozenset[str]:
    return addresses_from_headers([(n, v) for n, v in headers if n.lower() in names])


def _message_ids(value: str | None) -> list[str]:
    return _MSG_ID.findall(value or "")


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
    own = _message_ids(str(message.get("message-id", "")))
    root = _message_ids(str(message.get("references", ""))) or _message_ids(
        str(message.get("in-reply-to", ""))
    )
    senders = sorted(_header_addresses(headers, ("from",)))
    return ParsedMail(
        headers=headers,
        subject=str(message.get("subject", "")),
        sender=str(message.get("from", "")),
        date=str(message["date"]) if message.get("date") else None,
        text=text,
        html=html,
        attachments=attachments,
        addresses=addresses_from_headers(headers),
        message_id=own[0] if own else "",
        thread_root=(root or own or [""])[0],
        from_address=senders[0] if senders else "",
        to_addresses=_header_addresses(headers, ("to", "cc")),
    )


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset: keep what decodes
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return str(content)[:MAX_BODY_CHARS]
