"""Lazy, cached boto3 clients.

Nothing is created at import time. boto3 itself honours ``AWS_ENDPOINT_URL`` (and the per-service
``AWS_ENDPOINT_URL_<SERVICE>``), which is how the local stack and the tests point every client at moto
without the code knowing.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

# Adaptive retry mode backs off on throttling (ProvisionedThroughputExceeded, ThrottlingException).
# Throttling that outlives the retries is the caller's cue to retry (503), never a failure (5xx).
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=3, read_timeout=10)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def secretsmanager() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_CONFIG)


@cache
def kms() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=_CONFIG)


@cache
def sqs() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


@cache
def stepfunctions() -> SFNClient:
    return boto3.client("stepfunctions", config=_CONFIG)


@cache
def cognito_idp() -> Any:
    """No stubs are pinned for cognito-idp; the one adapter using it types its calls itself."""
    return boto3.client("cognito-idp", config=_CONFIG)


@cache
def ses() -> Any:
    """No stubs are pinned for SES; the one adapter using it (``SesMailer``) types its call itself."""
    return boto3.client("ses", config=_CONFIG)


def reset() -> None:
    """Drop cached clients (tests that switch endpoints or credentials call this)."""
    dynamodb.cache_clear()
    secretsmanager.cache_clear()
    kms.cache_clear()
    s3.cache_clear()
    sqs.cache_clear()
    stepfunctions.cache_clear()
    cognito_idp.cache_clear()
    ses.cache_clear()
