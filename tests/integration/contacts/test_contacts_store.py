"""The DynamoDB contact store on moto, with throttling and races injected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from callproof.contacts.model import Contact, ContactType
from callproof.errors import Conflict, TemporarilyUnavailable
from callproof.phones import Phone
from callproof.store import dynamo
from callproof.store.contacts_dynamo import DynamoContactStore

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def contact(n: int, org: str = "org-a", phone: str = "+14155550100") -> Contact:
    return Contact(
        id=f"{n:032x}",
        org_id=org,
        name=f"P{n}",
        type=ContactType.CUSTOMER,
        owner_user_id="rep-1",
        created_at=NOW,
        updated_at=NOW,
        emails=(f"p{n}@x.io",),
        phones=(Phone(phone, phone),),
    )


class ThrottlingClient:
    """Delegates to a real (moto) client; BatchGetItem leaves keys unprocessed for the first calls."""

    def __init__(self, client: Any, throttled_calls: int) -> None:
        self._client = client
        self.throttled_calls = throttled_calls
        self.batch_calls: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        self.batch_calls.append(len(request["Keys"]))
        if self.throttled_calls > 0:
            self.throttled_calls -= 1
            keys = request["Keys"]
            keep, later = (keys[::2], keys[1::2]) if len(keys) > 1 else ([], keys)
            response = (
                self._client.batch_get_item(RequestItems={table: {**request, "Keys": keep}})
                if keep
                else {"Responses": {table: []}}
            )
            response["UnprocessedKeys"] = {table: {**request, "Keys": later}} if later else {}
            return response  # type: ignore[no-any-return]
        return self._client.batch_get_item(RequestItems=RequestItems)  # type: ignore[no-any-return]


@pytest.fixture
def table(aws_stack: dict[str, Any]) -> str:
    return aws_stack["ContactsTable"].ref  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo, "backoff_sleep", lambda attempt: None)


def test_unprocessed_keys_are_retried_until_every_contact_is_found(table: str) -> None:
    store = DynamoContactStore(boto3.client("dynamodb"), table)
    contacts = [contact(n, phone=f"+1202555{n:04d}") for n in range(250)]
    assert all(store.create(contacts))
    throttling = ThrottlingClient(boto3.client("dynamodb"), throttled_calls=3)
    found = DynamoContactStore(throttling, table).get_many("org-a", (c.id for c in contacts))
    assert {c.id for c in found} == {c.id for c in contacts}
    assert max(throttling.batch_calls) <= 100
    assert len(throttling.batch_calls) > 3  # the throttled calls were followed by retries


def test_persistent_throttling_is_reported_not_swallowed(table: str) -> None:
    store = DynamoContactStore(boto3.client("dynamodb"), table)
    store.create([contact(1), contact(2)])
    throttling = ThrottlingClient(boto3.client("dynamodb"), throttled_calls=1000)
    with pytest.raises(TemporarilyUnavailable):
        DynamoContactStore(throttling, table).lookup_by_emails("org-a", ["p1@x.io", "p2@x.io"])


def test_lookup_uses_one_call_per_100_keys(table: str) -> None:
    counting = ThrottlingClient(boto3.client("dynamodb"), throttled_calls=0)
    DynamoContactStore(counting, table).lookup_by_phones("org-a", [f"+1202555{n:04d}" for n in range(250)])
    assert counting.batch_calls == [100, 100, 50]


def test_a_pack_with_one_existing_contact_stores_all_the_others(table: str) -> None:
    store = DynamoContactStore(boto3.client("dynamodb"), table)
    assert store.create([contact(5, phone="+12025550005")]) == [True]
    batch = [contact(n, phone=f"+1202555{n:04d}") for n in range(1, 10)]
    assert store.create(batch) == [n != 5 for n in range(1, 10)]
    assert len(store.get_many("org-a", (c.id for c in batch))) == 9


def test_shared_numbers_and_tenant_isolation(table: str) -> None:
    store = DynamoContactStore(boto3.client("dynamodb"), table)
    store.create([contact(1), contact(2), contact(3, org="org-b")])
    assert store.lookup_by_phones("org-a", ["+14155550100"]) == {
        "+14155550100": {contact(1).id, contact(2).id}
    }
    assert store.lookup_by_phones("org-b", ["+14155550100"]) == {"+14155550100": {contact(3).id}}
    assert store.get("org-b", contact(1).id) is None


def test_stale_versions_conflict_and_change_nothing(table: str) -> None:
    store = DynamoContactStore(boto3.client("dynamodb"), table)
    original = contact(1)
    store.create([original])
    moved = Contact(**{**_fields(original), "phones": (Phone("+12025550143", "+12025550143"),), "version": 2})
    store.replace(original, moved)
    with pytest.raises(Conflict):
        store.replace(original, Contact(**{**_fields(original), "name": "stale", "version": 2}))
    with pytest.raises(Conflict):
        store.delete(original)
    assert store.get("org-a", original.id) == moved
    assert store.lookup_by_phones("org-a", ["+14155550100", "+12025550143"]) == {
        "+12025550143": {original.id}
    }


def test_transient_transaction_conflicts_are_retried(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("dynamodb")
    real = client.transact_write_items
    attempts = []

    def conflicting(**kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) < 3:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", conflicting)
    assert DynamoContactStore(client, table).create([contact(1)]) == [True]
    assert len(attempts) == 3


def _fields(value: Contact) -> dict[str, Any]:
    return {slot: getattr(value, slot) for slot in Contact.__slots__}
