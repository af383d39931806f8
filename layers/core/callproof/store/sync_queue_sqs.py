"""Gmail sync jobs on SQS: one message per mailbox to sync from a history id."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsSyncQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, org_id: str, user_id: str, history_id: int) -> None:
        body = {"org_id": org_id, "user_id": user_id, "history_id": history_id}
        self._client.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))
