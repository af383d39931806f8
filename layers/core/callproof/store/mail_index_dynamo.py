"""The mail index on DynamoDB (MailTable): one item per synced message and one link per contact it names.

MailTable layout (every key begins with the org, but two):

- integration:  pk=ORG#<org>  sk=GMAIL#USER#<user>      mailbox, status, history_id (the cursor),
                                                         watch_expiration, sealed token (binary)
- mailbox route: pk=MAILBOX#<sha256(address)> sk=ROUTE   org_id, user_id: Pub/Sub pushes name only the
                 address, so this is the one key without the org (hashed: no address in a key)
- registry:     pk=GMAIL#REGISTRY sk=<org>#<user>       one per connected mailbox, for the hourly
                 maintenance (watch renewal, fallback poll); the other key without the org
  (the three above: ``store/gmail_integrations_dynamo.py``)
- OAuth state:  pk=ORG#<org>  sk=OAUTHSTATE#<nonce>     (``store/oauth_state_dynamo.py``; TTL)
- message:      pk=ORG#<org>  sk=EMAIL#<user>.<gmail id> summary, contact ids, S3 key
- contact link: pk=ORG#<org>  sk=CMAIL#<contact>#<internal date ms, 13 digits>#<email id>  summary

Bodies live in S3 under ``orgs/<org>/mail/<user>/<gmail id>.json`` (SSE-KMS, versioned bucket;
``store/mail_bodies_s3.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.mail.model import Attachment, EmailPage, EmailRecord
from callproof.store.dynamo import (
    BatchIncomplete,
    batch_get,
    batch_write,
    decode_cursor,
    encode_cursor,
    from_item,
    to_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_LINKS = 99  # one transaction: the message item and up to 99 contact links


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def message_key(org_id: str, email_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"EMAIL#{email_id}"}


def link_key(org_id: str, contact_id: str, internal_date: int, email_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"CMAIL#{contact_id}#{internal_date:013d}#{email_id}"}


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
