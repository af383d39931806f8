"""callproof.store.s3_versions on moto: every version and delete marker of the wanted keys found by
prefix in pages (not one listing per key) and deleted 1,000 a call, neighbours left alone, and the
versions DeleteObjects reports as failed sent again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from callproof.errors import TemporarilyUnavailable
from callproof.store import s3_versions
from callproof.store.s3_versions import count_versions, delete_all_versions, versions_of
from tests.integration.moto_env import REGION, bare_aws

BUCKET = "data-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("MOTO_S3_DEFAULT_MAX_KEYS", "7")  # small pages: the listings must page
    with bare_aws(monkeypatch):
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def put_versions(client: Any, key: str, versions: int = 2, deleted: bool = False) -> None:
    for n in range(versions):
        client.put_object(Bucket=BUCKET, Key=key, Body=f"v{n}".encode())
    if deleted:
        client.delete_object(Bucket=BUCKET, Key=key)  # a delete marker on top


def all_keys(client: Any) -> Counter[str]:
    found: Counter[str] = Counter()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            found[entry["Key"]] += 1
    return found


def counting(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def test_every_version_and_marker_of_the_wanted_keys_goes_and_nothing_else(s3: Any) -> None:
    wanted = [f"orgs/o/mail/rep-1/g{n}.json" for n in (1, 5, 12, 30)] + ["orgs/o/mail/rep-2/x.json"]
    for key in wanted:
        put_versions(s3, key, deleted=key.endswith("g5.json"))
    neighbours = [
        "orgs/o/mail/rep-1/g1.json.bak",  # a longer key with a wanted key as its prefix
        "orgs/o/mail/rep-1/g10.json",  # sorted between wanted keys
        "orgs/o/mail/rep-1/g2.json",
        "orgs/o/mail/rep-10/x.json",  # a folder that shares the wanted folder's prefix
        "orgs/o2/mail/rep-1/g1.json",
    ]
    for key in neighbours:
        put_versions(s3, key)

    assert count_versions(s3, BUCKET, wanted) == 11  # 5 keys x 2 versions, one delete marker
    assert delete_all_versions(s3, BUCKET, wanted) == 11

    assert all_keys(s3) == Counter({key: 2 for key in neighbours})
    assert count_versions(s3, BUCKET, wanted) == 0
    assert delete_all_versions(s3, BUCKET, wanted) == 0  # a rerun finds nothing left


def test_a_folder_is_listed_in_pages_not_once_per_key(s3: Any) -> None:
    keys = [f"orgs/o/mail/rep-1/{n:04d}.json" for n in range(60)]
    for key in keys:
        put_versions(s3, key, versions=1)
    calls = counting(s3)

    assert delete_all_versions(s3, BUCKET, keys[:40]) == 40

    assert calls["ListObjectVersions"] <= 40 // 7 + 2  # pages of 7, stopping after the last wanted key
    assert calls["DeleteObjects"] == 1
    assert sorted(all_keys(s3)) == keys[40:]


def test_the_listing_starts_at_the_keys_shared_prefix_and_stops_past_the_last(s3: Any) -> None:
    for n in range(50):
        put_versions(s3, f"orgs/o/mail/rep-1/a{n:03d}.json", versions=1)
        put_versions(s3, f"orgs/o/mail/rep-1/b{n:03d}.json", versions=1)
        put_versions(s3, f"orgs/o/mail/rep-1/c{n:03d}.json", versions=1)
    calls = counting(s3)

    found = list(versions_of(s3, BUCKET, ["orgs/o/mail/rep-1/b010.json", "orgs/o/mail/rep-1/b012.json"]))

    assert sorted(v["Key"] for v in found) == ["orgs/o/mail/rep-1/b010.json", "orgs/o/mail/rep-1/b012.json"]
    assert calls["ListObjectVersions"] == 1  # under ".../b01", not the folder's 150 keys


def test_deletes_go_a_thousand_keys_a_call(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_S3_DEFAULT_MAX_KEYS", "1000")
    versions = [{"Key": f"k/{n}", "VersionId": "null"} for n in range(2500)]
    batches: list[int] = []

    class Recording:
        def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
            assert Delete["Quiet"] is True
            batches.append(len(Delete["Objects"]))
            return {}

    assert s3_versions.delete_versions(Recording(), BUCKET, versions) == 2500  # type: ignore[arg-type]
    assert batches == [1000, 1000, 500]


class Failing:
    """DeleteObjects that reports the first ``failures`` calls' first two objects as failed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[list[str]] = []

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        objects = Delete["Objects"]
        self.sent.append([o["Key"] for o in objects])
        if self.failures:
            self.failures -= 1
            errors = [{"Key": o["Key"], "VersionId": o["VersionId"], "Code": "SlowDown"} for o in objects[:2]]
            return {"Errors": errors}
        return {}


def test_the_versions_reported_as_failed_are_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_versions, "backoff_sleep", lambda attempt: None)
    client = Failing(failures=2)
    versions = [{"Key": f"k/{n}", "VersionId": f"v{n}"} for n in range(5)]

    assert s3_versions.delete_versions(client, BUCKET, versions) == 5  # type: ignore[arg-type]
    assert client.sent == [[f"k/{n}" for n in range(5)], ["k/0", "k/1"], ["k/0", "k/1"]]


def test_versions_that_keep_failing_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_versions, "backoff_sleep", lambda attempt: None)
    client = Failing(failures=99)

    with pytest.raises(TemporarilyUnavailable):
        s3_versions.delete_versions(client, BUCKET, [{"Key": "k/0", "VersionId": "v0"}])  # type: ignore[arg-type]
    assert len(client.sent) == s3_versions.DELETE_ATTEMPTS
