"""Every version of a set of keys in a versioned bucket, found by prefix and deleted in batches.

A versioned bucket keeps a deleted object as older versions behind a delete marker, so erasing an object
means deleting each of its versions and markers by version id. Listing each key on its own costs one
``ListObjectVersions`` per object; instead the keys are grouped by their folder (``a/b/`` of ``a/b/c``),
each group is listed once, in pages, under the longest prefix its keys share, from the start of that
prefix until past its last key, and only the versions of the wanted keys are kept. The versions are then
deleted with ``DeleteObjects`` (quiet mode, 1,000 a call); the ones it reports as failed are sent again
with backoff, and still failing after that they raise, so nothing is dropped silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from callproof.errors import TemporarilyUnavailable
from callproof.store.dynamo import backoff_sleep

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_DELETE = 1000  # DeleteObjects' limit of keys a call
DELETE_ATTEMPTS = 5


def versions_of(client: S3Client, bucket: str, keys: Iterable[str]) -> Iterator[dict[str, str]]:
    """``{"Key", "VersionId"}`` of every version and delete marker of ``keys``, folder by folder."""
    folders: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        folders[key.rpartition("/")[0]].add(key)
    for folder in sorted(folders):
        wanted = folders[folder]
        first, last = min(wanted), max(wanted)
        yield from _listed(client, bucket, _shared_prefix(first, last), wanted, last)


def _shared_prefix(first: str, last: str) -> str:
    """The longest prefix of two strings, which every string sorted between them shares too."""
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def count_versions(client: S3Client, bucket: str, keys: Iterable[str]) -> int:
    return sum(1 for _ in versions_of(client, bucket, keys))


def _listed(
    client: S3Client, bucket: str, prefix: str, wanted: set[str], last: str
) -> Iterator[dict[str, str]]:
    """The versions of ``wanted`` under ``prefix``, page by page; the listing (sorted by key) stops
    once a page ends past ``last``."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        entries: list[Any] = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        for entry in entries:
            if entry["Key"] in wanted:
                yield {"Key": entry["Key"], "VersionId": entry["VersionId"]}
        if not page.get("IsTruncated") or page.get("NextKeyMarker", "") > last:
            return


def delete_versions(client: S3Client, bucket: str, versions: Iterable[dict[str, str]]) -> int:
    """Delete ``versions`` 1,000 a call; how many were deleted. Raises ``TemporarilyUnavailable`` if
    some still fail after the retries (a rerun lists what is left and deletes it)."""
    deleted = 0
    batch: list[dict[str, str]] = []
    for version in versions:
        batch.append(version)
        if len(batch) == MAX_DELETE:
            deleted += _delete_batch(client, bucket, batch)
            batch = []
    if batch:
        deleted += _delete_batch(client, bucket, batch)
    return deleted


def _delete_batch(client: S3Client, bucket: str, batch: Sequence[dict[str, str]]) -> int:
    pending: list[Any] = list(batch)
    for attempt in range(DELETE_ATTEMPTS):
        if attempt:
            backoff_sleep(attempt)
        response = client.delete_objects(Bucket=bucket, Delete={"Objects": pending, "Quiet": True})
        failed = {(error.get("Key"), error.get("VersionId")) for error in response.get("Errors", [])}
        pending = [version for version in pending if (version["Key"], version["VersionId"]) in failed]
        if not pending:
            return len(batch)
    raise TemporarilyUnavailable(f"{len(pending)} object version(s) could not be deleted; retry")


def delete_all_versions(client: S3Client, bucket: str, keys: Iterable[str]) -> int:
    """Every version and delete marker of ``keys``; how many were deleted. The listing is finished
    before the first delete, so no page is asked for after its marker's version is gone."""
    return delete_versions(client, bucket, list(versions_of(client, bucket, keys)))
