"""The People API adapter on googleapiclient's HTTP mocks: pages, sync tokens, EXPIRED_SYNC_TOKEN."""

from __future__ import annotations

import json

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


def test_pages_are_read_and_the_sync_token_kept() -> None:
    sleeps: list[float] = []
    http = HttpMockSequence(
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
    people, token = GooglePeopleApi(http, sleep=sleeps.append).connections(None)
    assert token == "sync-2"
    assert [(p.name, p.emails, p.phones, p.company, p.deleted) for p in people] == [
        ("Ada Lovelace", ("ada@customer.example",), ("(415) 555-0100",), "Analytical Engines", False),
        ("", (), (), None, True),
    ]
    assert len(sleeps) == 1
    assert sleeps[0] >= 1


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
        GooglePeopleApi(http, sleep=lambda _: None).connections("old-token")
