"""The exports bucket: streamed archive uploads, reads of staged parts, and short-lived download URLs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from callproof.store.s3_stream import S3MultipartWriter, read_chunks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


class S3Exports:
    def __init__(self, client: S3Client, bucket: str, kms_key_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def writer(self, key: str) -> S3MultipartWriter:
        return S3MultipartWriter(self._client, self._bucket, key, self._kms_key_id)

    def chunks(self, key: str) -> Iterator[bytes]:
        return read_chunks(self._client, self._bucket, key)

    def delete(self, keys: Sequence[str]) -> None:
        """Delete the current versions (staged parts); the lifecycle rule removes older versions."""
        for start in range(0, len(keys), 1000):
            batch: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in keys[start : start + 1000]]
            self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})


class S3ExportLinks:
    """Short-lived download URLs of export archives (the API's only use of the exports bucket)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign(self, key: str, seconds: int) -> str | None:
        """A GET URL valid ``seconds``, or None once the archive has expired (lifecycle rule).

        Links in emails carry our own 7-day token instead of a presigned URL: a URL presigned with a
        Lambda role's temporary credentials dies with them, hours before 7 days."""
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )
