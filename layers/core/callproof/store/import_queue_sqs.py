"""Contact import runs on SQS: one message per run of a job, carrying the lease token it may take and
which kind of job it is (csv, google)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from callproof.contacts.model import ImportSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsImportQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, org_id: str, import_id: str, token: str, source: ImportSource = ImportSource.CSV) -> None:
        body = {"org_id": org_id, "import_id": import_id, "token": token, "source": source.value}
        self._client.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))
