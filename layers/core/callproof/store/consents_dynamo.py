"""Consent records, the current consents and the age / guardian record on DynamoDB (AccountsTable;
layout in ``store/members_dynamo.py``): records are append-only, the state item holds the latest record
per purpose and the age record."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from callproof.accounts.model import AgeRecord, AgeStatus, ConsentRecord, ConsentSource, GateView, Purpose
from callproof.store.contacts_dynamo import org_pk
from callproof.store.dynamo import Item, from_item, to_item, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def consents_key(org_id: str, user_id: str) -> dict[str, str]:
    """The user's current consents and age record (one item)."""
    return {"pk": org_pk(org_id), "sk": f"CONSENTS#{user_id}"}


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
                        "Key": to_item(consents_key(record.org_id, record.user_id)),
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
            TableName=self._table, Key=to_item(consents_key(org_id, user_id)), ConsistentRead=True
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

    def geolocation_granted(self, org_id: str, user_id: str) -> bool:
        """The calls domain's ``GeolocationConsent``: is the current ``geolocation`` record a grant?"""
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(consents_key(org_id, user_id)),
            ProjectionExpression="p_geolocation",
            ConsistentRead=True,
        )
        entry = from_item(response.get("Item") or {}).get("p_geolocation") or {}
        return entry.get("granted") is True

    def gate_view(self, org_id: str, user_id: str) -> GateView:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(consents_key(org_id, user_id)),
            ProjectionExpression="p_terms, age, removed_at",
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        terms, age = item.get("p_terms") or {}, item.get("age") or {}
        seq = terms.get("seq") if terms.get("granted") else None
        return GateView(
            accepted_terms_seq=int(seq) if seq is not None else 0,
            inactive=age.get("status") == AgeStatus.PENDING_GUARDIAN.value,
            age_answered=bool(age.get("status")),
            removed="removed_at" in item,  # mirrored by the member store on removal (ADR 0023)
        )

    def get_age(self, org_id: str, user_id: str) -> AgeRecord | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(consents_key(org_id, user_id)),
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
            Key=to_item(consents_key(org_id, user_id)),
            UpdateExpression="SET age = :age, entity = :entity",
            ExpressionAttributeValues=to_item(
                {":age": {k: v for k, v in age.items() if v is not None}, ":entity": "consent_state"}
            ),
        )
