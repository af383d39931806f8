"""Provisioning: every resource of the fixture template exists in moto, with its template settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from callproof_local.provision import local_name
from callproof_local.stack import LocalStack

Aws = Callable[[str], Any]


def test_table_has_keys_indexes_stream_ttl_and_sse(stack: LocalStack, aws: Aws) -> None:
    dynamodb = aws("dynamodb")
    table = dynamodb.describe_table(TableName="callproof-local-eventstable")["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["SSEDescription"]["Status"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName="callproof-local-eventstable")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert stack.physical["EventsTable"].attributes["StreamArn"] == table["LatestStreamArn"]


def test_bucket_is_versioned_and_encrypted(aws: Aws) -> None:
    s3 = aws("s3")
    assert s3.get_bucket_versioning(Bucket="callproof-local-filesbucket")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="callproof-local-filesbucket")[
        "ServerSideEncryptionConfiguration"
    ]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_key_alias_and_rotation(stack: LocalStack, aws: Aws) -> None:
    kms = aws("kms")
    key_id = stack.physical["FixtureKey"].ref
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/callproof-test-fixture"] == key_id


def test_queues_fifo_and_redrive(stack: LocalStack, aws: Aws) -> None:
    sqs = aws("sqs")
    fifo_url = sqs.get_queue_url(QueueName="callproof-local-ordersqueue.fifo")["QueueUrl"]
    fifo = sqs.get_queue_attributes(QueueUrl=fifo_url, AttributeNames=["All"])["Attributes"]
    assert fifo["FifoQueue"] == "true"
    jobs = sqs.get_queue_attributes(QueueUrl=stack.physical["JobsQueue"].ref, AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(jobs["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.physical["JobsDeadLetterQueue"].attributes["Arn"],
        "maxReceiveCount": 2,
    }
    assert jobs["VisibilityTimeout"] == "1"


def test_secret_is_generated_from_its_template(stack: LocalStack, aws: Aws) -> None:
    value = aws("secretsmanager").get_secret_value(SecretId=stack.physical["FixtureSecret"].ref)[
        "SecretString"
    ]
    secret = json.loads(value)
    assert secret["username"] == "fixture"
    assert len(secret["password"]) >= 24


def test_functions_and_state_machine_are_registered(stack: LocalStack, aws: Aws) -> None:
    names = {f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]}
    assert {
        "callproof-local-echofunction",
        "callproof-local-boomfunction",
        "callproof-local-recorderfunction",
    } <= names
    machine = aws("stepfunctions").describe_state_machine(
        stateMachineArn=stack.physical["FixtureStateMachine"].ref
    )
    assert stack.functions["EchoFunction"].arn in machine["definition"]


def test_skipped_types_resolve_to_placeholders(stack: LocalStack) -> None:
    assert stack.physical["FixtureApi"].ref == local_name("FixtureApi")


def test_user_pool_is_created_for_the_accounts_api(stack: LocalStack, aws: Aws) -> None:
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=stack.physical["FixtureUserPool"].ref)["UserPool"]
    assert pool["Name"] == "fixture-test"
    assert stack.physical["FixtureUserPool"].attributes["Arn"] == pool["Arn"]


def test_function_environment_points_at_created_resources(stack: LocalStack) -> None:
    env = stack.functions["EchoFunction"].environment
    assert env["TABLE_NAME"] == "callproof-local-eventstable"
    assert env["KEY_ID"] == stack.physical["FixtureKey"].ref
    assert env["QUEUE_URL"].endswith("/callproof-local-jobsqueue")


def test_long_names_stay_within_limits() -> None:
    name = local_name("A" * 80, 63)
    assert len(name) == 63
    assert name == name.lower()
    assert name != local_name("A" * 81, 63)
