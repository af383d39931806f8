"""Synced mail rebuilt as RFC 5322 for exports (callproof.dsar.eml)."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callproof.dsar.eml import to_eml


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


DOCUMENT: dict[str, Any] = {
    "gmail_id": "18c1",
    "thread_id": "18c0",
    "internal_date": 1_764_000_000_000,
    "headers": [
        ["Received", "from mx.example.net"],
        ["From", "Ada Lovelace <ada@example.com>"],
        ["To", "Rep One <rep@callproof.test>, bob@example.org"],
        ["Cc", "Zoë <zoe@example.com>"],
        ["Bcc", "hidden@example.com"],
        ["Date", "Tue, 25 Nov 2025 10:00:00 +0000"],
        ["Subject", "Quote for Q1 — €1,200"],
        ["Message-ID", "<abc.123@mail.example.com>"],
    ],
    "subject": "Quote for Q1 — €1,200",
    "text": "Hello,\nthe quote is attached.\n",
    "html": "<p>Hello,<br>the quote is attached.</p>",
    "attachments": [{"filename": "quote.pdf", "size": 1234, "content_type": "application/pdf"}],
}


def test_headers_are_the_stored_ones_and_both_bodies_are_parts() -> None:
    message = parse(to_eml(DOCUMENT))
    assert message["From"] == "Ada Lovelace <ada@example.com>"
    assert message["To"] == "Rep One <rep@callproof.test>, bob@example.org"
    assert message["Cc"] == "Zoë <zoe@example.com>"
    assert message["Date"] == "Tue, 25 Nov 2025 10:00:00 +0000"
    assert message["Subject"] == "Quote for Q1 — €1,200"
    assert message["Message-ID"] == "<abc.123@mail.example.com>"
    assert message["Bcc"] is None
    assert message["Received"] is None
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "the quote is attached." in plain.get_content()
    assert "quote.pdf" in plain.get_content()  # attachments were never kept: named, not dropped
    assert html.get_content().strip() == "<p>Hello,<br>the quote is attached.</p>"


def test_html_only_mail_is_a_single_html_part() -> None:
    message = parse(to_eml({**DOCUMENT, "text": None, "attachments": []}))
    assert message.get_content_type() == "text/html"


def test_missing_date_and_subject_come_from_the_index() -> None:
    document = {"headers": [["From", "a@example.com"]], "internal_date": 0, "subject": "Hi", "text": "x"}
    message = parse(to_eml(document))
    assert message["Date"] == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert message["Subject"] == "Hi"
    assert message.get_content().strip() == "x"


def test_a_stored_value_cannot_inject_a_header() -> None:
    document = {"headers": [["Subject", "Hi\r\nBcc: victim@example.com"]], "text": "x"}
    message = parse(to_eml(document))
    assert message["Bcc"] is None
    assert message["Subject"] == "Hi Bcc: victim@example.com"


@settings(deadline=None)  # no wall-clock limit: the machine may be loaded
@given(
    values=st.lists(st.text(max_size=200), min_size=6, max_size=6),
    text=st.none() | st.text(max_size=500),
    html=st.none() | st.text(max_size=500),
)
def test_any_stored_mail_becomes_a_parseable_message(
    values: list[str], text: str | None, html: str | None
) -> None:
    names = ["From", "To", "Cc", "Date", "Subject", "Message-ID"]
    raw = to_eml(
        {"headers": [list(pair) for pair in zip(names, values, strict=True)], "text": text, "html": html}
    )
    message = BytesParser(policy=policy.compat32).parsebytes(raw)  # the lenient reader mail tools use
    assert not message.defects
    # str.split() also splits on \x1c-\x1f, which the export keeps as stored: compare printable text only
    subject = " ".join(values[4].split())
    if subject and values[4].isprintable() and subject.isascii():
        assert parse(raw)["Subject"] == subject
