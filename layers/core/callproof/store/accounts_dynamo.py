"""Accounts adapters.

AccountsTable items (every key begins with the org, except the service's own policy documents):
- member / profile:  pk=ORG#<org>   sk=USER#<user>
- consent record:    pk=ORG#<org>   sk=CONSENT#<user>#<purpose>#<at>#<id>   (append-only)
- consent state:     pk=ORG#<org>   sk=CONSENTS#<user>   (the latest record per purpose)
- policy version:    pk=POLICY#<document>   sk=V#<seq, zero-padded>   (append-only)
- current policy:    pk=POLICY#<document>   sk=CURRENT

Org settings are written to the ContactsTable item its readers already use (``DynamoOrgSettings``:
pk=ORG#<org>, sk=SETTINGS), attribute by attribute, so other attributes of that item survive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.accounts.model import (
    AgeRecord,
    AgeStatus,
    ConsentRecord,
    ConsentSource,
    CurrentPolicy,
    GateView,
    Member,
    PolicyVersion,
    Purpose,
)
from callproof.errors import Conflict
from callproof.store.contacts_dynamo import SETTINGS_SK, org_pk
from callproof.store.dynamo import Item, from_item, to_item, transact
from callproof.tenancy import Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

USER_PREFIX = "USER#"


def member_key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"{USER_PREFIX}{user_id}"}


def _member(item: Mapping[str, Any]) -> Member:
    created = item.get("created_at")
    return Member(
        org_id=item["org_id"],
        user_id=item["user_id"],
        email=item.get("email", ""),
        full_name=item.get("full_name", ""),
        company=item.get("company", ""),
        roles=frozenset(Role(r) for r in item.get("roles", []) if r in Role._value2member_map_),
        username=item.get("username"),
        created_at=datetime.fromisoformat(created) if created else None,
        version=int(item.get("version", 1)),
    )


def _member_item(member: Member) -> Item:
    return {
        **member_key(member.org_id, member.user_id),
        "entity": "member",
        "org_id": member.org_id,
        "user_id": member.user_id,
        "email": member.email,
        "full_name": member.full_name,
        "company": member.company,
        "roles": sorted(member.roles),
        "username": member.username,
        "created_at": member.created_at.isoformat() if member.created_at else None,
        "version": member.version,
    }


class DynamoMemberStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, org_id: str, user_id: str) -> Member | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(member_key(org_id, user_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return _member(from_item(item)) if item else None

    def list_org(self, org_id: str) -> list[Member]:
        members: list[Member] = []
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": to_item({":pk": org_pk(org_id), ":prefix": USER_PREFIX}),
            }
            if start:
                args["ExclusiveStartKey"] = start
            response = self._client.query(**args)
            members.extend(_member(from_item(item)) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return members

    def put(self, old: Member | None, new: Member) -> None:
        if old is None or old.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": to_item({":v": old.version}),
            }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(_member_item(new)), **condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise Conflict("the member exists or changed meanwhile; reload and retry") from None

    def delete(self, member: Member) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_item(member_key(member.org_id, member.user_id)),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues=to_item({":v": member.version}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise Conflict("the member changed meanwhile; reload and retry") from None


class DynamoOrgSettingsStore:
    """Writes the attributes ``DynamoOrgSettings`` (contacts, call logs) reads, on its item."""

    def __init__(self, client: DynamoDBClient, contacts_table: str) -> None:
        self._client = client
        self._table = contacts_table

    def get(self, org_id: str) -> tuple[str | None, int | None]:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK}),
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        region, months = item.get("default_phone_region"), item.get("call_retention_months")
        return (region if isinstance(region, str) else None, months if isinstance(months, int) else None)

    def put(self, org_id: str, region: str | None, retention_months: int | None) -> None:
        values = {"default_phone_region": region, "call_retention_months": retention_months}
        sets = [name for name, value in values.items() if value is not None]
        removes = [name for name, value in values.items() if value is None]
        expression = " ".join(
            part
            for part in (
                ("SET " + ", ".join(f"{n} = :{n}" for n in sets)) if sets else "",
                ("REMOVE " + ", ".join(removes)) if removes else "",
            )
            if part
        )
        args: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK}),
            "UpdateExpression": expression,
        }
        if sets:
            args["ExpressionAttributeValues"] = to_item({f":{n}": values[n] for n in sets})
        self._client.update_item(**args)


# ------------------------------------------------------------------------------ consent, policies
def _record_entry(record: ConsentRecord) -> Item:
    return {
        "purpose": record.purpose.value,
        "granted": record.granted,
        "at": record.at.isoformat(),
        "source": record.source.value,
        "record_id": record.record_id,
        "version": record.version,
        "seq": record.seq,
    }


def _record(org_id: str, user_id: str, entry: Mapping[str, Any]) -> ConsentRecord:
    seq = entry.get("seq")
    return ConsentRecord(
        org_id=org_id,
        user_id=user_id,
        purpose=Purpose(entry["purpose"]),
        granted=bool(entry["granted"]),
        at=datetime.fromisoformat(entry["at"]),
        source=ConsentSource(entry["source"]),
        record_id=entry["record_id"],
        version=entry.get("version"),
        seq=int(seq) if seq is not None else None,
    )


class DynamoConsentStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def append(self, record: ConsentRecord) -> None:
        entry = _record_entry(record)
        sk = f"CONSENT#{record.user_id}#{record.at.isoformat()}#{record.record_id}"
        transact(
            self._client,
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {"pk": org_pk(record.org_id), "sk": sk, "entity": "consent_record", **entry}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",  # append-only
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item(self._state_key(record.org_id, record.user_id)),
                        "UpdateExpression": "SET #p = :entry, entity = :entity",
                        "ExpressionAttributeNames": {"#p": f"p_{record.purpose.value}"},
                        "ExpressionAttributeValues": to_item(
                            {
                                ":entry": {k: v for k, v in entry.items() if v is not None},
                                ":entity": "consent_state",
                            }
                        ),
                    }
                },
            ],
            "a consent record with this id exists; retry",
        )

    def current(self, org_id: str, user_id: str) -> dict[Purpose, ConsentRecord]:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(self._state_key(org_id, user_id)), ConsistentRead=True
        )
        item = from_item(response.get("Item") or {})
        return {
            Purpose(value["purpose"]): _record(org_id, user_id, value)
            for name, value in item.items()
            if name.startswith("p_") and isinstance(value, dict)
        }

    def history(self, org_id: str, user_id: str) -> list[ConsentRecord]:
        records: list[ConsentRecord] = []
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": to_item(
                    {":pk": org_pk(org_id), ":prefix": f"CONSENT#{user_id}#"}
                ),
            }
            if start:
                args["ExclusiveStartKey"] = start
            response = self._client.query(**args)
            records.extend(_record(org_id, user_id, from_item(i)) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return records

    def gate_view(self, org_id: str, user_id: str) -> GateView:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(self._state_key(org_id, user_id)),
            ProjectionExpression="p_terms, age",
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        terms, age = item.get("p_terms") or {}, item.get("age") or {}
        seq = terms.get("seq") if terms.get("granted") else None
        return GateView(
            accepted_terms_seq=int(seq) if seq is not None else 0,
            inactive=age.get("status") == AgeStatus.PENDING_GUARDIAN.value,
        )

    def get_age(self, org_id: str, user_id: str) -> AgeRecord | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(self._state_key(org_id, user_id)),
            ProjectionExpression="age",
            ConsistentRead=True,
        )
        age = from_item(response.get("Item") or {}).get("age")
        if not isinstance(age, dict):
            return None

        def when(name: str) -> datetime | None:
            value = age.get(name)
            return datetime.fromisoformat(value) if value else None

        birth = age.get("birth_date")
        return AgeRecord(
            status=AgeStatus(age["status"]),
            recorded_at=datetime.fromisoformat(age["recorded_at"]),
            birth_date=date.fromisoformat(birth) if birth else None,
            guardian_name=age.get("guardian_name"),
            guardian_email=age.get("guardian_email"),
            guardian_consented_at=when("guardian_consented_at"),
            guardian_method=age.get("guardian_method"),
        )

    def put_age(self, org_id: str, user_id: str, record: AgeRecord) -> None:
        age = {
            "status": record.status.value,
            "recorded_at": record.recorded_at.isoformat(),
            "birth_date": record.birth_date.isoformat() if record.birth_date else None,
            "guardian_name": record.guardian_name,
            "guardian_email": record.guardian_email,
            "guardian_consented_at": (
                record.guardian_consented_at.isoformat() if record.guardian_consented_at else None
            ),
            "guardian_method": record.guardian_method,
        }
        self._client.update_item(
            TableName=self._table,
            Key=to_item(self._state_key(org_id, user_id)),
            UpdateExpression="SET age = :age, entity = :entity",
            ExpressionAttributeValues=to_item(
                {":age": {k: v for k, v in age.items() if v is not None}, ":entity": "consent_state"}
            ),
        )

    @staticmethod
    def _state_key(org_id: str, user_id: str) -> dict[str, str]:
        return {"pk": org_pk(org_id), "sk": f"CONSENTS#{user_id}"}


def _version_item(version: PolicyVersion) -> Item:
    return {
        "document": version.document,
        "version": version.version,
        "seq": version.seq,
        "significant": version.significant,
        "published_at": version.published_at.isoformat(),
        "url": version.url,
    }


def _version(item: Mapping[str, Any]) -> PolicyVersion:
    return PolicyVersion(
        document=item["document"],
        version=item["version"],
        seq=int(item["seq"]),
        significant=bool(item["significant"]),
        published_at=datetime.fromisoformat(item["published_at"]),
        url=item.get("url"),
    )


class DynamoPolicyStore:
    """Policy documents are the service's, not a tenant's: their partition is POLICY#<document>."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def current(self, document: str) -> CurrentPolicy | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"POLICY#{document}", "sk": "CURRENT"}),
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        if not item:
            return None
        significant = item.get("significant_version")
        return CurrentPolicy(
            latest=_version(item["latest"]),
            significant=_version(significant) if isinstance(significant, dict) else None,
        )

    def publish(self, previous: CurrentPolicy | None, version: PolicyVersion) -> None:
        pk = f"POLICY#{version.document}"
        significant = version if version.significant else (previous.significant if previous else None)
        current = {
            "pk": pk,
            "sk": "CURRENT",
            "entity": "policy_current",
            "seq": version.seq,
            "latest": {k: v for k, v in _version_item(version).items() if v is not None},
            "significant_version": (
                {k: v for k, v in _version_item(significant).items() if v is not None}
                if significant
                else None
            ),
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if previous is None
            else {
                "ConditionExpression": "seq = :seq",
                "ExpressionAttributeValues": to_item({":seq": previous.latest.seq}),
            }
        )
        transact(
            self._client,
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": f"V#{version.seq:010d}",
                                "entity": "policy_version",
                                **_version_item(version),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self._table, "Item": to_item(current), **condition}},
            ],
            "another version was published meanwhile; retry",
        )
