"""Synced mail back to RFC 5322 for an export: the stored JSON body (``callproof.mail.sync`` writes it:
headers as [name, value] pairs, subject, text, html) becomes one ``.eml`` file a mail client opens.

Only the headers that identify and address the message are written (From, To, Cc, Date, Subject,
Message-ID), as they were stored; attachments were never kept (only listed), so the message carries a
note naming them instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email import policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

EXPORTED_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID")
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]+[ \t]*")  # what str.splitlines() splits on
# Every header is written as the unstructured text it was stored as: the structured (address, msg-id)
# header classes re-parse values and fail on some malformed ones real mail carries; an export must
# reproduce what was kept, not repair or drop it.
_POLICY = policy.SMTP.clone(
    header_factory=HeaderRegistry(default_class=UnstructuredHeader, use_default_map=False)
)


def _header_value(value: object) -> str:
    """One line, as RFC 5322 wants after unfolding (a stored value never carries a line break)."""
    return _LINE_BREAKS.sub(" ", str(value)).strip()


def _stored_headers(document: Mapping[str, Any]) -> dict[str, str]:
    """The exported headers as stored (first occurrence of each), names in their canonical case."""
    wanted = {name.lower(): name for name in EXPORTED_HEADERS}
    found: dict[str, str] = {}
    pairs: Sequence[Any] = document.get("headers") or ()
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        canonical = wanted.get(str(pair[0]).lower())
        if canonical and canonical not in found:
            found[canonical] = _header_value(pair[1])
    return found


def to_eml(document: Mapping[str, Any]) -> bytes:
    """The message as RFC 5322 bytes: stored headers (Date from Gmail's internal date and Subject from
    the stored subject when the headers lack them), a text part and / or an HTML alternative."""
    message = EmailMessage(policy=_POLICY)
    headers = _stored_headers(document)
    if "Date" not in headers and isinstance(document.get("internal_date"), int):
        headers["Date"] = format_datetime(datetime.fromtimestamp(document["internal_date"] / 1000, UTC))
    if "Subject" not in headers and document.get("subject"):
        headers["Subject"] = _header_value(document["subject"])
    for name in EXPORTED_HEADERS:
        if name in headers:
            message[name] = headers[name]
    text, html = document.get("text"), document.get("html")
    attachments = [
        str(a.get("filename") or "") for a in document.get("attachments") or () if isinstance(a, Mapping)
    ]
    if attachments:
        note = (
            "\n\n[Attachments not kept by CallProof: "
            + ", ".join(a or "(unnamed)" for a in attachments)
            + "]\n"
        )
        text = (text or "") + note
    if text is not None or html is None:
        message.set_content(str(text or ""), subtype="plain", charset="utf-8")
        if html is not None:
            message.add_alternative(str(html), subtype="html", charset="utf-8")
    else:
        message.set_content(str(html), subtype="html", charset="utf-8")
    return message.as_bytes()
