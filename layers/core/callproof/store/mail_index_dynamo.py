"""The mail index on DynamoDB (MailTable): each message once per org, with the mailboxes that hold a copy.

MailTable layout (every key begins with the org, but two):

- integration:  pk=ORG#<org>  sk=GMAIL#USER#<user>      mailbox, status, history_id (the cursor),
                                                         watch_expiration, labels, sealed token (binary)
- mailbox route: pk=MAILBOX#<sha256(address)> sk=ROUTE   org_id, user_id: Pub/Sub pushes name only the
                 address, so this is the one key without the org (hashed: no address in a key)
- registry:     pk=GMAIL#REGISTRY sk=<org>#<user>       one per connected mailbox, for the hourly
                 maintenance (watch renewal, fallback poll); the other key without the org
  (the three above: ``store/gmail_integrations_dynamo.py``)
- OAuth state:  pk=ORG#<org>  sk=OAUTHSTATE#<nonce>     (``store/oauth_state_dynamo.py``; TTL)

A message (``<id>`` = ``message_key``: the Message-ID's hash; ``<date>`` = its internal date in ms, 13
digits, so every listing below is a newest-first Query on one key prefix, never a Scan):

- message:       sk=MSG#<id>                        summary, ``mailboxes`` (users), ``copies`` (user#gmail id)
- org timeline:  sk=ODATE#<date>#<id>               summary (the list with no contact / mailbox filter)
- thread:        sk=THREAD#<thread>#<date>#<id>     summary (a conversation across mailboxes)
- contact link:  sk=CMAIL#<contact>#<date>#<id>     summary (a contact's timeline: once per message)
- mailbox copy:  sk=MBOX#<user>#<gmail id>          email_id, labels (what the sync and purges read)
- mailbox date:  sk=MDATE#<user>#<date>#<id>        summary (``mailbox=me``)

Listing items carry the message's immutable summary, so sender / recipient / subject filters are
FilterExpressions on the chosen key range; the mailboxes are on the message item (one BatchGetItem a
page). Bodies: ``orgs/<org>/mail/messages/<id>.json`` in S3 (``store/mail_bodies_s3.py``). Legacy items
(before issue 17, ADR 0007), ``EMAIL#<user>.<gmail id>`` with its own body and ``CMAIL#...#<user>.<gmail
id>``, stay readable: by id, on the contact's timeline, in DSAR export / erasure and mailbox purges.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import InvalidInput
from callproof.mail.model import (
    Attachment,
    EmailPage,
    EmailQuery,
    EmailRecord,
    MailboxCopy,
    is_legacy_email_id,
)
from callproof.store.dynamo import (
    BatchIncomplete,
    batch_get,
    batch_write,
    decode_cursor,
    encode_cursor,
    from_item,
    partition,
    to_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_LINKS = 94  # one transaction: message, org date, thread, copy, mailbox date and up to 94 contact links
FILTER_PAGE = 200  # items a filtered list reads per Query
MAX_READS = 10  # Queries one filtered page may take before it answers with a cursor


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def _key(org_id: str, sk: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": sk}


def message_key(org_id: str, email_id: str) -> dict[str, str]:
    """The message item (a legacy id's ``EMAIL#`` item)."""
    return _key(org_id, f"EMAIL#{email_id}" if is_legacy_email_id(email_id) else f"MSG#{email_id}")


def link_key(org_id: str, contact_id: str, internal_date: int, email_id: str) -> dict[str, str]:
    return _key(org_id, f"CMAIL#{contact_id}#{internal_date:013d}#{email_id}")


def _date_keys(record: EmailRecord, users: Iterable[str]) -> list[dict[str, str]]:
    org, date, ident = record.org_id, f"{record.internal_date:013d}", record.email_id
    return [
        _key(org, f"ODATE#{date}#{ident}"),
        _key(org, f"THREAD#{record.thread_id}#{date}#{ident}"),
        *(_key(org, f"MDATE#{user}#{date}#{ident}") for user in sorted(set(users))),
    ]


def _copy_key(org_id: str, user_id: str, gmail_id: str) -> dict[str, str]:
    return _key(org_id, f"MBOX#{user_id}#{gmail_id}")


def _summary(record: EmailRecord) -> dict[str, Any]:
    return {
        "email_id": record.email_id,
        "user_id": record.user_id,
        "gmail_id": record.gmail_id,
        "thread_id": record.thread_id,
        "internal_date": record.internal_date,
        "subject": record.subject,
        "subject_lc": record.subject.lower(),
        "sender": record.sender,
        "from_address": record.from_address,
        "to_addresses": list(record.to_addresses),
        "contact_ids": list(record.contact_ids),
        "object_key": record.object_key,
        "attachments": [
            {"filename": a.filename, "size": a.size, "content_type": a.content_type}
            for a in record.attachments
        ],
    }


def email_record(org_id: str, item: Mapping[str, Any], mailboxes: Iterable[str] | None = None) -> EmailRecord:
    """A record from any item carrying the summary (legacy ones too: one mailbox, its user)."""
    held = item.get("mailboxes") if mailboxes is None else mailboxes
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
        mailboxes=tuple(sorted(held or ())) or (item["user_id"],),
        from_address=item.get("from_address", ""),
        to_addresses=tuple(item.get("to_addresses") or ()),
    )


def _cancel_reasons(exc: ClientError) -> list[str | None]:
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        raise exc
    return [r.get("Code") for r in exc.response.get("CancellationReasons", [])]


class DynamoMailIndex:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _put(self, key: Mapping[str, str], values: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": to_item({**key, **values}), **extra}}

    def known(self, org_id: str, user_id: str, gmail_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(gmail_ids))
        keys = [_copy_key(org_id, user_id, gid) for gid in ids]
        keys += [_key(org_id, f"EMAIL#{user_id}.{gid}") for gid in ids]
        found = batch_get(self._client, self._table, keys, projection="sk")
        return {str(item["sk"]).rpartition("#")[2].rpartition(".")[2] for item in found}

    def stored(self, org_id: str, email_ids: Iterable[str]) -> set[str]:
        keys = [message_key(org_id, e) for e in dict.fromkeys(email_ids)]
        return {
            str(item["email_id"])
            for item in batch_get(self._client, self._table, keys, projection="email_id")
        }

    def put(self, record: EmailRecord) -> bool:
        summary = _summary(record)
        copy = f"{record.user_id}#{record.gmail_id}"
        message = {"entity": "email", **summary, "mailboxes": {record.user_id}, "copies": {copy}}
        cond = {"ConditionExpression": "attribute_not_exists(pk)"}
        org, date_keys = record.org_id, _date_keys(record, [record.user_id])
        actions = [
            self._put(message_key(org, record.email_id), message, **cond),
            *(self._put(key, {"entity": "email_index", **summary}) for key in date_keys),
            self._put(
                _copy_key(org, record.user_id, record.gmail_id),
                {"entity": "email_copy", "email_id": record.email_id, "labels": list(record.labels)},
            ),
            *(
                self._put(
                    link_key(org, c, record.internal_date, record.email_id),
                    {"entity": "email_link", **summary},
                )
                for c in record.contact_ids[:MAX_LINKS]
            ),
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            if _cancel_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                return False  # already stored (another mailbox, a replay, a re-sync after a crash)
            raise
        return True

    def link(self, org_id: str, copy: MailboxCopy) -> bool | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(message_key(org_id, copy.email_id)), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        record = email_record(org_id, from_item(item))
        date = f"{record.internal_date:013d}"
        actions = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item(message_key(org_id, copy.email_id)),
                    "UpdateExpression": "ADD mailboxes :u, copies :c",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": to_item(
                        {":u": {copy.user_id}, ":c": {f"{copy.user_id}#{copy.gmail_id}"}}
                    ),
                }
            },
            self._put(
                _copy_key(org_id, copy.user_id, copy.gmail_id),
                {"entity": "email_copy", "email_id": copy.email_id, "labels": list(copy.labels)},
                ConditionExpression="attribute_not_exists(pk)",
            ),
            self._put(
                _key(org_id, f"MDATE#{copy.user_id}#{date}#{copy.email_id}"),
                {"entity": "email_index", **_summary(record)},
            ),
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            reasons = _cancel_reasons(exc)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return None  # the message went meanwhile
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def get(self, org_id: str, email_id: str) -> EmailRecord | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(message_key(org_id, email_id))).get(
            "Item"
        )
        return email_record(org_id, from_item(item)) if item else None

    def _with_mailboxes(self, org_id: str, items: Sequence[Mapping[str, Any]]) -> list[EmailRecord]:
        """Records with the mailboxes read from their message items; a message whose item is gone (a
        purge stopped half-way) is left out. Legacy items hold their one mailbox."""
        ids = [str(i["email_id"]) for i in items if not is_legacy_email_id(str(i["email_id"]))]
        found = batch_get(
            self._client, self._table, [message_key(org_id, e) for e in ids], projection="email_id, mailboxes"
        )
        held = {str(m["email_id"]): m.get("mailboxes") or () for m in found}
        return [
            email_record(org_id, i, held.get(str(i["email_id"])))
            for i in items
            if is_legacy_email_id(str(i["email_id"])) or str(i["email_id"]) in held
        ]

    def search(self, org_id: str, query: EmailQuery, limit: int, cursor: str | None) -> EmailPage:
        filters: list[str] = []
        values: dict[str, Any] = {":pk": org_pk(org_id)}
        if query.mailbox:
            prefix = f"MDATE#{query.mailbox}#"
            if query.contact_id:
                filters.append("contains(contact_ids, :contact)")
                values[":contact"] = query.contact_id
        else:
            prefix = f"CMAIL#{query.contact_id}#" if query.contact_id else "ODATE#"
        for value, expression, name in (
            (query.sender, "from_address = :sender", ":sender"),
            (query.recipient, "contains(to_addresses, :recipient)", ":recipient"),
            (query.subject, "contains(subject_lc, :subject)", ":subject"),
        ):
            if value:
                filters.append(expression)
                values[name] = value
        low = prefix + (f"{query.after:013d}" if query.after is not None else "")
        high = prefix + (f"{query.before:013d}" if query.before is not None else "~")
        values.update({":low": low, ":high": high})
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if cursor:
            start = decode_cursor(cursor, {"pk": org_pk(org_id)}, {"sk": prefix})
            if set(start) != {"pk", "sk"} or not low <= str(start["sk"].get("S")) <= high:
                raise InvalidInput("the cursor belongs to another query", field="cursor")
            request["ExclusiveStartKey"] = start
        items: list[dict[str, Any]] = []
        last: Mapping[str, Any] | None = None
        for _ in range(MAX_READS):
            request["Limit"] = FILTER_PAGE if filters else limit - len(items)
            response = self._client.query(**request)
            page = [from_item(i) for i in response.get("Items", [])]
            room = limit - len(items)
            items.extend(page[:room])
            last = response.get("LastEvaluatedKey")
            if len(page) > room:  # more matched than the page holds: go on after the last one given
                last = to_item({"pk": items[-1]["pk"], "sk": items[-1]["sk"]})
                break
            if len(items) == limit or not last:
                break
            request["ExclusiveStartKey"] = last
        return EmailPage(self._with_mailboxes(org_id, items), encode_cursor(last) if last else None)

    def thread(self, org_id: str, thread_id: str, limit: int) -> list[EmailRecord]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": org_pk(org_id), ":prefix": f"THREAD#{thread_id}#"}),
            Limit=limit,
        )
        return self._with_mailboxes(org_id, [from_item(i) for i in response.get("Items", [])])

    def copies(self, org_id: str, user_id: str) -> Iterator[MailboxCopy]:
        pk = org_pk(org_id)
        for item in partition(self._client, self._table, pk, f"MBOX#{user_id}#"):
            gmail_id = str(item["sk"]).rpartition("#")[2]
            labels = tuple(item.get("labels") or ())
            yield MailboxCopy(user_id, gmail_id, str(item["email_id"]), 0, labels)
        for item in partition(self._client, self._table, pk, f"EMAIL#{user_id}."):
            yield MailboxCopy(
                user_id, str(item["gmail_id"]), str(item["email_id"]), int(item["internal_date"])
            )

    def unlink(
        self, org_id: str, user_id: str, email_id: str, gmail_ids: Sequence[str], last: bool
    ) -> EmailRecord | None:
        if is_legacy_email_id(email_id):
            return self.get(org_id, email_id)  # one mailbox's own message: it goes whole
        update = "DELETE copies :c" + (", mailboxes :u" if last else "")
        values: dict[str, Any] = {":c": {f"{user_id}#{g}" for g in gmail_ids}}
        if last:
            values[":u"] = {user_id}
        try:
            item = self._client.update_item(
                TableName=self._table,
                Key=to_item(message_key(org_id, email_id)),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self._client.exceptions.ConditionalCheckFailedException:
            item = None
        keys = [_copy_key(org_id, user_id, g) for g in gmail_ids]
        record = email_record(org_id, from_item(item)) if item else None
        if record is not None and last:
            keys.append(_key(org_id, f"MDATE#{user_id}#{record.internal_date:013d}#{email_id}"))
        self._write_deletes(keys)
        if record is None or (item and "mailboxes" in item):
            return None
        try:  # no mailbox holds it: gone, unless a sync linked a copy in the meantime
            self._client.delete_item(
                TableName=self._table,
                Key=to_item(message_key(org_id, email_id)),
                ConditionExpression="attribute_not_exists(mailboxes)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return record

    def _write_deletes(self, keys: Sequence[Mapping[str, str]]) -> None:
        failed = batch_write(
            self._client, self._table, [{"DeleteRequest": {"Key": to_item(k)}} for k in keys]
        )
        if failed:
            raise BatchIncomplete("the database is throttling deletes; retry shortly")

    def delete(self, records: Sequence[EmailRecord]) -> None:
        """The listing items and copies first, the message items (which name the copies) last: an
        interrupted delete is finished by the next one."""
        new = [r for r in records if not is_legacy_email_id(r.email_id)]
        held = {
            str(m["email_id"]): m
            for m in batch_get(
                self._client,
                self._table,
                [message_key(r.org_id, r.email_id) for r in new],
                projection="email_id, mailboxes, copies",
            )
        }
        keys: list[dict[str, str]] = []
        for record in records:
            keys.extend(
                link_key(record.org_id, c, record.internal_date, record.email_id)
                for c in record.contact_ids[:MAX_LINKS]
            )
            if is_legacy_email_id(record.email_id):
                continue
            message = held.get(record.email_id, {})
            copies = [str(c).partition("#") for c in message.get("copies") or ()]
            users = {*(message.get("mailboxes") or ()), *(user for user, _, _ in copies), record.user_id}
            keys.extend(_date_keys(record, users))
            keys.extend(_copy_key(record.org_id, user, gid) for user, _, gid in copies)
        self._write_deletes(keys)
        self._write_deletes([message_key(r.org_id, r.email_id) for r in records])
