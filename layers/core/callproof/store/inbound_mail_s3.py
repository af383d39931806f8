"""Mail SES received for the privacy address, as its receipt rule's S3 action stored it:
``<prefix><SES message id>`` in the inbound mail bucket (``InboundMessages`` of the DSAR domain)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a request is words: larger mail (attachments) is not read
MESSAGE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")  # SES message ids are [a-z0-9]{40}


class S3InboundMessages:
    def __init__(self, client: S3Client, bucket: str, prefix: str) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def read(self, message_id: str) -> bytes | None:
        if not MESSAGE_ID.match(message_id):
            return None
        key = f"{self._prefix}{message_id}"
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
            if head["ContentLength"] > MAX_MESSAGE_BYTES:
                return None
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
