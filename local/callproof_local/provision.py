"""Create the template's resources in moto, so the local stack and the cloud cannot drift.

Each resource type the local stack needs has one provisioner; resources are created in dependency
order (an alias after its key, a queue after its dead-letter queue). Types that have no local meaning
(Cognito, log groups, the Api, layers, IAM, bucket policies...) are not created, but still get a
deterministic placeholder name so a ``!Ref`` to them resolves.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import boto3

from callproof_local import model
from callproof_local.template import (
    ACCOUNT_ID,
    DEFAULT_TEMPLATE,
    REGION,
    Physical,
    Resolver,
    Template,
    TemplateError,
    load_template,
    references,
)

NAME_PREFIX = "callproof-local-"
LAMBDA_ROLE = "callproof-local-lambda"


def local_name(logical_id: str, max_length: int = 63) -> str:
    """``callproof-local-<logical id lowercased>``, shortened with a hash if a service limit needs it."""
    name = NAME_PREFIX + logical_id.lower()
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: max_length - 9]}-{digest}"


def aws_session() -> boto3.Session:
    """A session with moto's dummy credentials: the local stack never talks to real AWS."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)  # noqa: S106


@dataclass
class Context:
    endpoint: str
    session: boto3.Session
    resolver: Resolver
    template: Template
    template_dir: Path

    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """One client per service for the whole provisioning run (creating clients is the slow part)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]
        return self._clients[service]

    def properties(self, logical_id: str) -> dict[str, Any]:
        resolved = self.resolver.resolve(self.template["Resources"][logical_id].get("Properties", {}))
        return resolved if isinstance(resolved, dict) else {}


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


# -------------------------------------------------------------------------------------- provisioners
def _table(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    client = ctx.client("dynamodb")
    name = local_name(logical_id, 255)
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if args["BillingMode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            args[key] = [_index(index, args["BillingMode"]) for index in props[key]]
    if "StreamSpecification" in props:
        view = props["StreamSpecification"]["StreamViewType"]
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    sse = props.get("SSESpecification", {})
    if sse.get("SSEEnabled"):
        args["SSESpecification"] = {"Enabled": True, "SSEType": sse.get("SSEType", "KMS")}
        if "KMSMasterKeyId" in sse:
            args["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
    table = client.create_table(**args)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Physical(name, attributes)


def _throughput(spec: dict[str, Any] | None) -> dict[str, int]:
    spec = spec or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return {key: int(spec[key]) for key in ("ReadCapacityUnits", "WriteCapacityUnits")}


def _index(index: dict[str, Any], billing_mode: str) -> dict[str, Any]:
    kept: dict[str, Any] = {
        key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index
    }
    if billing_mode == "PROVISIONED" and "ProvisionedThroughput" in index:
        kept["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return kept


def _bucket(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    client = ctx.client("s3")
    name = local_name(logical_id, 63)
    client.create_bucket(Bucket=name)
    status = props.get("VersioningConfiguration", {}).get("Status")
    if status:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    if rules:
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                        "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                    }
                    for rule in rules
                ]
            },
        )
    return Physical(
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        },
    )


def _kms_key(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    client = ctx.client("kms")
    args: dict[str, Any] = {
        "Description": props.get("Description", logical_id),
        "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
    }
    if "KeyPolicy" in props:
        args["Policy"] = json.dumps(props["KeyPolicy"])
    key = client.create_key(**args)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        client.enable_key_rotation(KeyId=key["KeyId"])
    return Physical(key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})


def _kms_alias(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    client = ctx.client("kms")
    client.create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return Physical(props["AliasName"], {})


_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
    "FifoThroughputLimit", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
    "RedrivePolicy", "RedriveAllowPolicy",
)  # fmt: skip


def _queue(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    client = ctx.client("sqs")
    fifo = bool(props.get("FifoQueue"))
    name = local_name(logical_id, 75) + (".fifo" if fifo else "")
    attributes: dict[Any, str] = {
        key: _queue_attribute(props[key]) for key in _QUEUE_ATTRIBUTES if key in props
    }
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return Physical(url, {"Arn": _arn("sqs", name), "QueueName": name, "QueueUrl": url})


def _queue_attribute(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _secret(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    client = ctx.client("secretsmanager")
    args: dict[str, Any] = {"Name": local_name(logical_id, 512)}
    if "Description" in props:
        args["Description"] = props["Description"]
    if "KmsKeyId" in props:
        args["KmsKeyId"] = props["KmsKeyId"]
    generate = props.get("GenerateSecretString")
    if "SecretString" in props:
        args["SecretString"] = props["SecretString"]
    elif generate is not None:
        generated = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))
        template_json = generate.get("SecretStringTemplate")
        key = generate.get("GenerateStringKey")
        if template_json and key:
            args["SecretString"] = json.dumps({**json.loads(template_json), key: generated})
        else:
            args["SecretString"] = generated
    arn = client.create_secret(**args)["ARN"]
    return Physical(arn, {"Arn": arn, "Id": arn})


def _ses_identity(ctx: Context, logical_id: str) -> Physical:
    identity = str(ctx.properties(logical_id)["EmailIdentity"])
    client = ctx.client("ses")
    if "@" in identity:
        client.verify_email_identity(EmailAddress=identity)
    else:
        client.verify_domain_identity(Domain=identity)
    return Physical(identity, {})


def _lambda_role(ctx: Context) -> str:
    iam = ctx.client("iam")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(policy))
        return str(role["Role"]["Arn"])


def _placeholder_zip() -> bytes:
    """moto's Lambda needs code; the local stack runs the real handler in-process (see bridge.py)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the local stack runs functions in-process\n")
    return buffer.getvalue()


