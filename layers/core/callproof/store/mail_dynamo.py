"""Gmail sync's DynamoDB and S3 adapters (MailTable, DataBucket) and its SQS queue.

MailTable layout (every key begins with the org, but one):

- integration:  pk=ORG#<org>  sk=GMAIL#USER#<user>      mailbox, status, history_id (the cursor),
                                                         watch_expiration, sealed token (binary)
- mailbox route: pk=MAILBOX#<sha256(address)> sk=ROUTE   org_id, user_id: Pub/Sub pushes name only the
                 address, so this is the one key without the org (hashed: no address in a key)
- registry:     pk=GMAIL#REGISTRY sk=<org>#<user>       one per connected mailbox, for the hourly
                 maintenance (watch renewal, fallback poll); the other key without the org
- OAuth state:  pk=ORG#<org>  sk=OAUTHSTATE#<nonce>     (callproof.integrations.google_oauth; TTL)
- message:      pk=ORG#<org>  sk=EMAIL#<user>.<gmail id> summary, contact ids, S3 key
- contact link: pk=ORG#<org>  sk=CMAIL#<contact>#<internal date ms, 13 digits>#<email id>  summary

Bodies live in S3 under ``orgs/<org>/mail/<user>/<gmail id>.json`` (SSE-KMS, versioned bucket).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import Conflict, TemporarilyUnavailable
from callproof.mail.model import Attachment, EmailPage, EmailRecord, Integration, IntegrationStatus
from callproof.oauth.model import SealedToken
from callproof.store.contacts_dynamo import DynamoContactStore, contact_key
from callproof.store.dynamo import (
    BatchIncomplete,
    batch_get,
    batch_write,
    decode_cursor,
    encode_cursor,
    from_item,
    to_item,
)
from callproof.store.parallel import ordered_map

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

MAX_LINKS = 99  # one transaction: the message item and up to 99 contact links


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def integration_key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"GMAIL#USER#{user_id}"}


def route_key(mailbox: str) -> dict[str, str]:
    digest = hashlib.sha256(mailbox.strip().lower().encode()).hexdigest()
    return {"pk": f"MAILBOX#{digest}", "sk": "ROUTE"}


REGISTRY_PK = "GMAIL#REGISTRY"


def registry_key(org_id: str, user_id: str) -> dict[str, str]:
    """The watch registry: the schedules' way to every mailbox without a Scan (one item per mailbox)."""
    return {"pk": REGISTRY_PK, "sk": f"{org_id}#{user_id}"}


def message_key(org_id: str, email_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"EMAIL#{email_id}"}


def link_key(org_id: str, contact_id: str, internal_date: int, email_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"CMAIL#{contact_id}#{internal_date:013d}#{email_id}"}


def _integration(item: Mapping[str, Any]) -> Integration:
    return Integration(
        org_id=str(item["pk"]).removeprefix("ORG#"),
        user_id=str(item["sk"]).removeprefix("GMAIL#USER#"),
        mailbox=item["mailbox"],
        status=IntegrationStatus(item["status"]),
        history_id=int(item["history_id"]),
        watch_expiration=int(item["watch_expiration"]),
        connected_at=item["connected_at"],
        status_reason=item.get("status_reason"),
        last_push_at=item.get("last_push_at"),
        last_sync_at=item.get("last_sync_at"),
    )


def _summary(record: EmailRecord) -> dict[str, Any]:
    return {
        "email_id": record.email_id,
        "user_id": record.user_id,
        "gmail_id": record.gmail_id,
        "thread_id": record.thread_id,
        "internal_date": record.internal_date,
        "subject": record.subject,
        "sender": record.sender,
        "contact_ids": list(record.contact_ids),
        "object_key": record.object_key,
        "attachments": [
            {"filename": a.filename, "size": a.size, "content_type": a.content_type}
            for a in record.attachments
        ],
    }


def email_record(org_id: str, item: Mapping[str, Any]) -> EmailRecord:
    return EmailRecord(
        org_id=org_id,
        email_id=item["email_id"],
        user_id=item["user_id"],
        gmail_id=item["gmail_id"],
        thread_id=item["thread_id"],
        internal_date=int(item["internal_date"]),
        subject=item.get("subject", ""),
        sender=item.get("sender", ""),
        contact_ids=tuple(item.get("contact_ids") or ()),
        object_key=item["object_key"],
        attachments=[Attachment(**a) for a in item.get("attachments") or []],
    )


class DynamoIntegrationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def get(self, org_id: str, user_id: str) -> Integration | None:
        item = self._get(integration_key(org_id, user_id))
        return _integration(item) if item else None

    def find_by_mailbox(self, mailbox: str) -> Integration | None:
        route = self._get(route_key(mailbox))
        if route is None:
            return None
        integration = self.get(route["org_id"], route["user_id"])
        return integration if integration and integration.mailbox == mailbox.strip().lower() else None

    def connect(self, integration: Integration, token: SealedToken) -> None:
        old = self.get(integration.org_id, integration.user_id)
        item = {
            **integration_key(integration.org_id, integration.user_id),
            "entity": "gmail_integration",
            "mailbox": integration.mailbox,
            "status": integration.status.value,
            "history_id": integration.history_id,
            "watch_expiration": integration.watch_expiration,
            "connected_at": integration.connected_at,
            **token.to_attributes(),
        }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": to_item(item)}},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            **route_key(integration.mailbox),
                            "entity": "gmail_route",
                            "org_id": integration.org_id,
                            "user_id": integration.user_id,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR (org_id = :o AND user_id = :u)",
                    "ExpressionAttributeValues": to_item(
                        {":o": integration.org_id, ":u": integration.user_id}
                    ),
                }
            },
        ]
        actions.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {**registry_key(integration.org_id, integration.user_id), "entity": "gmail_registry"}
                    ),
                }
            }
        )
        if old is not None and old.mailbox != integration.mailbox:
            actions.append({"Delete": {"TableName": self._table, "Key": to_item(route_key(old.mailbox))}})
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise Conflict("this Gmail mailbox is already connected by another user") from None

    def token(self, org_id: str, user_id: str) -> SealedToken | None:
        item = self._get(integration_key(org_id, user_id))
        return SealedToken.from_attributes(item) if item else None

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None:
        attributes = token.to_attributes()
        self._update(
            org_id,
            user_id,
            "SET " + ", ".join(f"{name} = :{name}" for name in attributes),
            {f":{name}": value for name, value in attributes.items()},
        )

    def _update(
        self, org_id: str, user_id: str, expression: str, values: dict[str, Any], condition: str = ""
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(integration_key(org_id, user_id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)" + (f" AND {condition}" if condition else ""),
                ExpressionAttributeValues=to_item(values),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def advance(self, org_id: str, user_id: str, history_id: int, synced_at: str) -> bool:
        return self._update(
            org_id,
            user_id,
            "SET history_id = :h, last_sync_at = :t",
            {":h": history_id, ":t": synced_at},
            condition="history_id < :h",
        )

    def set_status(self, org_id: str, user_id: str, status: IntegrationStatus, reason: str | None) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key=to_item(integration_key(org_id, user_id)),
                UpdateExpression="SET #s = :s, status_reason = :r",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":s": status.value, ":r": reason or ""}),
            )

    def record_push(self, org_id: str, user_id: str, at: str) -> None:
        self._update(org_id, user_id, "SET last_push_at = :t", {":t": at})

    def set_watch(self, org_id: str, user_id: str, expiration: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item(integration_key(org_id, user_id)),
            UpdateExpression="SET watch_expiration = :e",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":e": expiration}),
        )

    def people_sync_token(self, org_id: str, user_id: str) -> str | None:
        item = self._get(integration_key(org_id, user_id))
        value = item.get("people_sync_token") if item else None
        return str(value) if value else None

    def save_people_sync_token(self, org_id: str, user_id: str, token: str | None) -> None:
        if token:
            self._update(org_id, user_id, "SET people_sync_token = :t", {":t": token})
        else:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(integration_key(org_id, user_id)),
                UpdateExpression="REMOVE people_sync_token",
            )

    def all(self) -> Iterator[Integration]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": REGISTRY_PK}),
        }
        while True:
            response = self._client.query(**request)
            keys = []
            for item in response.get("Items", []):
                org_id, _, user_id = str(from_item(item)["sk"]).partition("#")
                keys.append(integration_key(org_id, user_id))
            for found in batch_get(self._client, self._table, keys):
                yield _integration(found)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def delete(self, integration: Integration) -> None:
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(registry_key(integration.org_id, integration.user_id)),
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(integration_key(integration.org_id, integration.user_id)),
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(route_key(integration.mailbox)),
                        "ConditionExpression": "attribute_not_exists(pk) OR (org_id = :o AND user_id = :u)",
                        "ExpressionAttributeValues": to_item(
                            {":o": integration.org_id, ":u": integration.user_id}
                        ),
                    }
                },
            ]
        )


