"""The SAM template transforms offline, and the CloudFormation it becomes has the design's properties.

aws-sam-translator lives in .venv-tools and checkov in .venv-checkov: the translator pins pydantic~=2.13
and checkov pins boto3==1.35.49, which clash with the runtime pins of this venv (and checkov's with SAM
CLI's). So the transform runs as
`.venv-tools/bin/python tools/sam_transform.py` in a subprocess; `make test` creates .venv-tools first.

Each design property is a rule: a function from (transformed template, source template) to a list of
violations. test_rule_holds runs every rule on the real template; test_rule_detects_violation breaks
each property in a copy of the transformed template and checks that its rule notices.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.sam_transform import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
TRANSFORM_SCRIPT = ROOT / "tools" / "sam_transform.py"
TOOLS_BIN = ROOT / ".venv-tools" / "bin"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"  # `make tools` installs it (ADR 0015)
TOOLS_PYTHON = TOOLS_BIN / "python"

Template = dict[str, Any]
Rule = Callable[[Template, Template], list[str]]

RUNTIME = "python3.12"
ARCHITECTURES = ["arm64"]
CORE_LAYER_ID = re.compile(r"^CoreLayer(?:[0-9a-f]{10})?$")  # SAM appends a content hash
WILDCARD_ACTION = re.compile(r"^(\*|[A-Za-z0-9-]+:\*)$")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


def _require_tools() -> None:
    if not TOOLS_PYTHON.exists():
        pytest.skip(".venv-tools is absent: run `make tools` (make test creates it) to check the template")


def _run_transform(template: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [str(TOOLS_PYTHON), str(TRANSFORM_SCRIPT), str(template)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def transform_run() -> subprocess.CompletedProcess[str]:
    _require_tools()
    return _run_transform(TEMPLATE)


@pytest.fixture(scope="module")
def cfn(transform_run: subprocess.CompletedProcess[str]) -> Template:
    if transform_run.returncode != 0:
        pytest.fail(f"transform failed:\n{transform_run.stderr}")
    result: Template = json.loads(transform_run.stdout)
    return result


@pytest.fixture(scope="module")
def source() -> Template:
    return load_template(TEMPLATE)


# ------------------------------------------------------------------ helpers


def resources(template: Template, type_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == type_name:
            yield logical_id, resource.get("Properties") or {}


def ref_target(value: Any) -> str | None:
    """Logical id referenced by {"Ref": X} or {"Fn::GetAtt": [X, ...]}, else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and isinstance(getatt[0], str):
            return getatt[0]
        if isinstance(getatt, str):
            return getatt.split(".", 1)[0]
    return None


