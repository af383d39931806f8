"""The People API adapter on googleapiclient's HTTP mocks: pages, sync tokens, EXPIRED_SYNC_TOKEN."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from googleapiclient.http import HttpMockSequence

from callproof.integrations.google_people import GooglePeopleApi
from callproof.mail.ports import SyncTokenExpired

ADA = {
    "resourceName": "people/c1",
    "etag": "%EgUBAi43PRoEAQIFByIMR0xUV3JwRmRJSGc9",
    "names": [{"displayName": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"}],
    "emailAddresses": [{"value": "ada@customer.example", "type": "work"}],
    "phoneNumbers": [{"value": "(415) 555-0100", "canonicalForm": "+14155550100"}],
    "organizations": [{"name": "Analytical Engines"}],
}
GONE = {"resourceName": "people/c2", "metadata": {"deleted": True}}


class RecordingHttp(HttpMockSequence):  # type: ignore[misc]
    """googleapiclient's mock sequence, keeping each request's query."""

    def __init__(self, iterable: list[tuple[dict[str, str], str]]) -> None:
        super().__init__(iterable)
        self.queries: list[dict[str, list[str]]] = []

    def request(self, uri: str, *args: object, **kwargs: object) -> object:
        self.queries.append(parse_qs(urlsplit(uri).query))
        return super().request(uri, *args, **kwargs)


def test_one_page_at_a_time_with_its_page_token_and_the_sync_token_on_the_last() -> None:
    sleeps: list[float] = []
    http = RecordingHttp(
        [
            ({"status": "200"}, json.dumps({"connections": [ADA], "nextPageToken": "p2", "totalItems": 2})),
            (
                {"status": "429", "retry-after": "1"},
                json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}),
            ),
            (
                {"status": "200"},
                json.dumps({"connections": [GONE], "nextSyncToken": "sync-2", "totalItems": 2}),
            ),
        ]
    )
    api = GooglePeopleApi(http, sleep=sleeps.append)
    people, next_page, next_sync = api.connections_page("sync-1", None)
    assert (next_page, next_sync) == ("p2", None)
    assert [(p.name, p.emails, p.phones, p.company, p.deleted) for p in people] == [
        ("Ada Lovelace", ("ada@customer.example",), ("(415) 555-0100",), "Analytical Engines", False),
    ]
    people, next_page, next_sync = api.connections_page("sync-1", "p2")
    assert (next_page, next_sync) == (None, "sync-2")
    assert [(p.resource_name, p.deleted) for p in people] == [("people/c2", True)]
    assert len(sleeps) == 1
    assert sleeps[0] >= 1
    first, retried, second = http.queries
    assert first["syncToken"] == ["sync-1"]
    assert "pageToken" not in first
    assert second["pageToken"] == ["p2"]
    assert second["syncToken"] == ["sync-1"]
    assert retried == second
    for query in (first, second):
        assert (query["pageSize"], query["requestSyncToken"]) == (["1000"], ["true"])
        assert query["personFields"] == ["names,emailAddresses,phoneNumbers,organizations"]


def test_an_expired_sync_token_is_reported() -> None:
    expired = {
        "error": {
            "code": 400,
            "message": "Sync token is expired. Clear local cache and retry call without the sync token.",
            "status": "FAILED_PRECONDITION",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "EXPIRED_SYNC_TOKEN"}
            ],
        }
    }
    http = HttpMockSequence([({"status": "400"}, json.dumps(expired))])
    with pytest.raises(SyncTokenExpired):
        GooglePeopleApi(http, sleep=lambda _: None).connections_page("old-token", "p2")
