"""The retention domain's adapters: each store's purge (``ExpiringStore``), the org's chosen periods
(the org settings item) and the audit chain that records each run's counts.

A store's purge finds its expired items through a key or index ordered by date, one page at a time,
and never scans:

- call logs: CallLogsTable's ``ByOrgTime`` index (``org_calls_pk``, ``time_sk``); orgs: ``pk=CALL_ORGS``.
- mail: each org's timeline on MailTable (``pk=ORG#<org>``, ``sk=ODATE#<internal date ms>#<id>``, the
  receipt date); the message's index items and every S3 version of its body go; orgs: the
  ``RETENTION#mail`` registry (put when a mailbox connects, never removed) and the connected
  mailboxes' registry (``GMAIL#REGISTRY``, for mailboxes connected before it existed).
- devices and their locations: CallLogsTable's ``DevicesByOrgSeen`` index (``device_org_pk``,
  ``seen_sk`` = last update); a device that holds a location is in the ``#LOCATED`` partition, so
  locations past 90 days are found without reading the others; orgs: ``RETENTION#devices``. Each
  item changes only if it was not seen again meanwhile (a condition on ``seen_sk``).
- SMS thread messages: SmsTable's ``MessagesByOrgTime`` index (``sms_org_pk``, ``time_sk``); orgs:
  ``RETENTION#sms``. The consent ledger is not touched (it proves what a number agreed to).
- closed data-subject requests: DsarTable's ``ClosedByOrgTime`` index (``closed_pk``, ``closed_sk``);
  the request item and its once-markers go; the audit chain stays (ids and counts only, append-only);
  orgs: ``RETENTION#dsar_requests``.
- contacts nobody touched (opt-in): ContactsTable's ``ContactsByOrgUpdated`` index (``org_contacts_pk``,
  ``updated_sk``); each contact is deleted with its lookup items in one transaction conditioned on its
  version (a contact edited meanwhile stays); orgs: ``RETENTION#contacts`` (the orgs that opted in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import Conflict
from callproof.retention.ports import PurgedPage
from callproof.store.calls_dynamo import DEVICES_BY_ORG_SEEN, DynamoCallLogStore, device_org_pk
from callproof.store.contacts_dynamo import (
    CONTACTS_BY_ORG_UPDATED,
    DynamoContactStore,
    org_contacts_pk,
    updated_sk,
)
from callproof.store.dsar_dynamo import CLOSED_BY_ORG_TIME, closed_pk, closed_sk
from callproof.store.dynamo import batch_write, delete_keys, from_item, key_of, partition, time_sk, to_item
from callproof.store.gmail_integrations_dynamo import REGISTRY_PK
from callproof.store.mail_index_dynamo import DynamoMailIndex, email_record, org_pk
from callproof.store.retention_registry_dynamo import OrgRegistry
from callproof.store.sms_dynamo import MESSAGES_BY_ORG_TIME, message_time_sk, sms_org_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.mail_bodies_s3 import S3MailBlobs

AUDIT_ACTOR = "system:retention"
AUDIT_ACTION = "retention.purged"


class CallLogExpiry:
    """Call logs older than the cutoff by their start time (``ByOrgTime``, keys only)."""

    name = "call_logs"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._calls = DynamoCallLogStore(client, table)

    def orgs(self) -> Iterator[str]:
        return self._calls.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        batch = self._calls.older_than(org_id, cutoff, limit)
        if not batch:
            return PurgedPage(0, more=False)
        failed = self._calls.delete_many(org_id, batch)
        return PurgedPage(len(batch) - len(failed), more=len(batch) == limit and not failed)


class MailExpiry:
    """Synced messages received before the cutoff: bodies (every version) first, then the index."""

    name = "mail"

    def __init__(self, client: DynamoDBClient, table: str, blobs: S3MailBlobs) -> None:
        self._client = client
        self._table = table
        self._index = DynamoMailIndex(client, table)
        self._blobs = blobs
        self._registry = OrgRegistry(client, table, "mail")

    def orgs(self) -> Iterator[str]:
        seen: set[str] = set()
        for org_id in self._registry.orgs():
            seen.add(org_id)
            yield org_id
        for org_id in self._mailbox_orgs():
            if org_id not in seen:
                seen.add(org_id)
                yield org_id

    def _mailbox_orgs(self) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": REGISTRY_PK}),
            "ProjectionExpression": "sk",
        }
        while True:
            response = self._client.query(**request)
            yield from (str(from_item(item)["sk"]).partition("#")[0] for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        before = f"ODATE#{int(cutoff.timestamp() * 1000):013d}"
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :before",
            ExpressionAttributeValues=to_item({":pk": org_pk(org_id), ":first": "ODATE#", ":before": before}),
            ConsistentRead=True,
            Limit=limit,
        )
        records = [email_record(org_id, from_item(item)) for item in response.get("Items", [])]
        if not records:
            return PurgedPage(0, more=False)
        self._blobs.delete_all_versions([record.object_key for record in records])
        self._index.delete(records)  # raises if the database throttles: the next run goes on
        return PurgedPage(len(records), more=len(records) == limit)


class _DeviceIndex:
    """Pages of an org's devices last seen before a cutoff, in one ``DevicesByOrgSeen`` partition."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._registry = OrgRegistry(client, table, "devices")

    def orgs(self) -> Iterator[str]:
        return self._registry.orgs()

    def page(self, org_partition: str, cutoff: datetime, limit: int) -> list[dict[str, Any]]:
        response = self._client.query(
            TableName=self._table,
            IndexName=DEVICES_BY_ORG_SEEN,
            KeyConditionExpression="device_org_pk = :org AND seen_sk < :cutoff",
            ExpressionAttributeValues=to_item({":org": org_partition, ":cutoff": time_sk(cutoff, "")}),
            Limit=limit,
        )
        return response.get("Items", [])

    def delete(self, item: dict[str, Any]) -> bool:
        """Delete the device, unless it was seen again meanwhile (False then)."""
        return self._unless_seen(self._client.delete_item, item, {})

    def unlocate(self, item: dict[str, Any], org_id: str) -> bool:
        """Remove the device's location (it leaves ``#LOCATED``), unless it was seen again meanwhile."""
        return self._unless_seen(
            self._client.update_item,
            item,
            {
                "UpdateExpression": "REMOVE #loc SET device_org_pk = :unlocated",
                "ExpressionAttributeNames": {"#loc": "location"},
                "ExpressionAttributeValues": to_item({":unlocated": device_org_pk(org_id, located=False)}),
            },
        )

    def _unless_seen(self, write: Callable[..., Any], item: dict[str, Any], update: dict[str, Any]) -> bool:
        values = {**update.pop("ExpressionAttributeValues", {}), ":seen": item["seen_sk"]}
        try:
            write(
                TableName=self._table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                ConditionExpression="seen_sk = :seen",
                ExpressionAttributeValues=values,
                **update,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DeviceExpiry:
    """Devices not seen (re-registered) since the cutoff: the whole device item goes."""

    name = "devices"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._index = _DeviceIndex(client, table)

    def orgs(self) -> Iterator[str]:
        return self._index.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        found = [
            item
            for located in (True, False)
            for item in self._index.page(device_org_pk(org_id, located), cutoff, limit)
        ][:limit]
        deleted = sum(1 for item in found if self._index.delete(item))
        return PurgedPage(deleted, more=len(found) == limit)


class DeviceLocationExpiry:
    """Locations of devices not seen since the cutoff: the location goes, the device stays."""

    name = "device_locations"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._index = _DeviceIndex(client, table)

    def orgs(self) -> Iterator[str]:
        return self._index.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        found = self._index.page(device_org_pk(org_id, located=True), cutoff, limit)
        removed = sum(1 for item in found if self._index.unlocate(item, org_id))
        return PurgedPage(removed, more=len(found) == limit)


class SmsExpiry:
    """Thread messages older than the cutoff (BatchWriteItem deletes; throttled ones stay for the next run)."""

    name = "sms"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._registry = OrgRegistry(client, table, "sms")

    def orgs(self) -> Iterator[str]:
        return self._registry.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        response = self._client.query(
            TableName=self._table,
            IndexName=MESSAGES_BY_ORG_TIME,
            KeyConditionExpression="sms_org_pk = :org AND time_sk < :cutoff",
            ExpressionAttributeValues=to_item(
                {":org": sms_org_pk(org_id), ":cutoff": message_time_sk(cutoff, "")}
            ),
            Limit=limit,
        )
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in response.get("Items", [])]
        if not keys:
            return PurgedPage(0, more=False)
        failed = batch_write(self._client, self._table, [{"DeleteRequest": {"Key": key}} for key in keys])
        return PurgedPage(len(keys) - len(failed), more=len(keys) == limit and not failed)


