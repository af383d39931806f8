"""Import jobs in the contacts table, one item each, and each user's current job per source.

Item: pk=ORG#<org>#IMPORT#<id>  sk=JOB  source, status, counts, checkpoint (a file's offset and
line, header; Google's sync_from, page_token, pages_done, next_sync_token), lease (lease_token,
lease_until), expires_at (TTL, epoch seconds). Writes are whole-item puts conditional on the lease
token read, so two runs never both write progress.

Current job: pk=ORG#<org>#IMPORTS#<user>  sk=CURRENT#<source>  import_id, expires_at (the job's):
written with the job in one transaction, conditional on the id it replaces.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.contacts.model import ImportJob, ImportSource, ImportStatus
from callproof.errors import Conflict
from callproof.store.dynamo import condition_failed, from_item, to_item, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JOB_SK = "JOB"


def import_key(org_id: str, import_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#IMPORT#{import_id}", "sk": JOB_SK}


def current_key(org_id: str, user_id: str, source: ImportSource) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#IMPORTS#{user_id}", "sk": f"CURRENT#{source.value}"}


def _to_record(job: ImportJob) -> dict[str, Any]:
    return {
        **import_key(job.org_id, job.id),
        "entity": "contact_import",
        "org_id": job.org_id,
        "import_id": job.id,
        "user_id": job.user_id,
        "status": job.status.value,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "expires_at": int(job.expires_at.timestamp()),
        "size": job.size,
        "header": list(job.header) if job.header is not None else None,
        "offset": job.offset,
        "line": job.line,
        "rows_done": job.rows_done,
        "counts": job.counts,
        "errors": job.errors,
        "message": job.message,
        "lease_token": job.lease_token,
        "lease_until": job.lease_until.isoformat() if job.lease_until else None,
        "source": job.source.value,
        "sync_from": job.sync_from,
        "page_token": job.page_token,
        "pages_done": job.pages_done,
        "next_sync_token": job.next_sync_token,
        "full_sync": job.full_sync,
        "removed_in_google": job.removed_in_google,
    }


def _from_record(item: dict[str, Any]) -> ImportJob:
    return ImportJob(
        org_id=item["org_id"],
        id=item["import_id"],
        user_id=item["user_id"],
        status=ImportStatus(item["status"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
        expires_at=datetime.fromtimestamp(int(item["expires_at"]), tz=UTC),
        size=item.get("size"),
        header=tuple(item["header"]) if "header" in item else None,
        offset=int(item["offset"]),
        line=int(item["line"]),
        rows_done=int(item["rows_done"]),
        counts={key: int(value) for key, value in item.get("counts", {}).items()},
        errors=int(item["errors"]),
        message=item.get("message"),
        lease_token=item.get("lease_token"),
        lease_until=datetime.fromisoformat(item["lease_until"]) if "lease_until" in item else None,
        source=ImportSource(item.get("source", ImportSource.CSV.value)),
        sync_from=item.get("sync_from"),
        page_token=item.get("page_token"),
        pages_done=bool(item.get("pages_done", False)),
        next_sync_token=item.get("next_sync_token"),
        full_sync=bool(item.get("full_sync", False)),
        removed_in_google=int(item.get("removed_in_google", 0)),
    )


class DynamoImportJobStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, job: ImportJob) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_item(_to_record(job)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, org_id: str, import_id: str) -> ImportJob | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(import_key(org_id, import_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return _from_record(from_item(item)) if item else None

    def save(self, job: ImportJob, held_token: str | None) -> bool:
        if held_token is None:
            condition: dict[str, Any] = {
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(lease_token)"
            }
        else:
            condition = {
                "ConditionExpression": "lease_token = :held",
                "ExpressionAttributeValues": to_item({":held": held_token}),
            }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(_to_record(job)), **condition)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def current(self, org_id: str, user_id: str, source: ImportSource) -> str | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(current_key(org_id, user_id, source)), ConsistentRead=True
        )
        item = response.get("Item")
        return str(from_item(item)["import_id"]) if item else None

    def create_current(self, job: ImportJob, replaces: str | None) -> bool:
        pointer = {
            **current_key(job.org_id, job.user_id, job.source),
            "entity": "contact_import_current",
            "import_id": job.id,
            "expires_at": int(job.expires_at.timestamp()),
        }
        if replaces is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "import_id = :replaces",
                "ExpressionAttributeValues": to_item({":replaces": replaces}),
            }
        actions = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(_to_record(job)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": to_item(pointer), **condition}},
        ]
        try:
            transact(self._client, actions, "the user's current import changed")
        except Conflict:
            return False
        return True
