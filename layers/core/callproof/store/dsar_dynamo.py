"""Data-subject requests in the DsarTable (the audit trail shares the table: ``audit_dynamo``).

- request:     pk=ORG#<org>  sk=REQ#<id>   the entity; ``stores`` is a map that parallel workflow
               branches update one key at a time; every other change is versioned.
               GSI ByDue:     due_pk=ORG#<org>#REQ, due_sk=<due date>#<id> (the staff list, by due date)
               GSI OpenByDue: open_pk=OPEN, open_sk=<due date>#<org>#<id>, only while the request is
               open (sparse; the daily deadline check reads it without a Scan: the one key without
               the org, since it exists to cross orgs)
               GSI ClosedByOrgTime: closed_pk=ORG#<org>#CLOSED, closed_sk=<closed at>#<id>, only once
               the request is closed (sparse; the retention purge deletes the record 36 months on)
- once-marker: pk=ORG#<org>#REQ#<id>  sk=ONCE#<key>        an email that must not go twice
- org registry: pk=RETENTION#dsar_requests  sk=ORG#<org>   (the orgs the retention purge visits)
- rate count:  ``rates_dynamo`` (public requests per client and per email, across orgs)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.dsar.deadlines import Deadline, DeadlineState, Jurisdiction
from callproof.dsar.model import (
    OPEN_STATUSES,
    Candidate,
    CandidateKind,
    DsarRequest,
    Identifiers,
    Proof,
    RequestType,
    Status,
    StepStatus,
    StoreProgress,
    Subject,
    TimelineEvent,
)
from callproof.errors import Conflict
from callproof.store.dynamo import (
    condition_failed,
    decode_cursor,
    encode_cursor,
    from_item,
    save_versioned,
    time_sk,
    to_item,
)
from callproof.store.retention_registry_dynamo import OrgRegistry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_DUE = "ByDue"
OPEN_BY_DUE = "OpenByDue"
OPEN_PK = "OPEN"
CLOSED_BY_ORG_TIME = "ClosedByOrgTime"


def request_key(org_id: str, request_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"REQ#{request_id}"}


def _subject_item(subject: Subject | None) -> dict[str, Any] | None:
    if subject is None:
        return None
    return {
        "emails": sorted(subject.emails),
        "phones": sorted(subject.phones),
        "contact_ids": sorted(subject.contact_ids),
        "user_ids": sorted(subject.user_ids),
    }


def _subject(org_id: str, item: Mapping[str, Any] | None) -> Subject | None:
    if item is None:
        return None
    return Subject(
        org_id=org_id,
        emails=frozenset(item.get("emails") or ()),
        phones=frozenset(item.get("phones") or ()),
        contact_ids=frozenset(item.get("contact_ids") or ()),
        user_ids=frozenset(item.get("user_ids") or ()),
    )


def _progress_item(progress: StoreProgress) -> dict[str, Any]:
    return {
        "status": progress.status.value,
        "rows": progress.rows,
        "deleted": progress.deleted,
        "kept": progress.kept,
        "kept_because": progress.kept_because,
        "residue": progress.residue,
        "attempts": progress.attempts,
        "error": progress.error,
        "parts": progress.parts,
        "cursor": progress.cursor,
    }


def _progress(item: Mapping[str, Any]) -> StoreProgress:
    return StoreProgress(
        status=StepStatus(item["status"]),
        rows=int(item.get("rows", 0)),
        deleted=int(item.get("deleted", 0)),
        kept=int(item.get("kept", 0)),
        kept_because=item.get("kept_because"),
        residue=item.get("residue"),
        attempts=int(item.get("attempts", 0)),
        error=item.get("error"),
        parts=int(item.get("parts", 0)),
        cursor=item.get("cursor"),
    )


def _mutable(request: DsarRequest) -> dict[str, Any]:
    """The attributes ``save`` owns (everything but keys, creation facts and per-store progress).
    A None is REMOVEd: closing a request drops the person's identifiers in the status's UpdateItem."""
    due = request.deadline.due.isoformat()
    return {
        "status": request.status.value,
        "extended_to": request.deadline.extended_to.isoformat() if request.deadline.extended_to else None,
        "deadline_state": request.deadline_state.value,
        "identifiers": {
            "email": request.identifiers.email,
            "phone": request.identifiers.phone,
            "contact_id": request.identifiers.contact_id,
            "proven": sorted(request.identifiers.proven),
        },
        "subject": _subject_item(request.subject),
        # what the person gave: REMOVEd (None) in the write that closes the request (closing)
        "verification": request.verification,
        "details": request.details,
        "recipient_email": request.recipient_email,
        "identifiers_removed_at": (
            request.identifiers_removed_at.isoformat() if request.identifiers_removed_at else None
        ),
        "candidates": [
            {"kind": candidate.kind.value, "id": candidate.id, "via": list(candidate.via)}
            for candidate in request.candidates
        ],
        "steps": {name: status.value for name, status in request.steps.items()},
        "timeline": [
            {"at": event.at.isoformat(), "event": event.event, "detail": event.detail}
            for event in request.timeline
        ],
        "export_key": request.export_key,
        "answer": request.answer,
        "attempt": request.attempt,
        "version": request.version,
        "due_sk": f"{due}#{request.id}",
        "open_pk": OPEN_PK if request.status in OPEN_STATUSES else None,
        "open_sk": f"{due}#{request.org_id}#{request.id}" if request.status in OPEN_STATUSES else None,
        "closed_pk": None if request.status in OPEN_STATUSES else closed_pk(request.org_id),
        "closed_sk": None if request.status in OPEN_STATUSES else closed_sk(_closed_at(request), request.id),
    }


def closed_pk(org_id: str) -> str:
    return f"ORG#{org_id}#CLOSED"


def closed_sk(at: datetime, request_id: str) -> str:
    return time_sk(at, request_id)


def _closed_at(request: DsarRequest) -> datetime:
    """When a closed request closed: its last timeline event (a later note only keeps it longer)."""
    return request.timeline[-1].at if request.timeline else request.created_at


def _to_item(request: DsarRequest) -> dict[str, Any]:
    return {
        **request_key(request.org_id, request.id),
        "entity": "dsar_request",
        "id": request.id,
        "type": request.type.value,
        "jurisdiction": request.deadline.jurisdiction.value,
        "received": request.deadline.received.isoformat(),
        "deadline_days": request.deadline.days,
        "created_at": request.created_at.isoformat(),
        "created_by": request.created_by,
        "lift": request.lift,
        "stores": {name: _progress_item(progress) for name, progress in request.stores.items()},
        "due_pk": f"ORG#{request.org_id}#REQ",
        **_mutable(request),
    }


def _from_item(item: Mapping[str, Any]) -> DsarRequest:
    org_id = str(item["pk"]).removeprefix("ORG#")
    identifiers = item.get("identifiers") or {}
    return DsarRequest(
        org_id=org_id,
        id=item["id"],
        type=RequestType(item["type"]),
        status=Status(item["status"]),
        deadline=Deadline(
            Jurisdiction(item["jurisdiction"]),
            date.fromisoformat(item["received"]),
            date.fromisoformat(item["extended_to"]) if item.get("extended_to") else None,
            int(item["deadline_days"]) if item.get("deadline_days") is not None else None,
        ),
        identifiers=Identifiers(
            email=identifiers.get("email"),
            phone=identifiers.get("phone"),
            contact_id=identifiers.get("contact_id"),
            proven=frozenset(Proof(kind) for kind in identifiers.get("proven") or ()),
        ),
        created_at=datetime.fromisoformat(item["created_at"]),
        created_by=item["created_by"],
        verification=item.get("verification"),
        details=item.get("details"),
        recipient_email=item.get("recipient_email"),
        lift=bool(item.get("lift", False)),
        answer=item.get("answer"),
        deadline_state=DeadlineState(item.get("deadline_state", DeadlineState.ON_TRACK.value)),
        subject=_subject(org_id, item.get("subject")),
        candidates=tuple(
            Candidate(CandidateKind(found["kind"]), found["id"], tuple(found.get("via") or ()))
            for found in item.get("candidates") or ()
        ),
        stores={name: _progress(value) for name, value in (item.get("stores") or {}).items()},
        steps={name: StepStatus(value) for name, value in (item.get("steps") or {}).items()},
        timeline=tuple(
            TimelineEvent(datetime.fromisoformat(event["at"]), event["event"], event.get("detail"))
            for event in item.get("timeline") or ()
        ),
        export_key=item.get("export_key"),
        attempt=int(item.get("attempt", 0)),
        identifiers_removed_at=(
            datetime.fromisoformat(item["identifiers_removed_at"])
            if item.get("identifiers_removed_at")
            else None
        ),
        version=int(item["version"]),
    )


class DynamoRequestStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._orgs = OrgRegistry(client, table, "dsar_requests")  # the orgs the retention purge visits

    def create(self, request: DsarRequest, confirmation_hash: str | None, expires_at: int | None) -> None:
        item = {**_to_item(request), "confirm_hash": confirmation_hash, "confirm_expires": expires_at}
        try:
            self._client.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise Conflict("a request with this id exists") from None
            raise
        self._orgs.add(request.org_id)

    def get(self, org_id: str, request_id: str) -> DsarRequest | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(request_key(org_id, request_id)), ConsistentRead=True
        ).get("Item")
        return _from_item(from_item(item)) if item else None

    def save(self, old: DsarRequest, new: DsarRequest) -> None:
        key = request_key(old.org_id, old.id)
        conflict = "the request changed meanwhile; reload and retry"
        save_versioned(self._client, self._table, key, _mutable(new), old.version, conflict)

    def set_store(self, org_id: str, request_id: str, store: str, progress: StoreProgress) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item(request_key(org_id, request_id)),
            UpdateExpression="SET #stores.#store = :progress",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#stores": "stores", "#store": store},
            ExpressionAttributeValues=to_item({":progress": _progress_item(progress)}),
        )

    def confirm(self, org_id: str, request_id: str, confirmation_hash: str, now: int) -> DsarRequest | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item(request_key(org_id, request_id)),
                UpdateExpression="REMOVE confirm_hash, confirm_expires",
                ConditionExpression="confirm_hash = :hash AND confirm_expires > :now AND #status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {":hash": confirmation_hash, ":now": now, ":pending": Status.PENDING_CONFIRMATION.value}
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return _from_item(from_item(response["Attributes"]))

    def page(
        self, org_id: str, status: Status | None, due_before: date | None, limit: int, cursor: str | None
    ) -> tuple[list[DsarRequest], str | None]:
        due_pk = f"ORG#{org_id}#REQ"
        condition = "due_pk = :pk"
        values: dict[str, Any] = {":pk": due_pk}
        if due_before is not None:
            condition += " AND due_sk < :before"
            values[":before"] = due_before.isoformat()
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_DUE,
            "KeyConditionExpression": condition,
            "Limit": limit,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            values[":status"] = status.value
        request["ExpressionAttributeValues"] = to_item(values)
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(
                cursor, {"pk": f"ORG#{org_id}", "due_pk": due_pk}, {"sk": "REQ#"}
            )
        found: list[DsarRequest] = []
        while True:  # a filter may leave a page short: keep reading until it is full or the end
            response = self._client.query(**request)
            found.extend(_from_item(from_item(item)) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if last is None or len(found) >= limit:
                return found[:limit], encode_cursor(last) if last else None
            request["ExclusiveStartKey"] = last
            request["Limit"] = limit - len(found)

    def open_requests(self) -> Iterator[tuple[str, str]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OPEN_BY_DUE,
            "KeyConditionExpression": "open_pk = :open",
            "ExpressionAttributeValues": to_item({":open": OPEN_PK}),
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                keys = from_item(item)
                yield str(keys["pk"]).removeprefix("ORG#"), str(keys["sk"]).removeprefix("REQ#")
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _once_key(self, org_id: str, request_id: str, key: str) -> dict[str, Any]:
        return to_item({"pk": f"ORG#{org_id}#REQ#{request_id}", "sk": f"ONCE#{key}"})

    def claim(self, org_id: str, request_id: str, key: str) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**self._once_key(org_id, request_id, key), **to_item({"entity": "once"})},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release(self, org_id: str, request_id: str, key: str) -> None:
        self._client.delete_item(TableName=self._table, Key=self._once_key(org_id, request_id, key))