class ClosedRequestExpiry:
    """Data-subject requests closed before the cutoff: the record and its once-markers."""

    name = "dsar_requests"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._registry = OrgRegistry(client, table, "dsar_requests")

    def orgs(self) -> Iterator[str]:
        return self._registry.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        response = self._client.query(
            TableName=self._table,
            IndexName=CLOSED_BY_ORG_TIME,
            KeyConditionExpression="closed_pk = :org AND closed_sk < :cutoff",
            ExpressionAttributeValues=to_item({":org": closed_pk(org_id), ":cutoff": closed_sk(cutoff, "")}),
            Limit=limit,
        )
        requests = [from_item(item) for item in response.get("Items", [])]
        if not requests:
            return PurgedPage(0, more=False)
        markers = [
            key_of(marker)
            for request in requests
            for marker in partition(self._client, self._table, f"{request['pk']}#{request['sk']}", "ONCE#")
        ]
        delete_keys(self._client, self._table, markers)  # raises if throttled: the next run goes on
        delete_keys(self._client, self._table, [key_of(request) for request in requests])
        return PurgedPage(len(requests), more=len(requests) == limit)


class UntouchedContactExpiry:
    """Contacts not updated since the cutoff, for the orgs that opted in (the service skips the rest)."""

    name = "contacts"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._contacts = DynamoContactStore(client, table)
        self._registry = OrgRegistry(client, table, "contacts")

    def orgs(self) -> Iterator[str]:
        return self._registry.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        response = self._client.query(
            TableName=self._table,
            IndexName=CONTACTS_BY_ORG_UPDATED,
            KeyConditionExpression="org_contacts_pk = :org AND updated_sk < :cutoff",
            ExpressionAttributeValues=to_item(
                {":org": org_contacts_pk(org_id), ":cutoff": updated_sk(cutoff, "")}
            ),
            Limit=limit,
        )
        ids = [str(from_item(item)["sk"]).removeprefix("CONTACT#") for item in response.get("Items", [])]
        deleted = 0
        for contact in self._contacts.get_many(org_id, ids):
            if contact.updated_at >= cutoff:
                continue  # touched since the index was read
            try:
                self._contacts.delete(contact)
            except Conflict:
                continue  # changed meanwhile: kept
            deleted += 1
        return PurgedPage(deleted, more=len(ids) == limit)


class AuditedRetention:
    """Each org's counts of a run as one entry of its audit chain (ids and counts only)."""

    def __init__(self, audit: DynamoAuditLog) -> None:
        self._audit = audit

    def record(self, org_id: str, run_key: str, counts: Mapping[str, int]) -> None:
        self._audit.append(org_id, run_key, AUDIT_ACTOR, AUDIT_ACTION, run_key, dict(counts))
