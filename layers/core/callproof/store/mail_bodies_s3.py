"""Synced mail bodies in S3 (DataBucket, ``orgs/<org>/mail/<user>/<gmail id>.json``, SSE-KMS, versioned)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from callproof.store.s3_versions import delete_all_versions

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3MailBlobs:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ServerSideEncryption="aws:kms",
        )

    def get(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            return None

    def delete_all_versions(self, keys: Sequence[str]) -> int:
        """Every version and delete marker of each key (the bucket is versioned: a plain delete keeps
        the mail), listed by prefix folder by folder and deleted 1,000 a call."""
        return delete_all_versions(self._client, self._bucket, keys)
