"""The retention purge of the exports bucket (``export_staging``): data-subject export files, staged
parts and archives, under ``exports/<org>/<request>/``. The orgs are the bucket's ``exports/<org>/``
prefixes (a delimited listing); within an org, a key whose newest version is older than the cutoff
goes with every version and delete marker. The bucket's lifecycle rule expires the same files after
the rule's maximum (8 days) in the cloud; this purge applies an org's shorter period, and does the
same where no lifecycle runs (the local stack)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from callproof.retention.ports import PurgedPage
from callproof.store.s3_versions import delete_versions

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EXPORTS_PREFIX = "exports/"


class ExportStagingExpiry:
    name = "export_staging"

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def orgs(self) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=EXPORTS_PREFIX, Delimiter="/"
        )
        for page in pages:
            for prefix in page.get("CommonPrefixes", []):
                yield prefix["Prefix"][len(EXPORTS_PREFIX) :].rstrip("/")

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        expired: list[dict[str, str]] = []
        keys = 0
        for key, versions in self._keys(f"{EXPORTS_PREFIX}{org_id}/"):
            if max(version["LastModified"] for version in versions) < cutoff:
                expired.extend({"Key": key, "VersionId": v["VersionId"]} for v in versions)
                keys += 1
                if keys == limit:
                    break
        if expired:
            delete_versions(self._client, self._bucket, expired)  # raises if S3 keeps refusing
        return PurgedPage(keys, more=keys == limit)

    def _keys(self, prefix: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Each key under ``prefix`` with its versions and delete markers (listed together by key)."""
        key, versions = "", list[dict[str, Any]]()
        pages = self._client.get_paginator("list_object_versions").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        for page in pages:
            entries: list[Any] = sorted(
                [*page.get("Versions", []), *page.get("DeleteMarkers", [])], key=lambda e: e["Key"]
            )
            for entry in entries:
                if entry["Key"] != key and versions:
                    yield key, versions
                    versions = []
                key = entry["Key"]
                versions.append(entry)
        if versions:
            yield key, versions
