"""S3MultipartWriter and read_chunks on moto: a ~20 MiB round trip in 8 MiB parts under SSE-KMS, a ZIP
assembled straight into S3, the empty stream, and aborts that leave no object and no pending upload."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from callproof.dsar.export import ExportPart, assemble
from callproof.store.s3_stream import MiB, S3MultipartWriter, read_chunks
from tests.integration.moto_env import REGION, bare_aws

BUCKET = "exports-test"


class CountingS3:
    """The real (moto) client, counting the calls the writer makes."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []
        self.part_sizes: list[int] = []
        self.fail: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            if name in self.fail:
                raise RuntimeError(f"{name} failed")
            if name == "upload_part":
                self.part_sizes.append(len(kwargs["Body"]))
            return method(**kwargs)

        return call


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CountingS3, str]]:
    with bare_aws(monkeypatch):
        client = boto3.client("s3", region_name=REGION)
        key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield CountingS3(client), key_id


def pending_uploads(client: CountingS3) -> list[Any]:
    return list(client._client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def versions(client: CountingS3, key: str) -> list[Any]:
    listed = client._client.list_object_versions(Bucket=BUCKET, Prefix=key)
    return list(listed.get("Versions", [])) + list(listed.get("DeleteMarkers", []))


def fail_after_writing(writer: S3MultipartWriter, data: bytes, error: Exception) -> None:
    with writer:
        writer.write(data)
        raise error


def test_twenty_mib_round_trip_in_8_mib_parts_with_sse_kms(s3: tuple[CountingS3, str]) -> None:
    client, key_id = s3
    data = random.Random(1).randbytes(20 * MiB + 12345)
    with S3MultipartWriter(client, BUCKET, "org-a/req-1.bin", key_id) as writer:  # type: ignore[arg-type]
        for start in range(0, len(data), 300_001):  # odd-sized writes across part boundaries
            assert writer.write(data[start : start + 300_001]) == len(data[start : start + 300_001])
        assert writer.tell() == len(data)
    assert client.part_sizes == [8 * MiB, 8 * MiB, 4 * MiB + 12345]
    assert client.calls.count("complete_multipart_upload") == 1
    head = client._client.head_object(Bucket=BUCKET, Key="org-a/req-1.bin")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]
    assert head["ContentLength"] == len(data)

    chunks = list(read_chunks(client, BUCKET, "org-a/req-1.bin"))  # type: ignore[arg-type]
    assert max(len(chunk) for chunk in chunks) <= MiB
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(data).digest()
    assert pending_uploads(client) == []


def test_a_short_stream_is_one_put_and_the_empty_stream_an_empty_object(s3: tuple[CountingS3, str]) -> None:
    client, key_id = s3
    with S3MultipartWriter(client, BUCKET, "small", key_id) as writer:  # type: ignore[arg-type]
        writer.write(b"hello")
    with S3MultipartWriter(client, BUCKET, "empty", key_id):  # type: ignore[arg-type]
        pass
    assert "create_multipart_upload" not in client.calls
    assert b"".join(read_chunks(client, BUCKET, "small")) == b"hello"  # type: ignore[arg-type]
    empty = client._client.get_object(Bucket=BUCKET, Key="empty")
    assert empty["ContentLength"] == 0
    assert empty["ServerSideEncryption"] == "aws:kms"
    assert list(read_chunks(client, BUCKET, "empty")) == []  # type: ignore[arg-type]


def test_an_exception_after_parts_were_uploaded_aborts(s3: tuple[CountingS3, str]) -> None:
    client, key_id = s3
    writer = S3MultipartWriter(client, BUCKET, "org-a/broken.zip", key_id)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="collector failed"):
        fail_after_writing(writer, b"x" * (17 * MiB), RuntimeError("collector failed"))
    assert len(client.part_sizes) == 2  # parts really went up before the failure
    assert "abort_multipart_upload" in client.calls
    assert "complete_multipart_upload" not in client.calls
    assert versions(client, "org-a/broken.zip") == []
    assert pending_uploads(client) == []
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"more")


def test_an_exception_before_the_first_part_stores_nothing(s3: tuple[CountingS3, str]) -> None:
    client, key_id = s3
    writer = S3MultipartWriter(client, BUCKET, "org-a/early.zip", key_id)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="boom"):
        fail_after_writing(writer, b"partial", KeyError("boom"))
    assert versions(client, "org-a/early.zip") == []
    assert client.calls == []


def test_a_failing_completion_aborts_the_upload(s3: tuple[CountingS3, str]) -> None:
    client, key_id = s3
    client.fail.add("complete_multipart_upload")
    writer = S3MultipartWriter(client, BUCKET, "org-a/x.zip", key_id)  # type: ignore[arg-type]
    writer.write(b"y" * (9 * MiB))
    with pytest.raises(RuntimeError, match="complete_multipart_upload failed"):
        writer.close()
    assert client.calls[-1] == "abort_multipart_upload"
    assert pending_uploads(client) == []
    assert versions(client, "org-a/x.zip") == []


def test_assemble_streams_a_zip_into_s3(s3: tuple[CountingS3, str]) -> None:
    """The writer is what zipfile writes to: unseekable, with tell(); the object reads back as a zip."""
    client, key_id = s3
    noise = random.Random(2)
    blocks = [noise.randbytes(3 * MiB) for _ in range(6)]  # 18 MiB that deflate cannot shrink
    part = ExportPart("notes", ("text",), 6, iter(blocks))
    mail = [("mail/m1.eml", b"Subject: hi\r\n\r\nbody")]
    with S3MultipartWriter(client, BUCKET, "org-a/req-2.zip", key_id) as writer:  # type: ignore[arg-type]
        assert writer.seekable() is False
        assemble(writer, [part], mail, datetime(2026, 11, 28, tzinfo=UTC), {"id": "req-2", "type": "access"})
    assert client.part_sizes[:2] == [8 * MiB, 8 * MiB]  # it really went up as a multipart upload
    body = b"".join(read_chunks(client, BUCKET, "org-a/req-2.zip"))  # type: ignore[arg-type]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert archive.read("notes.csv") == b"".join(blocks)
        assert json.loads(archive.read("manifest.json"))["files"] == {"mail": 1}


def test_part_size_below_s3_minimum_is_refused(s3: tuple[CountingS3, str]) -> None:
    client, key_id = s3
    with pytest.raises(ValueError, match="part_size"):
        S3MultipartWriter(client, BUCKET, "k", key_id, part_size=MiB)  # type: ignore[arg-type]
