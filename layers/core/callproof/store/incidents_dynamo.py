"""The breach register in the DsarTable, beside the requests (``dsar_dynamo``), under its own prefix:

- incident:    pk=ORG#<org>  sk=INC#<id>   (ids are time-ordered: the staff list reads newest first)
               GSI OpenByDue: open_pk=INCIDENT, open_sk=<authority due>#<org>#<id>, only while the
               authority's clock runs (sparse; the daily check reads it without a Scan, beside the
               requests' partition OPEN of the same index)
- once-marker: the requests' markers (``DynamoRequestStore.claim``) under the item id ``INC<id>``,
               so pk=ORG#<org>#REQ#INC<id>: a request id is hex only and never begins with INC

``DynamoAffectedPeople`` reads who an org's stores hold data about: its members (AccountsTable) and
the number of its contacts (ContactsTable, counted with Select=COUNT, page by page).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import Conflict
from callproof.incidents.model import (
    AWAITING_AUTHORITY,
    Affected,
    DataKind,
    Incident,
    IncidentStatus,
    PeopleDecision,
)
from callproof.store.contacts_dynamo import org_pk
from callproof.store.dsar_dynamo import OPEN_BY_DUE, DynamoRequestStore
from callproof.store.dynamo import (
    condition_failed,
    decode_cursor,
    encode_cursor,
    from_item,
    query_all,
    save_versioned,
    to_item,
)
from callproof.store.members_dynamo import DynamoMemberStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.accounts.model import Member

AWAITING_PK = "INCIDENT"
PREFIX = "INC#"


def incident_key(org_id: str, incident_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"{PREFIX}{incident_id}"}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _mutable(incident: Incident) -> dict[str, Any]:
    awaiting = incident.status in AWAITING_AUTHORITY
    return {
        "status": incident.status.value,
        "authority_notified_at": _when(incident.authority_notified_at),
        "authority_reference": incident.authority_reference,
        "people": incident.people.value,
        "people_decided_at": _when(incident.people_decided_at),
        "what_to_do": incident.what_to_do,
        "people_notified": incident.people_notified,
        "version": incident.version,
        "open_pk": AWAITING_PK if awaiting else None,
        "open_sk": f"{incident.authority_due.isoformat()}#{incident.org_id}#{incident.id}"
        if awaiting
        else None,
    }


def _to_item(incident: Incident) -> dict[str, Any]:
    item = {
        **incident_key(incident.org_id, incident.id),
        "entity": "incident",
        "detected_at": incident.detected_at.isoformat(),
        "recorded_at": incident.recorded_at.isoformat(),
        "recorded_by": incident.recorded_by,
        "description": incident.description,
        "stores": list(incident.stores),
        "orgs": list(incident.orgs),
        "data_kinds": [kind.value for kind in incident.data_kinds],
        "affected_members": incident.affected.members,
        "affected_subjects": incident.affected.subjects,
        **_mutable(incident),
    }
    return {name: value for name, value in item.items() if value is not None}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _from_item(item: Mapping[str, Any]) -> Incident:
    return Incident(
        org_id=str(item["pk"]).removeprefix("ORG#"),
        id=str(item["sk"]).removeprefix(PREFIX),
        detected_at=datetime.fromisoformat(item["detected_at"]),
        recorded_at=datetime.fromisoformat(item["recorded_at"]),
        recorded_by=item["recorded_by"],
        description=item["description"],
        stores=tuple(item["stores"]),
        orgs=tuple(item["orgs"]),
        data_kinds=tuple(DataKind(kind) for kind in item["data_kinds"]),
        affected=Affected(int(item["affected_members"]), int(item["affected_subjects"])),
        status=IncidentStatus(item["status"]),
        authority_notified_at=_time(item.get("authority_notified_at")),
        authority_reference=item.get("authority_reference"),
        people=PeopleDecision(item["people"]),
        people_decided_at=_time(item.get("people_decided_at")),
        what_to_do=item.get("what_to_do"),
        people_notified=int(item.get("people_notified", 0)),
        version=int(item["version"]),
    )


class DynamoIncidentStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._markers = DynamoRequestStore(client, table)

    def create(self, incident: Incident) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(_to_item(incident)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise Conflict("an incident with this id exists") from None
            raise

    def get(self, org_id: str, incident_id: str) -> Incident | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(incident_key(org_id, incident_id)), ConsistentRead=True
        ).get("Item")
        return _from_item(from_item(item)) if item else None

    def save(self, old: Incident, new: Incident) -> None:
        key = incident_key(old.org_id, old.id)
        conflict = "the incident changed meanwhile; reload and retry"
        save_versioned(self._client, self._table, key, _mutable(new), old.version, conflict)

    def page(self, org_id: str, limit: int, cursor: str | None) -> tuple[list[Incident], str | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": f"ORG#{org_id}", ":prefix": PREFIX}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, {"pk": f"ORG#{org_id}"}, {"sk": PREFIX})
        response = self._client.query(**request)
        last = response.get("LastEvaluatedKey")
        items = [_from_item(from_item(item)) for item in response.get("Items", [])]
        return items, encode_cursor(last) if last else None

    def awaiting_authority(self) -> Iterator[tuple[str, str]]:
        request = {
            "TableName": self._table,
            "IndexName": OPEN_BY_DUE,
            "KeyConditionExpression": "open_pk = :open",
            "ExpressionAttributeValues": to_item({":open": AWAITING_PK}),
        }
        for keys in query_all(self._client, request):
            yield str(keys["pk"]).removeprefix("ORG#"), str(keys["sk"]).removeprefix(PREFIX)

    def claim(self, org_id: str, incident_id: str, key: str) -> bool:
        return self._markers.claim(org_id, f"INC{incident_id}", key)

    def release(self, org_id: str, incident_id: str, key: str) -> None:
        self._markers.release(org_id, f"INC{incident_id}", key)


class DynamoAffectedPeople:
    def __init__(self, client: DynamoDBClient, contacts_table: str, accounts_table: str) -> None:
        self._client = client
        self._contacts_table = contacts_table
        self._members = DynamoMemberStore(client, accounts_table)

    def members(self, org_id: str) -> list[Member]:
        return self._members.list_org(org_id)

    def subject_count(self, org_id: str) -> int:
        request: dict[str, Any] = {
            "TableName": self._contacts_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": org_pk(org_id), ":prefix": "CONTACT#"}),
            "Select": "COUNT",
        }
        total = 0
        while True:
            response = self._client.query(**request)
            total += int(response.get("Count", 0))
            if "LastEvaluatedKey" not in response:
                return total
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
