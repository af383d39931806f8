"""ImportFiles on S3 (the DataBucket: versioned, SSE-KMS, public access blocked): the presigned upload
under orgs/<org>/imports/, ranged streaming reads, and the rejected-rows file assembled by streaming
its parts into one multipart upload."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from callproof.store.s3_objects import object_size, presigned_post
from callproof.store.s3_stream import MiB, S3MultipartWriter, read_chunks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The worker holds one read and the unfinished line before it: its memory is bounded by this, whatever
# the file's size. A quarter MiB keeps it small and costs nothing (one GetObject stream either way).
READ_CHUNK = MiB // 4


class S3ImportFiles:
    def __init__(self, client: S3Client, bucket: str, kms_key_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]:
        return presigned_post(self._client, self._bucket, key, content_type, max_bytes, expires_in)

    def size(self, key: str) -> int | None:
        return object_size(self._client, self._bucket, key)

    def read(self, key: str, offset: int) -> Iterator[bytes]:
        if offset == 0:
            yield from read_chunks(self._client, self._bucket, key, READ_CHUNK)
            return
        body = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={offset}-")["Body"]
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
        )

    def concatenate(self, prefix: str, key: str, head: bytes) -> None:
        parts: list[str] = []
        with S3MultipartWriter(self._client, self._bucket, key, self._kms_key_id) as out:
            out.write(head)
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                for entry in page.get("Contents", []):
                    parts.append(entry["Key"])
                    for chunk in read_chunks(self._client, self._bucket, entry["Key"]):
                        out.write(chunk)
        for part in parts:  # parts are few (one per chunk with rejected rows) and small
            self._client.delete_object(Bucket=self._bucket, Key=part)

    def presign_get(self, key: str, expires_in: timedelta) -> str:
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=int(expires_in.total_seconds()),
        )

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)
