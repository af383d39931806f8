"""SmsStore on DynamoDB (the template's SmsTable; the send gate's contact reads are in
``store/sms_recipients_dynamo.py``).

SmsTable items:
- sender route:   pk=SENDER#<E.164 or Messaging Service SID>  sk=ROUTE             org_id
- org config:     pk=ORG#<org>                                sk=SMS#CONFIG        numbers, service, texts, cap
- send counter:   pk=ORG#<org>                                sk=SMS#DAY#<date>    sends (TTL 3 days)
- ledger entry:   pk=ORG#<org>#CONSENT#<e164>                 sk=AT#<entry id>     status, source, ...
- inbound dedup:  pk=ORG#<org>#INBOUND#<MessageSid>           sk=DEDUP             (TTL 90 days)
- thread message: pk=ORG#<org>#THREAD#<contact id>            sk=MSG#<message id>  direction, body, ...
  MessagesByOrgTime sms_org_pk=ORG#<org>#MESSAGES  time_sk=<at in UTC, ISO>#<message id>  (retention)
- org registry:   pk=RETENTION#sms                            sk=ORG#<org>         (retention's orgs)

Sender routes are the one key that does not begin with the org: they answer "whose number is this?"
for Twilio's webhook, before any org is known. A Twilio number or service belongs to one org.
Entry and message ids are time-ordered, so the newest ledger entry is the first of a descending Query.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import Conflict
from callproof.sms.model import (
    DEFAULT_BRAND,
    ConsentEntry,
    ConsentStatus,
    MessageDirection,
    OrgSmsConfig,
    SmsConsentSource,
    ThreadMessage,
)
from callproof.sms.ports import ThreadPage
from callproof.store.dynamo import (
    Item,
    batch_get,
    count_below,
    decode_cursor,
    encode_cursor,
    from_item,
    time_sk,
    to_item,
    transact,
)
from callproof.store.retention_registry_dynamo import OrgRegistry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROUTE_SK = "ROUTE"
CONFIG_SK = "SMS#CONFIG"
MESSAGES_BY_ORG_TIME = "MessagesByOrgTime"
DEDUP_TTL = timedelta(days=90)  # Twilio retries for minutes; 90 days also catches late replays
COUNTER_TTL = timedelta(days=3)
# Delivery statuses in the order Twilio reaches them; a callback never moves a message backwards.
STATUS_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
    "failed": 4, "undelivered": 4, "delivered": 4, "read": 5, "canceled": 4,
}  # fmt: skip


def route_key(sender: str) -> dict[str, str]:
    return {"pk": f"SENDER#{sender}", "sk": ROUTE_SK}


def config_key(org_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": CONFIG_SK}


def ledger_pk(org_id: str, e164: str) -> str:
    return f"ORG#{org_id}#CONSENT#{e164}"


def dedup_key(org_id: str, message_sid: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#INBOUND#{message_sid}", "sk": "DEDUP"}


def thread_pk(org_id: str, contact_id: str) -> str:
    return f"ORG#{org_id}#THREAD#{contact_id}"


def _entry_record(entry: ConsentEntry) -> Item:
    return {
        "pk": ledger_pk(entry.org_id, entry.e164),
        "sk": f"AT#{entry.entry_id}",
        "entity": "consent",
        "org_id": entry.org_id,
        "e164": entry.e164,
        "entry_id": entry.entry_id,
        "status": entry.status.value,
        "source": entry.source.value,
        "at": entry.at.isoformat(),
        "keyword": entry.keyword,
        "message_sid": entry.message_sid,
        "sender": entry.sender,
        "actor": entry.actor,
    }


def _entry(item: Item) -> ConsentEntry:
    return ConsentEntry(
        org_id=item["org_id"],
        e164=item["e164"],
        status=ConsentStatus(item["status"]),
        source=SmsConsentSource(item["source"]),
        at=datetime.fromisoformat(item["at"]),
        entry_id=item["entry_id"],
        keyword=item.get("keyword"),
        message_sid=item.get("message_sid"),
        sender=item.get("sender"),
        actor=item.get("actor"),
    )


def sms_org_pk(org_id: str) -> str:
    return f"ORG#{org_id}#MESSAGES"


def message_time_sk(at: datetime, message_id: str) -> str:
    return time_sk(at, message_id)


def _message_record(message: ThreadMessage) -> Item:
    return {
        "sms_org_pk": sms_org_pk(message.org_id),  # MessagesByOrgTime (retention)
        "time_sk": message_time_sk(message.at, message.message_id),
        "pk": thread_pk(message.org_id, message.contact_id),
        "sk": f"MSG#{message.message_id}",
        "entity": "sms",
        "org_id": message.org_id,
        "contact_id": message.contact_id,
        "message_id": message.message_id,
        "direction": message.direction.value,
        "body": message.body,
        "e164": message.e164,
        "at": message.at.isoformat(),
        "message_sid": message.message_sid,
        "sender": message.sender,
        "status": message.status,
        "status_rank": STATUS_RANK.get(message.status or "", 0) if message.status else None,
        "error_code": message.error_code,
        "sent_by": message.sent_by,
    }


def _message(item: Item) -> ThreadMessage:
    error_code = item.get("error_code")
    return ThreadMessage(
        org_id=item["org_id"],
        contact_id=item["contact_id"],
        message_id=item["message_id"],
        direction=MessageDirection(item["direction"]),
        body=item["body"],
        e164=item["e164"],
        at=datetime.fromisoformat(item["at"]),
        message_sid=item.get("message_sid"),
        sender=item.get("sender"),
        status=item.get("status"),
        error_code=int(error_code) if error_code is not None else None,
        sent_by=item.get("sent_by"),
    )


def _config(org_id: str, item: Item) -> OrgSmsConfig:
    cap = item.get("daily_cap")
    return OrgSmsConfig(
        org_id=org_id,
        phone_numbers=tuple(item.get("phone_numbers", ())),
        messaging_service_sid=item.get("messaging_service_sid"),
        brand=item.get("brand", DEFAULT_BRAND),
        support_contact=item.get("support_contact"),
        confirmations=bool(item.get("confirmations", False)),
        daily_cap=int(cap) if cap is not None else None,
        version=int(item.get("version", 0)),
    )


class DynamoSmsStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._orgs = OrgRegistry(client, table, "sms")  # the orgs the retention purge visits

    # --------------------------------------------------------------------- routing, config
    def org_for_senders(self, senders: Sequence[str]) -> str | None:
        wanted = list(dict.fromkeys(senders))
        items = batch_get(self._client, self._table, [route_key(s) for s in wanted], projection="pk, org_id")
        org_by_pk = {item["pk"]: item["org_id"] for item in items}
        for sender in wanted:
            org = org_by_pk.get(route_key(sender)["pk"])
            if isinstance(org, str):
                return org
        return None

    def get_config(self, org_id: str) -> OrgSmsConfig:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(config_key(org_id)), ConsistentRead=True
        )
        return _config(org_id, from_item(response.get("Item") or {}))

    def put_config(self, old: OrgSmsConfig, new: OrgSmsConfig) -> None:
        """One transaction: the config item (versioned) and every added / removed sender route."""
        record = {
            **config_key(new.org_id),
            "entity": "sms_config",
            "phone_numbers": list(new.phone_numbers),
            "messaging_service_sid": new.messaging_service_sid,
            "brand": new.brand,
            "support_contact": new.support_contact,
            "confirmations": new.confirmations,
            "daily_cap": new.daily_cap,
            "version": new.version,
        }
        condition = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if old.version == 0
            else {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item({":version": old.version}),
            }
        )
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": to_item(record), **condition}}
        ]
        org = to_item({":org": new.org_id})
        for sender in sorted(set(new.senders) - set(old.senders)):
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item({**route_key(sender), "entity": "sms_route", "org_id": new.org_id}),
                        "ConditionExpression": "attribute_not_exists(pk) OR org_id = :org",
                        "ExpressionAttributeValues": org,
                    }
                }
            )
        for sender in sorted(set(old.senders) - set(new.senders)):
            actions.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(route_key(sender)),
                        "ConditionExpression": "attribute_not_exists(pk) OR org_id = :org",
                        "ExpressionAttributeValues": org,
                    }
                }
            )
        transact(
            self._client, actions, "the SMS settings changed meanwhile, or a sender belongs to another org"
        )

    # ----------------------------------------------------------------------- inbound, ledger
    def record_inbound(
        self, org_id: str, message_sid: str, entry: ConsentEntry | None, messages: Sequence[ThreadMessage]
    ) -> bool:
        expires = int(time.time() + DEDUP_TTL.total_seconds())
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item({**dedup_key(org_id, message_sid), "expires_at": expires}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if entry is not None:
            actions.append({"Put": {"TableName": self._table, "Item": to_item(_entry_record(entry))}})
        actions.extend(
            {"Put": {"TableName": self._table, "Item": to_item(_message_record(message))}}
            for message in messages
        )
        try:
            transact(self._client, actions, "duplicate")
        except Conflict:
            return False
        return True

    def append_consent(self, entry: ConsentEntry) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_item(_entry_record(entry)),
            ConditionExpression="attribute_not_exists(pk)",  # append-only: never overwrite an entry
        )

    def consent_history(self, org_id: str, e164: str, limit: int) -> list[ConsentEntry]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": ledger_pk(org_id, e164), ":prefix": "AT#"}),
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_entry(from_item(item)) for item in response.get("Items", [])]

    # -------------------------------------------------------------------------- daily cap
    def reserve_send(self, org_id: str, day: str, cap: int) -> bool:
        expires = int(datetime.fromisoformat(day).timestamp() + COUNTER_TTL.total_seconds())
        key = {"pk": f"ORG#{org_id}", "sk": f"SMS#DAY#{day}"}
        return count_below(self._client, self._table, key, "sends", cap, expires)

    def release_send(self, org_id: str, day: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": f"ORG#{org_id}", "sk": f"SMS#DAY#{day}"}),
                UpdateExpression="ADD sends :minus",
                ConditionExpression="sends > :zero",
                ExpressionAttributeValues=to_item({":minus": -1, ":zero": 0}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ----------------------------------------------------------------------------- threads
    def add_message(self, message: ThreadMessage) -> None:
        self._client.put_item(TableName=self._table, Item=to_item(_message_record(message)))
        self._orgs.add(message.org_id)

    def update_delivery(
        self,
        org_id: str,
        contact_id: str,
        message_id: str,
        message_sid: str,
        status: str,
        error_code: int | None,
    ) -> bool:
        rank = STATUS_RANK.get(status, 0)
        values: dict[str, Any] = {":sid": message_sid, ":status": status, ":rank": rank}
        update = "SET #status = :status, status_rank = :rank"
        if error_code is not None:
            update += ", error_code = :code"
            values[":code"] = error_code
        key = to_item({"pk": thread_pk(org_id, contact_id), "sk": f"MSG#{message_id}"})
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression="message_sid = :sid AND (attribute_not_exists(status_rank) OR status_rank <= :rank)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            stored = self._client.get_item(TableName=self._table, Key=key, ProjectionExpression="message_sid")
            # a later status is already stored (callbacks arrive out of order): still a known message
            return from_item(stored.get("Item") or {}).get("message_sid") == message_sid
        return True

    def thread_page(self, org_id: str, contact_id: str, limit: int, cursor: str | None) -> ThreadPage:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": thread_pk(org_id, contact_id), ":prefix": "MSG#"}),
            "ScanIndexForward": False,  # newest first
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(
                cursor, {"pk": thread_pk(org_id, contact_id)}, {"sk": "MSG#"}
            )
        response = self._client.query(**request)
        last = response.get("LastEvaluatedKey")
        return ThreadPage(
            [_message(from_item(item)) for item in response.get("Items", [])],
            encode_cursor(last) if last else None,
        )
