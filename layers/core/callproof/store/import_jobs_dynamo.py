"""Import jobs in the contacts table, one item each.

Item: pk=ORG#<org>#IMPORT#<id>  sk=JOB  status, counts, checkpoint (offset, line), header, lease
(lease_token, lease_until), expires_at (TTL, epoch seconds). Writes are whole-item puts conditional
on the lease token read, so two runs never both write progress.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.contacts.model import ImportJob, ImportStatus
from callproof.store.dynamo import condition_failed, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JOB_SK = "JOB"


def import_key(org_id: str, import_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#IMPORT#{import_id}", "sk": JOB_SK}


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