def _function(ctx: Context, logical_id: str) -> Physical:
    props = model.function_properties(ctx.template, logical_id)
    client = ctx.client("lambda")
    name = local_name(logical_id, 64)
    arn = client.create_function(
        FunctionName=name,
        Runtime="python3.12",  # never run by moto: the bridge runs the handler in-process
        Role=_lambda_role(ctx),
        Handler=str(props["Handler"]),
        Code={"ZipFile": _placeholder_zip()},
        Timeout=int(ctx.resolver.resolve(props.get("Timeout", 3))),
        MemorySize=int(ctx.resolver.resolve(props.get("MemorySize", 128))),
    )["FunctionArn"]
    return Physical(name, {"Arn": arn})


def _state_machine(ctx: Context, logical_id: str) -> Physical:
    machine = model.state_machine(ctx.template, ctx.template_dir, logical_id, ctx.resolver)
    client = ctx.client("stepfunctions")
    name = local_name(logical_id, 80)
    arn = client.create_state_machine(
        name=name,
        definition=machine.definition(),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/callproof-local-states",
    )["stateMachineArn"]
    return Physical(arn, {"Arn": arn, "Name": name})


def _user_pool(ctx: Context, logical_id: str) -> Physical:
    """The Cognito user pool (moto's cognito-idp): the accounts API creates members in it."""
    props = ctx.properties(logical_id)
    args: dict[str, Any] = {"PoolName": str(props.get("UserPoolName") or local_name(logical_id))}
    for key in ("UsernameAttributes", "AutoVerifiedAttributes", "Schema"):
        if key in props:
            args[key] = props[key]
    pool = ctx.client("cognito-idp").create_user_pool(**args)["UserPool"]
    return Physical(pool["Id"], {"Arn": pool["Arn"], "ProviderName": pool["Id"]})


def _user_pool_group(ctx: Context, logical_id: str) -> Physical:
    props = ctx.properties(logical_id)
    ctx.client("cognito-idp").create_group(
        UserPoolId=props["UserPoolId"], GroupName=props["GroupName"], Description=props.get("Description", "")
    )
    return Physical(str(props["GroupName"]), {})


Provisioner = Callable[[Context, str], Physical]

PROVISIONERS: dict[str, Provisioner] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::S3::Bucket": _bucket,
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::SQS::Queue": _queue,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SES::EmailIdentity": _ses_identity,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::Serverless::Function": _function,
    "AWS::Serverless::StateMachine": _state_machine,
    "AWS::StepFunctions::StateMachine": _state_machine,
}


def placeholder(logical_id: str, resource_type: str) -> Physical:
    """A name and ARNs for a resource that is not created locally (or not yet, for documents)."""
    name = local_name(logical_id)
    service = resource_type.split("::")[1].lower()
    arn = _arn(service, name)
    return Physical(name, {"Arn": arn, "StreamArn": f"{arn}/stream/local", "QueueName": name})


def declared_functions(path: Path = DEFAULT_TEMPLATE) -> dict[str, model.Function]:
    """The template's functions, their resources named by placeholders (nothing is created): what the
    OpenAPI document, the cold-start bench and the route-enumerating tests read."""
    template = load_template(path)
    names = {lid: placeholder(lid, spec["Type"]) for lid, spec in template["Resources"].items()}
    return model.load_functions(template, path.parent, Resolver(template, names))


def _dependencies(template: Template, logical_id: str) -> set[str]:
    spec = template["Resources"][logical_id]
    if spec["Type"] in model.FUNCTION_TYPES:
        return set()  # registering a function in moto needs no other resource
    return {ref for ref in references(spec.get("Properties", {})) if ref in template["Resources"]}


def provision(template: Template, template_dir: Path, endpoint: str) -> dict[str, Physical]:
    """Create every resource the local stack needs in the moto server at ``endpoint``."""
    resources: dict[str, dict[str, Any]] = template["Resources"]
    physical: dict[str, Physical] = {
        lid: placeholder(lid, spec["Type"])
        for lid, spec in resources.items()
        if spec["Type"] not in PROVISIONERS
    }
    ctx = Context(endpoint, aws_session(), Resolver(template, physical), template, template_dir)
    graph = {
        lid: _dependencies(template, lid) & set(resources)
        for lid, spec in resources.items()
        if spec["Type"] in PROVISIONERS
    }
    for logical_id in TopologicalSorter(graph).static_order():
        if logical_id in physical:
            continue
        try:
            physical[logical_id] = PROVISIONERS[resources[logical_id]["Type"]](ctx, logical_id)
        except (KeyError, TypeError) as exc:
            raise TemplateError(f"{logical_id}: cannot create it locally ({exc!r})") from exc
    return physical
