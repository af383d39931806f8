"""The sync asks Google only for what it reads (issue 14: Gmail bytes), and the double answers
Google's ``fields`` partial responses as Gmail does."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from callproof.integrations.google_gmail import gmail_api
from callproof_local.google_double import DEFAULT_MAILBOX, GMAIL_SCOPE, GoogleDouble, partial_response

MESSAGE = (
    b"From: Ada <ada@customer.example>\r\nTo: rep@callproof.test\r\nCc: bob@customer.example\r\n"
    b"Subject: Quote\r\nMessage-ID: <q1@customer.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
    b"Content-Type: text/plain\r\n\r\n" + b"The quote, as discussed. " * 40 + b"\r\n"
)


@pytest.fixture
def double() -> Iterator[GoogleDouble]:
    started = GoogleDouble().start()
    yield started
    started.stop()


def test_partial_responses_keep_only_the_named_members() -> None:
    body = {"id": "1", "labelIds": ["INBOX"], "payload": {"mimeType": "text/plain", "headers": [1]}}
    assert partial_response(body, "id,payload/headers") == {"id": "1", "payload": {"headers": [1]}}
    assert partial_response(body, None) == body
    assert partial_response(body, "id,missing") == {"id": "1"}


def test_the_sync_fetches_only_the_fields_it_reads(double: GoogleDouble) -> None:
    gmail_id, _ = double.deliver(DEFAULT_MAILBOX, MESSAGE)
    token = json.loads(double._issue(DEFAULT_MAILBOX, GMAIL_SCOPE, None).get_data())["access_token"]
    api = gmail_api(token, api_endpoint=double.url)

    before = double.stats["bytes"]
    [meta] = api.metadata([gmail_id])
    metadata_bytes = double.stats["bytes"] - before
    assert meta.gmail_id == gmail_id
    assert {"ada@customer.example", "bob@customer.example", "rep@callproof.test"} <= set(meta.addresses)

    before = double.stats["bytes"]
    [(fetched_id, full)] = api.raw([gmail_id]).items()
    raw_bytes = double.stats["bytes"] - before
    assert (fetched_id, full.raw) == (gmail_id, MESSAGE)
    assert full.internal_date == double.mailbox(DEFAULT_MAILBOX).messages[0].internal_date
    assert double.stats["partial_parts"] == 2  # both fetches named their fields
    # No id, thread, labels, snippet, size, history id or MIME type: only the address headers.
    assert metadata_bytes < raw_bytes / 2


def test_the_history_answer_holds_only_the_added_ids_and_labels(double: GoogleDouble) -> None:
    _, start = double.deliver(DEFAULT_MAILBOX, MESSAGE)
    gmail_id, _ = double.deliver(DEFAULT_MAILBOX, MESSAGE.replace(b"q1@", b"q2@"))
    token = json.loads(double._issue(DEFAULT_MAILBOX, GMAIL_SCOPE, None).get_data())["access_token"]
    api = gmail_api(token, api_endpoint=double.url)

    before = double.stats["bytes"]
    added, latest = api.history(start)
    assert added == {gmail_id: tuple(double.mailbox(DEFAULT_MAILBOX).messages[1].labels)}
    assert latest == double.mailbox(DEFAULT_MAILBOX).history_id
    # the whole answer: {"history": [{"messagesAdded": [{"message": {"id", "labelIds"}}]}], "historyId"}
    assert double.stats["bytes"] - before < 150


def test_partial_responses_read_nested_members_and_lists() -> None:
    page = {
        "history": [
            {"id": "7", "messages": [{"id": "a"}], "messagesAdded": [{"message": {"id": "a", "x": 1}}]}
        ],
        "historyId": "9",
    }
    fields = "history(messagesAdded(message(id))),historyId,nextPageToken"
    assert partial_response(page, fields) == {
        "history": [{"messagesAdded": [{"message": {"id": "a"}}]}],
        "historyId": "9",
    }
    assert partial_response(page, "history/id,history/messages") == {
        "history": [{"id": "7", "messages": [{"id": "a"}]}]
    }
