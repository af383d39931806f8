"""Synced mail bodies in S3 (DataBucket, ``orgs/<org>/mail/<user>/<gmail id>.json``, SSE-KMS, versioned)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from callproof.errors import TemporarilyUnavailable
from callproof.store.parallel import ordered_map

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

    def _versions(self, key: str) -> list[dict[str, str]]:
        found = []
        for page in self._client.get_paginator("list_object_versions").paginate(
            Bucket=self._bucket, Prefix=key
        ):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry["Key"] == key:
                    found.append({"Key": key, "VersionId": entry["VersionId"]})
        return found

    def delete_all_versions(self, keys: Sequence[str]) -> int:
        """Every version and delete marker of each key (the bucket is versioned: a plain delete keeps
        the mail)."""
        objects = [version for versions in ordered_map(self._versions, keys) for version in versions]
        for start in range(0, len(objects), 1000):
            response = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": objects[start : start + 1000], "Quiet": True},  # type: ignore[typeddict-item]
            )
            if response.get("Errors"):  # Quiet mode answers only the failures: never drop them
                raise TemporarilyUnavailable("some mail body versions could not be deleted; retry")
        return len(objects)