def resource_type(template: Template, logical_id: str | None) -> str | None:
    if logical_id is None:
        return None
    resource = (template.get("Resources") or {}).get(logical_id)
    return resource.get("Type") if isinstance(resource, dict) else None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def iam_statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy in the template, with where it was found."""
    for logical_id, props in resources(template, "AWS::IAM::Role"):
        for policy in props.get("Policies") or []:
            doc = policy.get("PolicyDocument") or {}
            for stmt in as_list(doc.get("Statement")):
                yield f"{logical_id}/{policy.get('PolicyName')}", stmt
    for type_name in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        for logical_id, props in resources(template, type_name):
            for stmt in as_list((props.get("PolicyDocument") or {}).get("Statement")):
                yield logical_id, stmt


def public_methods(source: Template) -> set[tuple[str, str, str]]:
    """(RestApi logical id, path, method) of Api events explicitly marked `Auth: Authorizer: NONE`."""
    marked: set[tuple[str, str, str]] = set()
    for _, props in resources(source, "AWS::Serverless::Function"):
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            ep = event.get("Properties") or {}
            if (ep.get("Auth") or {}).get("Authorizer") == "NONE":
                api_id = ref_target(ep.get("RestApiId")) or "ServerlessRestApi"
                marked.add((api_id, str(ep.get("Path")), str(ep.get("Method")).lower()))
    return marked


def kms_key_ids(template: Template) -> set[str]:
    return {logical_id for logical_id, _ in resources(template, "AWS::KMS::Key")}


# ------------------------------------------------------------------ rules


def rule_function_roles_not_shared(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    owners: dict[str, str] = {}
    functions = list(resources(cfn, "AWS::Lambda::Function"))
    if not functions:
        return ["no AWS::Lambda::Function in the template"]
    for fn_id, props in functions:
        role_id = ref_target(props.get("Role"))
        if resource_type(cfn, role_id) != "AWS::IAM::Role":
            problems.append(f"{fn_id}: Role is not an AWS::IAM::Role of this template: {props.get('Role')!r}")
            continue
        assert role_id is not None
        if role_id in owners:
            problems.append(f"{fn_id} shares role {role_id} with {owners[role_id]}")
        owners[role_id] = fn_id
    return problems


def rule_no_wildcard_actions(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    for where, stmt in iam_statements(cfn):
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt:
            problems.append(f"{where}: Allow with NotAction grants every other action")
        for action in as_list(stmt.get("Action")):
            if isinstance(action, str) and WILDCARD_ACTION.match(action):
                problems.append(f"{where}: wildcard action {action!r}")
    return problems


def rule_tables_pitr_and_cmk(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    tables = list(resources(cfn, "AWS::DynamoDB::Table"))
    if not tables:
        return ["no AWS::DynamoDB::Table in the template"]
    keys = kms_key_ids(cfn)
    for table_id, props in tables:
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled") is not True:
            problems.append(f"{table_id}: point-in-time recovery is not enabled")
        sse = props.get("SSESpecification") or {}
        if sse.get("SSEEnabled") is not True or sse.get("SSEType") != "KMS":
            problems.append(f"{table_id}: SSE is not KMS")
        if ref_target(sse.get("KMSMasterKeyId")) not in keys:
            problems.append(f"{table_id}: SSE key is not the template's CMK: {sse.get('KMSMasterKeyId')!r}")
    return problems


def rule_buckets_locked_down(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    buckets = list(resources(cfn, "AWS::S3::Bucket"))
    if not buckets:
        return ["no AWS::S3::Bucket in the template"]
    keys = kms_key_ids(cfn)
    # S3 server access logs can only be delivered to an SSE-S3 bucket; every other bucket uses the CMK.
    log_targets = {
        ref_target((props.get("LoggingConfiguration") or {}).get("DestinationBucketName"))
        for _, props in buckets
    }
    for bucket_id, props in buckets:
        pab = props.get("PublicAccessBlockConfiguration") or {}
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if pab.get(flag) is not True:
                problems.append(f"{bucket_id}: PublicAccessBlockConfiguration.{flag} is not true")
        if (props.get("VersioningConfiguration") or {}).get("Status") != "Enabled":
            problems.append(f"{bucket_id}: versioning is not enabled")
        rules = (props.get("LifecycleConfiguration") or {}).get("Rules") or []
        if not any(rule.get("Status") == "Enabled" for rule in rules):
            problems.append(f"{bucket_id}: no enabled lifecycle rule")
        sse_rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        defaults = [rule.get("ServerSideEncryptionByDefault") or {} for rule in sse_rules]
        if not defaults:
            problems.append(f"{bucket_id}: no default encryption")
        for default in defaults:
            algorithm = default.get("SSEAlgorithm")
            if bucket_id in log_targets and algorithm == "AES256":
                continue
            if algorithm not in ("aws:kms", "aws:kms:dsse"):
                problems.append(f"{bucket_id}: encryption is {algorithm!r}, not SSE-KMS")
            elif ref_target(default.get("KMSMasterKeyID")) not in keys:
                problems.append(f"{bucket_id}: SSE-KMS key is not the template's CMK")
    return problems


def rule_functions_runtime_arch_layer(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    functions = list(resources(cfn, "AWS::Lambda::Function"))
    if not functions:
        return ["no AWS::Lambda::Function in the template"]
    for fn_id, props in functions:
        if props.get("Runtime") != RUNTIME:
            problems.append(f"{fn_id}: runtime {props.get('Runtime')!r}, expected {RUNTIME}")
        if props.get("Architectures") != ARCHITECTURES:
            problems.append(
                f"{fn_id}: architectures {props.get('Architectures')!r}, expected {ARCHITECTURES}"
            )
        layers = [ref_target(layer) for layer in as_list(props.get("Layers"))]
        core = [
            layer
            for layer in layers
            if layer
            and CORE_LAYER_ID.match(layer)
            and resource_type(cfn, layer) == "AWS::Lambda::LayerVersion"
        ]
        if not core:
            problems.append(f"{fn_id}: does not use the core layer (layers: {layers!r})")
    return problems


def rule_log_groups_have_retention(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    groups = list(resources(cfn, "AWS::Logs::LogGroup"))
    if not groups:
        return ["no AWS::Logs::LogGroup in the template"]
    for group_id, props in groups:
        if props.get("RetentionInDays") in (None, ""):
            problems.append(f"{group_id}: no RetentionInDays")
    # A function without LoggingConfig logs to an auto-created /aws/lambda/<name> group kept forever.
    for fn_id, props in resources(cfn, "AWS::Lambda::Function"):
        target = ref_target((props.get("LoggingConfig") or {}).get("LogGroup"))
        if resource_type(cfn, target) != "AWS::Logs::LogGroup":
            problems.append(f"{fn_id}: LoggingConfig.LogGroup is not a log group of this template")
    return problems


def rule_api_uses_cognito_authorizer(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    apis = list(resources(cfn, "AWS::ApiGateway::RestApi"))
    if not apis:
        return ["no AWS::ApiGateway::RestApi in the template"]
    public = public_methods(source)
    for api_id, props in apis:
        body = props.get("Body")
        if not isinstance(body, dict):
            problems.append(f"{api_id}: no inline definition (Body) to check")
            continue
        cognito = set()
        for name, definition in (body.get("securityDefinitions") or {}).items():
            authorizer = definition.get("x-amazon-apigateway-authorizer") or {}
            pools = [ref_target(arn) for arn in authorizer.get("providerARNs") or []]
            if (
                authorizer.get("type") == "cognito_user_pools"
                and pools
                and all(resource_type(cfn, pool) == "AWS::Cognito::UserPool" for pool in pools)
            ):
                cognito.add(name)
        if not cognito:
            problems.append(f"{api_id}: no Cognito user-pool authorizer on this template's user pool")
        for path, operations in (body.get("paths") or {}).items():
            for method, operation in operations.items():
                if method.lower() not in HTTP_METHODS:
                    continue
                security = operation.get("security") or []
                schemes = {name for requirement in security for name in requirement}
                uses_cognito = bool(schemes) and schemes <= cognito
                is_public = (api_id, path, "any" if method.startswith("x-") else method.lower()) in public
                if is_public:
                    if schemes != {"NONE"}:
                        problems.append(f"{api_id} {method.upper()} {path}: marked public but has {schemes}")
                elif not uses_cognito:
                    problems.append(
                        f"{api_id} {method.upper()} {path}: not behind the Cognito authorizer ({schemes})"
                    )
    return problems


RULES: dict[str, Rule] = {
    "function_roles_not_shared": rule_function_roles_not_shared,
    "no_wildcard_iam_actions": rule_no_wildcard_actions,
    "tables_pitr_and_cmk": rule_tables_pitr_and_cmk,
    "buckets_locked_down": rule_buckets_locked_down,
    "functions_runtime_arch_core_layer": rule_functions_runtime_arch_layer,
    "log_groups_have_retention": rule_log_groups_have_retention,
    "api_uses_cognito_authorizer": rule_api_uses_cognito_authorizer,
}


# ------------------------------------------------------------------ mutations (each breaks one rule)


def _first(cfn: Template, type_name: str) -> dict[str, Any]:
    for _, props in resources(cfn, type_name):
        return props
    raise AssertionError(f"template has no {type_name}")


def _first_operation(cfn: Template) -> dict[str, Any]:
    body = _first(cfn, "AWS::ApiGateway::RestApi")["Body"]
    operations = next(iter(body["paths"].values()))
    return next(op for method, op in operations.items() if method in HTTP_METHODS)


def _share_role(cfn: Template) -> None:
    fn_id, _ = next(resources(cfn, "AWS::Lambda::Function"))
    cfn["Resources"]["TwinFunction"] = copy.deepcopy(cfn["Resources"][fn_id])


def _add_statement(action: Any) -> Callable[[Template], None]:
    def mutate(cfn: Template) -> None:
        role = _first(cfn, "AWS::IAM::Role")
        role.setdefault("Policies", []).append(
            {
                "PolicyName": "Injected",
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]},
            }
        )

    return mutate


def _set(type_name: str, path: list[str], value: Any) -> Callable[[Template], None]:
    def mutate(cfn: Template) -> None:
        target = _first(cfn, type_name)
        for key in path[:-1]:
            target = target.setdefault(key, {})
        if value is _DELETE:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value

    return mutate


_DELETE = object()


def _bucket_sse(cfn: Template) -> None:
    for _, props in resources(cfn, "AWS::S3::Bucket"):
        if props.get("LoggingConfiguration"):  # a bucket that must use the CMK
            rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            rule["ServerSideEncryptionByDefault"] = {"SSEAlgorithm": "AES256"}
            return
    raise AssertionError("no bucket with access logging")


def _unprotected_method(cfn: Template) -> None:
    _first_operation(cfn)["security"] = []


def _none_method(cfn: Template) -> None:
    _first_operation(cfn)["security"] = [{"NONE": []}]


def _foreign_pool(cfn: Template) -> None:
    body = _first(cfn, "AWS::ApiGateway::RestApi")["Body"]
    for definition in body["securityDefinitions"].values():
        definition["x-amazon-apigateway-authorizer"]["providerARNs"] = [
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_other"
        ]


MUTATIONS: list[tuple[str, str, Callable[[Template], None]]] = [
    ("function_roles_not_shared", "two functions, one role", _share_role),
    (
        "function_roles_not_shared",
        "imported role ARN",
        _set("AWS::Lambda::Function", ["Role"], "arn:aws:iam::123456789012:role/shared"),
    ),
    ("no_wildcard_iam_actions", "star action", _add_statement("*")),
    ("no_wildcard_iam_actions", "service star action", _add_statement(["dynamodb:GetItem", "dynamodb:*"])),
    (
        "tables_pitr_and_cmk",
        "no PITR",
        _set("AWS::DynamoDB::Table", ["PointInTimeRecoverySpecification"], _DELETE),
    ),
    (
        "tables_pitr_and_cmk",
        "AWS-managed key",
        _set("AWS::DynamoDB::Table", ["SSESpecification", "KMSMasterKeyId"], "alias/aws/dynamodb"),
    ),
    (
        "buckets_locked_down",
        "public policy allowed",
        _set("AWS::S3::Bucket", ["PublicAccessBlockConfiguration", "BlockPublicPolicy"], False),
    ),
    (
        "buckets_locked_down",
        "versioning suspended",
        _set("AWS::S3::Bucket", ["VersioningConfiguration", "Status"], "Suspended"),
    ),
    ("buckets_locked_down", "no lifecycle", _set("AWS::S3::Bucket", ["LifecycleConfiguration"], _DELETE)),
    ("buckets_locked_down", "no encryption", _set("AWS::S3::Bucket", ["BucketEncryption"], _DELETE)),
    ("buckets_locked_down", "data bucket on SSE-S3", _bucket_sse),
    (
        "functions_runtime_arch_core_layer",
        "old runtime",
        _set("AWS::Lambda::Function", ["Runtime"], "python3.11"),
    ),
    (
        "functions_runtime_arch_core_layer",
        "x86_64",
        _set("AWS::Lambda::Function", ["Architectures"], ["x86_64"]),
    ),
    ("functions_runtime_arch_core_layer", "no layer", _set("AWS::Lambda::Function", ["Layers"], [])),
    ("log_groups_have_retention", "no retention", _set("AWS::Logs::LogGroup", ["RetentionInDays"], _DELETE)),
    (
        "log_groups_have_retention",
        "default function log group",
        _set("AWS::Lambda::Function", ["LoggingConfig"], _DELETE),
    ),
    ("api_uses_cognito_authorizer", "method without auth", _unprotected_method),
    ("api_uses_cognito_authorizer", "unmarked public method", _none_method),
    ("api_uses_cognito_authorizer", "authorizer on another pool", _foreign_pool),
]


# ------------------------------------------------------------------ tests


def test_transform_succeeds(transform_run: subprocess.CompletedProcess[str]) -> None:
    assert transform_run.returncode == 0, transform_run.stderr
    cfn = json.loads(transform_run.stdout)
    assert "Transform" not in cfn
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in cfn["Resources"].values())


def test_transform_reports_translator_errors(tmp_path: Path) -> None:
    _require_tools()
    broken = tmp_path / "template.yaml"
    broken.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      CodeUri: s3://bucket/key.zip\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n"
        "      Events:\n"
        "        Get:\n"
        "          Type: Api\n"
        "          Properties:\n"
        "            RestApiId: !Ref MissingApi\n"
        "            Path: /x\n"
        "            Method: GET\n",
        encoding="utf-8",
    )
    run = _run_transform(broken)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "RestApiId must be a valid reference" in run.stderr


@pytest.mark.parametrize("name", list(RULES))
def test_rule_holds(name: str, cfn: Template, source: Template) -> None:
    assert RULES[name](cfn, source) == []


@pytest.mark.parametrize(
    ("name", "mutate"),
    [pytest.param(name, mutate, id=f"{name}-{label}") for name, label, mutate in MUTATIONS],
)
def test_rule_detects_violation(
    name: str, mutate: Callable[[Template], None], cfn: Template, source: Template
) -> None:
    broken = copy.deepcopy(cfn)
    mutate(broken)
    assert RULES[name](broken, source) != []


def test_every_rule_has_a_mutation() -> None:
    assert {name for name, _, _ in MUTATIONS} == set(RULES)


def test_explicitly_public_method_is_allowed(cfn: Template, source: Template) -> None:
    body = _first(cfn, "AWS::ApiGateway::RestApi")["Body"]
    path, operations = next(iter(body["paths"].items()))
    method = next(m for m in operations if m in HTTP_METHODS)
    api_id = next(logical_id for logical_id, _ in resources(cfn, "AWS::ApiGateway::RestApi"))
    marked = copy.deepcopy(source)
    fn = next(props for _, props in resources(marked, "AWS::Serverless::Function"))
    fn.setdefault("Events", {})["PublicPage"] = {
        "Type": "Api",
        "Properties": {
            "RestApiId": {"Ref": api_id},
            "Path": path,
            "Method": method.upper(),
            "Auth": {"Authorizer": "NONE"},
        },
    }
    opened = copy.deepcopy(cfn)
    _first(opened, "AWS::ApiGateway::RestApi")["Body"]["paths"][path][method]["security"] = [{"NONE": []}]
    assert rule_api_uses_cognito_authorizer(opened, marked) == []
    # ... and the marking is what makes it allowed.
    assert rule_api_uses_cognito_authorizer(opened, source) != []


def test_checkov_passes_on_transformed_template(cfn: Template, tmp_path: Path) -> None:
    """checkov runs its IAM-role and Lambda-permission checks only on the transformed output."""
    _require_tools()
    checkov = CHECKOV
    if not checkov.exists():
        pytest.skip("checkov is not installed in .venv-checkov: run `make tools`")
    out = tmp_path / "transformed.json"
    out.write_text(json.dumps(cfn), encoding="utf-8")
    run = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            *(str(checkov), "--quiet", "--compact", "--skip-download"),
            *("--framework", "cloudformation", "-f", str(out), "-o", "json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    report = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for r in reports
        for check in r.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    assert run.returncode == 0, run.stderr


# Each API function that may wait past 10 s, and on what; every other API function answers within 10 s.
SLOW_API_FUNCTIONS = {
    "CalendarsFunction": "Google Calendar / Microsoft Graph",
    "CalendarCallbackFunction": "the calendar provider's token endpoint",
    "GmailFunction": "Google (watch stop, revocation, labels)",
    "GmailCallbackFunction": "Google's token endpoint and Gmail's watch",
    "GmailPushFunction": "Google's signing certificates",
    "AccountsFunction": "Google revocations when a member is removed",
    "DsarFunction": "per-person incident notices and announcements",
}


def test_api_functions_time_out_below_api_gateways_limit(source: Template) -> None:
    """Issue 14: no API function needs more than 10 s; the few that wait on an outside service keep a
    longer timeout, still below API Gateway's 29 s, and are named here with what they wait on."""
    default = source["Globals"]["Function"]["Timeout"]
    timeouts = {
        logical_id: props.get("Timeout", default)
        for logical_id, props in resources(source, "AWS::Serverless::Function")
        if any(event.get("Type") == "Api" for event in (props.get("Events") or {}).values())
    }
    assert set(SLOW_API_FUNCTIONS) <= set(timeouts)
    for logical_id, timeout in timeouts.items():
        limit = 29 if logical_id in SLOW_API_FUNCTIONS else 10
        assert timeout <= limit, f"{logical_id} times out at {timeout} s (limit {limit} s)"
