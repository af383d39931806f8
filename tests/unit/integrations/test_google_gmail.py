"""The Gmail adapter on googleapiclient's HTTP mocks (history, list, watch, rate limits) and, for the
multipart batch wire format, on the local Google double over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httplib2
import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpMockSequence

from callproof.integrations.google_gmail import GoogleGmailApi, backoff_seconds
from callproof.mail.ports import HistoryExpired
from callproof_local.google_double import GoogleDouble

MAIL = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


def history_page(ids: list[str], history_id: str, token: str | None = None, labels: str = "INBOX") -> str:
    page: dict[str, object] = {
        "history": [
            {
                "id": history_id,
                "messages": [{"id": i, "threadId": i}],
                "messagesAdded": [{"message": {"id": i, "threadId": i, "labelIds": [labels]}}],
            }
            for i in ids
        ],
        "historyId": history_id,
    }
    if token:
        page["nextPageToken"] = token
    return json.dumps(page)


def error(status: int, reason: str) -> str:
    return json.dumps(
        {
            "error": {
                "code": status,
                "message": reason,
                "errors": [{"reason": reason, "domain": "usageLimits"}],
            }
        }
    )


def api(responses: list[tuple[dict[str, str], str]], sleeps: list[float] | None = None) -> GoogleGmailApi:
    sleeps = [] if sleeps is None else sleeps
    return GoogleGmailApi(HttpMockSequence(responses), sleep=sleeps.append)


def test_history_reads_every_page_and_skips_drafts() -> None:
    gmail = api(
        [
            ({"status": "200"}, history_page(["a1", "a2"], "205", token="p2")),
            ({"status": "200"}, history_page(["d1"], "206", token="p3", labels="DRAFT")),
            ({"status": "200"}, history_page(["a3", "a1"], "207")),
        ]
    )
    added, latest = gmail.history(200)
    assert list(added) == ["a1", "a2", "a3"]  # in order, each once, with the labels it came with
    assert set(added.values()) == {("INBOX",)}
    assert latest == 207
    assert gmail.quota_units == 3 * 2


def test_history_404_means_expired() -> None:
    gmail = api([({"status": "404"}, error(404, "notFound"))])
    with pytest.raises(HistoryExpired):
        gmail.history(1)


def test_rate_limits_back_off_honouring_retry_after() -> None:
    sleeps: list[float] = []
    gmail = api(
        [
            ({"status": "429", "retry-after": "3"}, error(429, "rateLimitExceeded")),
            ({"status": "403"}, error(403, "userRateLimitExceeded")),
            ({"status": "503"}, "backend error"),
            ({"status": "200"}, history_page(["a1"], "300")),
        ],
        sleeps,
    )
    assert gmail.history(299) == ({"a1": ("INBOX",)}, 300)
    assert len(sleeps) == 3
    assert sleeps[0] >= 3
    assert all(s <= 16 for s in sleeps)


def test_other_403s_are_not_retried() -> None:
    sleeps: list[float] = []
    gmail = api([({"status": "403"}, error(403, "insufficientPermissions"))], sleeps)
    with pytest.raises(HttpError):
        gmail.history(1)
    assert sleeps == []


def test_backoff_is_capped_and_jittered() -> None:
    assert all(0 <= backoff_seconds(attempt, None) <= 16 for attempt in range(20))
    assert backoff_seconds(0, "10") == 10
    assert backoff_seconds(0, "100") == 16


def test_watch_stop_profile_and_list() -> None:
    gmail = api(
        [
            ({"status": "200"}, json.dumps({"historyId": "1234", "expiration": "1795000000000"})),
            ({"status": "204"}, ""),
            ({"status": "200"}, json.dumps({"emailAddress": "rep@x.example", "historyId": "1240"})),
            (
                {"status": "200"},
                json.dumps({"messages": [{"id": "m1", "threadId": "t1"}], "nextPageToken": "n"}),
            ),
            (
                {"status": "200"},
                json.dumps({"messages": [{"id": "m2", "threadId": "t2"}], "resultSizeEstimate": 2}),
            ),
        ]
    )
    assert gmail.watch("projects/p/topics/t", ["INBOX", "SENT"]) == (1234, 1795000000000)
    gmail.stop()
    assert gmail.profile() == ("rep@x.example", 1240)
    assert gmail.list_message_ids(30, "INBOX") == ["m1", "m2"]


@pytest.fixture
def double() -> Iterator[GoogleDouble]:
    google = GoogleDouble().start()
    yield google
    google.stop()


def authorized(double: GoogleDouble, mailbox: str) -> GoogleGmailApi:
    token = "ya29.test"
    double._access[token] = mailbox  # the double's token table: as if OAuth had run
    http = httplib2.Http()
    original = http.request

    def request(
        uri: str,
        method: str = "GET",
        body: object = None,
        headers: dict[str, str] | None = None,
        **kw: object,
    ) -> object:
        headers = dict(headers or {})
        headers["authorization"] = f"Bearer {token}"
        return original(uri, method, body=body, headers=headers, **kw)

    http.request = request  # type: ignore[method-assign]
    return GoogleGmailApi(http, double.url, sleep=lambda _: None)


def test_batches_of_50_metadata_then_raw_over_multipart(double: GoogleDouble) -> None:
    mailbox = "rep@callproof.test"
    raw = (MAIL / "contact.eml").read_bytes()
    ids = [double.deliver(mailbox, raw)[0] for _ in range(120)]
    gmail = authorized(double, mailbox)
    before = double.stats["requests"]
    metas = gmail.metadata([*ids, "ffffffff"])  # a deleted message is simply absent
    assert len(metas) == 120
    assert double.stats["requests"] - before == 3  # ceil(121 / 50) batch requests
    assert metas[0].addresses == frozenset(
        {"ada@customer.example", "rep@callproof.test", "someone@else.example"}
    )
    full = gmail.raw(ids[:3])
    assert full[ids[0]].raw == raw
    assert full[ids[0]].internal_date == 1795773600000


def test_rate_limited_batch_parts_are_resent_alone(double: GoogleDouble) -> None:
    mailbox = "rep@callproof.test"
    ids = [double.deliver(mailbox, (MAIL / "personal.eml").read_bytes())[0] for _ in range(5)]
    gmail = authorized(double, mailbox)
    double._throttle = 2  # the first two parts answer 429
    metas = gmail.metadata(ids)
    assert sorted(m.gmail_id for m in metas) == sorted(ids)
    assert double.stats["batch_parts"] == 5 + 2
