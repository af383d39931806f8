"""PhotoStorage on S3 (the DataBucket: versioned, SSE-KMS, public access blocked)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from callproof.store.s3_objects import object_size, presigned_post
from callproof.store.s3_versions import delete_all_versions

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3PhotoStorage:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]:
        return presigned_post(self._client, self._bucket, key, content_type, max_bytes, expires_in)

    def exists(self, key: str) -> bool:
        return object_size(self._client, self._bucket, key) is not None

    def presign_get(self, key: str, expires_in: timedelta) -> str:
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=int(expires_in.total_seconds()),
        )

    def delete_all_versions(self, key: str) -> int:
        return delete_all_versions(self._client, self._bucket, [key])