class DynamoMailIndex:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def existing(self, org_id: str, email_ids: Iterable[str]) -> set[str]:
        keys = [message_key(org_id, value) for value in dict.fromkeys(email_ids)]
        items = batch_get(self._client, self._table, keys, projection="sk")
        return {str(item["sk"]).removeprefix("EMAIL#") for item in items}

    def put(self, record: EmailRecord) -> bool:
        summary = _summary(record)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {**message_key(record.org_id, record.email_id), "entity": "email", **summary}
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for contact_id in record.contact_ids[:MAX_LINKS]:
            key = link_key(record.org_id, contact_id, record.internal_date, record.email_id)
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item({**key, "entity": "email_link", **summary}),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # already stored (a replay, or a re-sync after a crash)
            raise
        return True

    def get(self, org_id: str, email_id: str) -> EmailRecord | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(message_key(org_id, email_id))).get(
            "Item"
        )
        return email_record(org_id, from_item(item)) if item else None

    def list_for_contact(self, org_id: str, contact_id: str, limit: int, cursor: str | None) -> EmailPage:
        prefix = f"CMAIL#{contact_id}#"
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": org_pk(org_id), ":prefix": prefix}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, {"pk": org_pk(org_id)}, {"sk": prefix})
        response = self._client.query(**request)
        emails = [email_record(org_id, from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return EmailPage(emails, encode_cursor(last) if last else None)

    def for_mailbox(self, org_id: str, user_id: str) -> Iterator[EmailRecord]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": org_pk(org_id), ":prefix": f"EMAIL#{user_id}."}),
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                yield email_record(org_id, from_item(item))
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def delete(self, records: Sequence[EmailRecord]) -> None:
        keys = []
        for record in records:
            keys.append(message_key(record.org_id, record.email_id))
            keys.extend(
                link_key(record.org_id, contact_id, record.internal_date, record.email_id)
                for contact_id in record.contact_ids[:MAX_LINKS]
            )
        failed = batch_write(
            self._client, self._table, [{"DeleteRequest": {"Key": to_item(k)}} for k in keys]
        )
        if failed:
            raise BatchIncomplete("the database is throttling deletes; retry shortly")


class S3MailBlobs:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ServerSideEncryption="aws:kms",
        )

    def get(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            return None

    def _versions(self, key: str) -> list[dict[str, str]]:
        found = []
        for page in self._client.get_paginator("list_object_versions").paginate(
            Bucket=self._bucket, Prefix=key
        ):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry["Key"] == key:
                    found.append({"Key": key, "VersionId": entry["VersionId"]})
        return found

    def delete_all_versions(self, keys: Sequence[str]) -> int:
        """Every version and delete marker of each key (the bucket is versioned: a plain delete keeps
        the mail)."""
        objects = [version for versions in ordered_map(self._versions, keys) for version in versions]
        for start in range(0, len(objects), 1000):
            response = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": objects[start : start + 1000], "Quiet": True},  # type: ignore[typeddict-item]
            )
            if response.get("Errors"):  # Quiet mode answers only the failures: never drop them
                raise TemporarilyUnavailable("some mail body versions could not be deleted; retry")
        return len(objects)


class DynamoContactMatcher:
    """Email matching through the contacts' batch lookup; contacts flagged ``restricted`` (processing
    restricted by a data-subject request) are left out."""

    def __init__(self, client: DynamoDBClient, contacts_table: str) -> None:
        self._client = client
        self._table = contacts_table
        self._store = DynamoContactStore(client, contacts_table)

    def match(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        found = self._store.lookup_by_emails(org_id, emails)
        ids = sorted({contact_id for ids in found.values() for contact_id in ids})
        if not ids:
            return {}
        items = batch_get(
            self._client,
            self._table,
            [contact_key(org_id, contact_id) for contact_id in ids],
            projection="sk, restricted",
        )
        allowed = {str(item["sk"]).removeprefix("CONTACT#") for item in items if not item.get("restricted")}
        return {email: frozenset(ids & allowed) for email, ids in found.items() if ids & allowed}

    def exists(self, org_id: str, contact_id: str) -> bool:
        return self._store.get(org_id, contact_id) is not None


class SqsSyncQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, org_id: str, user_id: str, history_id: int) -> None:
        body = {"org_id": org_id, "user_id": user_id, "history_id": history_id}
        self._client.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))
