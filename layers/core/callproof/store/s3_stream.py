"""Streaming to and from S3 without holding an object in memory.

``S3MultipartWriter`` is a write-only binary stream (usable as ``zipfile.ZipFile(writer, "w")``'s
target) that buffers at most one part and uploads it with ``UploadPart``; the part's buffer is
allocated once, whole, and sent as it is (no copy), so the writer holds the same memory whatever
the size of the stream; ``close()`` completes the
upload, and leaving its ``with`` block through an exception aborts it, so a failed export leaves
neither an object nor a pending upload (which S3 would bill until a lifecycle rule removes it).
Every object is encrypted with SSE-KMS under the given key.

The multipart upload starts only once a whole part is buffered: a stream shorter than one part,
the empty stream included, is stored with one ``PutObject`` (S3 refuses to complete an upload
without parts, and a small object needs no upload at all).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PARTS = 10_000  # S3's maximum per upload


class S3MultipartWriter:
    """A binary, unseekable, write-only stream into one S3 object (SSE-KMS)."""

    def __init__(
        self, client: S3Client, bucket: str, key: str, kms_key_id: str, part_size: int = DEFAULT_PART_SIZE
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self._client = client
        self._bucket = bucket
        self._key = key
        self._kms_key_id = kms_key_id
        self._part_size = part_size
        self._buffer = bytearray(part_size)  # one part, reused: the same memory for any stream
        self._filled = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._written = 0
        self._closed = False

    # The file-like surface zipfile and shutil use.
    @property
    def closed(self) -> bool:
        return self._closed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        """Bytes written so far (zipfile records entry offsets with it)."""
        return self._written

    def flush(self) -> None:
        """Nothing to do: a part leaves only when full (S3's 5 MiB minimum), the rest on ``close()``."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        if self._closed:
            raise ValueError("write to a closed S3MultipartWriter")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            taken = min(self._part_size - self._filled, len(view))
            self._buffer[self._filled : self._filled + taken] = view[:taken]
            self._filled += taken
            view = view[taken:]
            if self._filled == self._part_size:
                self._upload_part()
        self._written += size
        return size

    def close(self) -> None:
        """Store what was written: complete the multipart upload, or one PutObject for a short stream.
        A failure aborts the upload before it propagates."""
        if self._closed:
            return
        self._closed = True
        try:
            del self._buffer[self._filled :]  # in place: the rest of the part is not sent
            if self._upload_id is None:
                self._client.put_object(
                    Bucket=self._bucket, Key=self._key, Body=self._body(), **self._encryption()
                )
            else:
                if self._filled:
                    self._upload_part()
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
                )
        except BaseException:
            self.abort()
            raise
        finally:
            self._buffer, self._filled = bytearray(), 0

    def abort(self) -> None:
        """Drop everything: abort the multipart upload (its parts are deleted); nothing is stored."""
        self._closed = True
        self._buffer, self._filled = bytearray(), 0
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)

    def __enter__(self) -> S3MultipartWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _encryption(self) -> dict[str, Any]:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}

    def _body(self) -> bytes:
        """The buffered part as a request body, without a copy (botocore sends a bytearray as it is;
        the stubs name only bytes). Its length is what was written: a whole part, or the last one
        cut in place."""
        return cast(bytes, self._buffer)

    def _upload_part(self) -> None:
        if self._upload_id is None:
            started = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, **self._encryption()
            )
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ValueError(f"over {MAX_PARTS} parts: raise part_size")
        uploaded = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=self._body(),
        )
        self._parts.append({"PartNumber": number, "ETag": uploaded["ETag"]})
        self._filled = 0  # the part was sent: its buffer takes the next one


def read_chunks(client: S3Client, bucket: str, key: str, chunk: int = MiB) -> Iterator[bytes]:
    """An object's content in chunks of at most ``chunk`` bytes, streamed from GetObject's body."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        yield from body.iter_chunks(chunk)
    finally:
        body.close()
