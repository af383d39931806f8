"""What the DataBucket's adapters share for single objects: a presigned upload form limited to one
type and size, and an object's size (None when it does not exist)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


def presigned_post(
    client: S3Client, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: timedelta
) -> tuple[str, dict[str, str]]:
    """A form S3 itself holds to ``content_type`` and 1..``max_bytes`` bytes until it expires."""
    post = client.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=int(expires_in.total_seconds()),
    )
    return str(post["url"]), {k: str(v) for k, v in post["fields"].items()}


def object_size(client: S3Client, bucket: str, key: str) -> int | None:
    try:
        return int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _MISSING:
            return None
        raise
