"""CallLogStore and DeviceStore on the template's CallLogsTable.

Items (every key begins with the org, except the org registry the retention sweep walks):
- call:    pk=ORG#<org>#CALL#<client id>   sk=CALL     + index keys below, all sorted by time_sk
  ByUser    user_pk=ORG#<org>#USER#<user>            (every call)
  ByContact contact_pk=ORG#<org>#CONTACT#<contact>   (only a unique match: shown beside the contact)
  ByNumber  phone_pk=ORG#<org>#PHONE#<e164>          (only dialable numbers: re-matching)
  ByOrgTime org_calls_pk=ORG#<org>#CALLS             (retention)
  time_sk = <started_at in UTC, ISO>#<client id>: newest first with ScanIndexForward=false
- device:  pk=ORG#<org>#DEVICE#<device id> sk=DEVICE
  DevicesByUser device_user_pk=ORG#<org>#USER#<user>#DEVICES (a user's devices: data-subject requests)
  DevicesByOrgSeen device_org_pk=ORG#<org>#LOCATED (a location is stored) or ORG#<org>#DEVICES (none),
                   seen_sk=<updated_at in UTC, ISO>#<device id> (retention: store/retention_dynamo.py)
- org registry: pk=CALL_ORGS sk=ORG#<org>  (org ids only: which orgs have call logs to sweep)
- device org registry: pk=RETENTION#devices sk=ORG#<org> (``store/retention_registry_dynamo.py``)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.calls.model import CallLog, Device, Direction, Match, MatchStatus
from callproof.calls.numbers import NumberKind
from callproof.calls.ports import CallPageData
from callproof.errors import Conflict
from callproof.store.dynamo import (
    Item,
    Listing,
    batch_get,
    batch_write,
    decode_cursor,
    encode_cursor,
    from_item,
    query_all,
    to_item,
)
from callproof.store.dynamo import (
    time_sk as time_key,
)
from callproof.store.retention_registry_dynamo import OrgRegistry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_USER, BY_CONTACT, BY_NUMBER, BY_ORG_TIME = "ByUser", "ByContact", "ByNumber", "ByOrgTime"
DEVICES_BY_USER = "DevicesByUser"
DEVICES_BY_ORG_SEEN = "DevicesByOrgSeen"
ORG_REGISTRY_PK = "CALL_ORGS"


def call_key(org_id: str, call_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#CALL#{call_id}", "sk": "CALL"}


def device_key(org_id: str, device_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#DEVICE#{device_id}", "sk": "DEVICE"}


def device_user_pk(org_id: str, user_id: str) -> str:
    return f"ORG#{org_id}#USER#{user_id}#DEVICES"


def device_org_pk(org_id: str, located: bool) -> str:
    """The DevicesByOrgSeen partition: devices that hold a location apart, so they expire sooner."""
    return f"ORG#{org_id}#LOCATED" if located else f"ORG#{org_id}#DEVICES"


def seen_sk(moment: datetime, device_id: str) -> str:
    return time_key(moment, device_id)


def _call_id(pk: str) -> str:
    return pk.rpartition("#CALL#")[2]


def time_sk(moment: datetime, call_id: str) -> str:
    return time_key(moment, call_id)


def _contact_pk(org_id: str, contact_id: str) -> str:
    return f"ORG#{org_id}#CONTACT#{contact_id}"


def _match_attributes(org_id: str, match: Match) -> dict[str, Any]:
    return {
        "match_status": match.status.value,
        "contact_ids": list(match.contact_ids),
        "contact_pk": _contact_pk(org_id, match.contact_id) if match.contact_id else None,
    }


def _to_record(call: CallLog) -> Item:
    return {
        **call_key(call.org_id, call.id),
        "entity": "call",
        "org_id": call.org_id,
        "id": call.id,
        "user_id": call.user_id,
        "device_id": call.device_id,
        "direction": call.direction.value,
        "started_at": call.started_at.isoformat(),
        "duration_seconds": call.duration_seconds,
        "raw_number": call.raw_number,
        "number_kind": call.number_kind.value,
        "e164": call.e164,
        "extension": call.extension,
        "metadata": call.metadata,
        "content_hash": call.content_hash,
        "received_at": call.received_at.isoformat(),
        "time_sk": time_sk(call.started_at, call.id),
        "user_pk": f"ORG#{call.org_id}#USER#{call.user_id}",
        "phone_pk": f"ORG#{call.org_id}#PHONE#{call.e164}" if call.e164 else None,
        "org_calls_pk": f"ORG#{call.org_id}#CALLS",
        **_match_attributes(call.org_id, call.match),
    }


def call_of(item: Item) -> CallLog:
    """The call an item of CallLogsTable (or of one of its call indexes) holds."""
    return _from_record(item)


def _from_record(item: Item) -> CallLog:
    return CallLog(
        org_id=item["org_id"],
        id=item["id"],
        user_id=item["user_id"],
        device_id=item["device_id"],
        direction=Direction(item["direction"]),
        started_at=datetime.fromisoformat(item["started_at"]),
        duration_seconds=int(item["duration_seconds"]),
        raw_number=item["raw_number"],
        number_kind=NumberKind(item["number_kind"]),
        e164=item.get("e164"),
        extension=item.get("extension"),
        metadata=dict(item.get("metadata", {})),
        match=Match(MatchStatus(item["match_status"]), tuple(item.get("contact_ids", ()))),
        content_hash=item["content_hash"],
        received_at=datetime.fromisoformat(item["received_at"]),
    )


class DynamoCallLogStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, org_id: str, call_id: str) -> CallLog | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(call_key(org_id, call_id)), ConsistentRead=True
        ).get("Item")
        return _from_record(from_item(item)) if item else None

    def get_many(self, org_id: str, call_ids: Iterable[str]) -> dict[str, CallLog]:
        keys = [call_key(org_id, call_id) for call_id in sorted(set(call_ids))]
        return {item["id"]: _from_record(item) for item in batch_get(self._client, self._table, keys)}

    def put_many(self, calls: Sequence[CallLog]) -> set[str]:
        requests = [{"PutRequest": {"Item": to_item(_to_record(call))}} for call in calls]
        failed = batch_write(self._client, self._table, requests)
        return {from_item(request["PutRequest"]["Item"])["id"] for request in failed}

    def delete(self, call: CallLog) -> None:
        self._client.delete_item(TableName=self._table, Key=to_item(call_key(call.org_id, call.id)))

    def delete_many(self, org_id: str, call_ids: Sequence[str]) -> set[str]:
        requests = [{"DeleteRequest": {"Key": to_item(call_key(org_id, call_id))}} for call_id in call_ids]
        failed = batch_write(self._client, self._table, requests)
        return {_call_id(from_item(request["DeleteRequest"]["Key"])["pk"]) for request in failed}

    def list_by_user(self, org_id: str, user_id: str, limit: int, cursor: str | None) -> CallPageData:
        return self._page(org_id, BY_USER, "user_pk", f"ORG#{org_id}#USER#{user_id}", limit, cursor)

    def list_by_contact(self, org_id: str, contact_id: str, limit: int, cursor: str | None) -> CallPageData:
        return self._page(org_id, BY_CONTACT, "contact_pk", _contact_pk(org_id, contact_id), limit, cursor)

    def _page(
        self, org_id: str, index: str, attribute: str, value: str, limit: int, cursor: str | None
    ) -> CallPageData:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{attribute} = :value",
            "ExpressionAttributeValues": to_item({":value": value}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            prefixes = {"pk": f"ORG#{org_id}#CALL#"}
            request["ExclusiveStartKey"] = decode_cursor(cursor, {attribute: value, "sk": "CALL"}, prefixes)
        response = self._client.query(**request)
        calls = [_from_record(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return CallPageData(calls=calls, next_cursor=encode_cursor(last) if last else None)

    def with_number(self, org_id: str, e164: str) -> Iterator[CallLog]:
        return self._every(self.listing_by_number(org_id, e164))

    def every_by_contact(self, org_id: str, contact_id: str) -> Iterator[CallLog]:
        """Every call matched to a contact, in DynamoDB's own pages (up to 1 MB each)."""
        return self._every(self.listing_by_contact(org_id, contact_id))

    def every_by_user(self, org_id: str, user_id: str) -> Iterator[CallLog]:
        """Every call an org user logged, in DynamoDB's own pages (up to 1 MB each)."""
        return self._every(self.listing_by_user(org_id, user_id))

    def listing_by_number(self, org_id: str, e164: str) -> Listing:
        return self._listing(org_id, BY_NUMBER, "phone_pk", f"ORG#{org_id}#PHONE#{e164}", "number")

    def listing_by_contact(self, org_id: str, contact_id: str) -> Listing:
        return self._listing(org_id, BY_CONTACT, "contact_pk", _contact_pk(org_id, contact_id), "contact")

    def listing_by_user(self, org_id: str, user_id: str) -> Listing:
        return self._listing(org_id, BY_USER, "user_pk", f"ORG#{org_id}#USER#{user_id}", "user")

    def _listing(self, org_id: str, index: str, attribute: str, value: str, tag: str) -> Listing:
        """Every call of one index partition, oldest first (a resumable listing: ``dynamo.resume``)."""
        request = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{attribute} = :value",
            "ExpressionAttributeValues": to_item({":value": value}),
        }
        within = {"pk": f"ORG#{org_id}#CALL#", "sk": "CALL"}
        return Listing(request, (attribute, value), ("pk", "sk", "time_sk"), tag, within)

    def _every(self, listing: Listing) -> Iterator[CallLog]:
        return (call_of(item) for item in query_all(self._client, listing.request))

    def set_match(self, call: CallLog, match: Match) -> None:
        """Update the match in place; a call deleted meanwhile stays deleted."""
        attributes = _match_attributes(call.org_id, match)
        contact_pk = attributes.pop("contact_pk")
        expression = "SET match_status = :status, contact_ids = :ids" + (
            ", contact_pk = :contact" if contact_pk else " REMOVE contact_pk"
        )
        values = {":status": attributes["match_status"], ":ids": attributes["contact_ids"]}
        if contact_pk:
            values[":contact"] = contact_pk
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(call_key(call.org_id, call.id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def older_than(self, org_id: str, cutoff: datetime, limit: int) -> list[str]:
        response = self._client.query(
            TableName=self._table,
            IndexName=BY_ORG_TIME,
            KeyConditionExpression="org_calls_pk = :org AND time_sk < :cutoff",
            ExpressionAttributeValues=to_item(
                {":org": f"ORG#{org_id}#CALLS", ":cutoff": time_sk(cutoff, "")}
            ),
            Limit=limit,
        )
        return [_call_id(from_item(item)["pk"]) for item in response.get("Items", [])]  # keys-only index

    def register_org(self, org_id: str) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_item({"pk": ORG_REGISTRY_PK, "sk": f"ORG#{org_id}", "org_id": org_id}),
        )

    def orgs(self) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": ORG_REGISTRY_PK}),
        }
        while True:
            response = self._client.query(**request)
            yield from (from_item(item)["org_id"] for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class DynamoDeviceStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._orgs = OrgRegistry(client, table, "devices")  # the orgs the retention purge visits

    def get_many(self, org_id: str, device_ids: Iterable[str]) -> dict[str, Device]:
        keys = [device_key(org_id, device_id) for device_id in sorted(set(device_ids))]
        return {item["id"]: _device_from(item) for item in batch_get(self._client, self._table, keys)}

    def put(self, device: Device) -> None:
        record = {
            **device_key(device.org_id, device.id),
            "entity": "device",
            "org_id": device.org_id,
            "id": device.id,
            "user_id": device.user_id,
            "device_type": device.device_type,
            "os_name": device.os_name,
            "os_version": device.os_version,
            "app_version": device.app_version,
            "country": device.country,
            "settings": device.settings,
            "location": device.location,
            "updated_at": device.updated_at.isoformat(),
            "device_user_pk": device_user_pk(device.org_id, device.user_id),  # DevicesByUser index
            "device_org_pk": device_org_pk(device.org_id, device.location is not None),  # DevicesByOrgSeen
            "seen_sk": seen_sk(device.updated_at, device.id),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(pk) OR user_id = :user",
                ExpressionAttributeValues=to_item({":user": device.user_id}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict("this device is registered to another user") from None
            raise
        self._orgs.add(device.org_id)

    def erase_locations(self, org_id: str, user_id: str) -> int:
        """The accounts domain's ``LocationEraser``: remove the stored location of every device of the
        user (DevicesByUser, paged); the number of devices that held one. Locations live only on the
        device items (no S3 copy); PITR backups age out on the table's own schedule."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DEVICES_BY_USER,
            "KeyConditionExpression": "device_user_pk = :user",
            "FilterExpression": "attribute_exists(#loc) AND attribute_type(#loc, :map)",
            "ProjectionExpression": "pk, sk",
            "ExpressionAttributeNames": {"#loc": "location"},
            "ExpressionAttributeValues": to_item({":user": device_user_pk(org_id, user_id), ":map": "M"}),
        }
        erased = 0
        while True:
            response = self._client.query(**request)
            for key in response.get("Items", []):
                try:
                    self._client.update_item(
                        TableName=self._table,
                        Key={"pk": key["pk"], "sk": key["sk"]},
                        UpdateExpression="REMOVE #loc SET device_org_pk = :unlocated",
                        ConditionExpression="user_id = :u",  # still this user's device
                        ExpressionAttributeNames={"#loc": "location"},
                        ExpressionAttributeValues=to_item(
                            {":u": user_id, ":unlocated": device_org_pk(org_id, located=False)}
                        ),
                    )
                    erased += 1
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
            if "LastEvaluatedKey" not in response:
                return erased
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _device_from(item: Item) -> Device:
    return Device(
        org_id=item["org_id"],
        id=item["id"],
        user_id=item["user_id"],
        device_type=item["device_type"],
        os_name=item["os_name"],
        os_version=item["os_version"],
        app_version=item["app_version"],
        country=item.get("country"),
        settings=dict(item.get("settings", {})),
        location={key: float(value) for key, value in item["location"].items()}
        if item.get("location")
        else None,
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )
