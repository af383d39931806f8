"""PhotoStorage on S3 (the DataBucket: versioned, SSE-KMS, public access blocked)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import TemporarilyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3PhotoStorage:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]:
        post = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return str(post["url"]), {k: str(v) for k, v in post["fields"].items()}

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def presign_get(self, key: str, expires_in: timedelta) -> str:
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=int(expires_in.total_seconds()),
        )

    def delete_all_versions(self, key: str) -> int:
        deleted = 0
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=key):
            targets: list[Any] = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if v["Key"] == key
            ]
            if targets:
                response = self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": targets, "Quiet": True}
                )
                if response.get("Errors"):
                    raise TemporarilyUnavailable("some photo versions could not be deleted; retry")
                deleted += len(targets)
        return deleted
