"""Step Functions executions of the data-subject request workflows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from callproof.dsar.model import RequestType

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsWorkflows:
    def __init__(self, client: SFNClient, export_machine_arn: str, erasure_machine_arn: str) -> None:
        self._client = client
        self._export = export_machine_arn
        self._erasure = erasure_machine_arn

    def machine_for(self, kind: RequestType) -> str:
        return self._erasure if kind is RequestType.ERASURE else self._export

    def start(self, machine: str, name: str, payload: Mapping[str, object]) -> None:
        try:
            self._client.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
