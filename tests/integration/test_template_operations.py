"""Nothing fails silently, and the public routes are rate-limited (issue 13, point 12).

Checked on the transformed template, in the style of test_template.py: each property is a rule from
(transformed template, source template) to a list of violations; test_rule_holds runs every rule on
the real template and test_rule_detects_violation breaks each property in a copy and expects its rule
to notice. The properties:

* every alarm notifies the alarm topic (on ALARM and on OK), which is encrypted with the template's
  key, and that key lets CloudWatch publish to it;
* every function has an Errors and a Throttles alarm;
* every dead-letter queue (redrive targets, function DLQs, on-failure destinations) is encrypted, keeps
  its messages 14 days and has a depth alarm;
* every scheduled function sends failed runs to such a queue after retries, its role may write there
  (queue and key), and the schedule's failed invocations and the DLQ's own failures have alarms;
* the alarms on custom metrics name what the functions emit (namespace, service dimension, name);
* a regional WAF web ACL is associated with the API stage, blocks each public route above a per-IP rate
  (and no authenticated one), runs the AWS managed rule groups and logs to an encrypted aws-waf-logs-
  group without credentials;
* every public method has its own stage throttle, below the stage-wide one.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_template import (
    TEMPLATE,
    Template,
    _require_tools,
    _run_transform,
    as_list,
    iam_statements,
    kms_key_ids,
    public_methods,
    ref_target,
    resource_type,
    resources,
)
from tools.sam_transform import load_template

ROOT = Path(__file__).resolve().parents[2]
Rule = Callable[[Template, Template], list[str]]

FUNCTION_METRICS = ("Errors", "Throttles")
RATE_WINDOW_SECONDS = 300
# Custom metric -> the function that emits it (callproof.observability: namespace CallProof, and
# Powertools adds the dimension service = POWERTOOLS_SERVICE_NAME).
CUSTOM_METRIC_ALARMS = {"DsarOverdue": "DsarDeadlinesFunction", "GmailWatchesLapsed": "GmailWatchFunction"}
MANAGED_RULE_GROUPS = {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
AUTHENTICATED_SAMPLES = ("/v1/contacts", "/v1/dsar/requests", "/v1/sms/messages", "/v1/me")


@pytest.fixture(scope="module")
def cfn() -> Template:
    _require_tools()
    run = _run_transform(TEMPLATE)
    if run.returncode != 0:
        pytest.fail(f"transform failed:\n{run.stderr}")
    result: Template = json.loads(run.stdout)
    return result


@pytest.fixture(scope="module")
def source() -> Template:
    return load_template(TEMPLATE)


# ------------------------------------------------------------------ helpers


def parameter_default(source: Template, name: str) -> Any:
    return ((source.get("Parameters") or {}).get(name) or {}).get("Default")


def resolve(value: Any, source: Template, overrides: dict[str, Any] | None = None) -> Any:
    """A Ref to a parameter, or a Fn::Sub of parameters, evaluated with the parameters' defaults."""
    params = {name: spec.get("Default") for name, spec in (source.get("Parameters") or {}).items()}
    params.update(overrides or {})
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in params:
        return params[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(
            r"\$\{([A-Za-z0-9]+)\}", lambda m: str(params.get(m.group(1), m.group(0))), value["Fn::Sub"]
        )
    return value


def alarms(cfn: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from resources(cfn, "AWS::CloudWatch::Alarm")


def dimensions(props: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(d.get("Name"), d.get("Value")) for d in as_list(props.get("Dimensions"))]


def fires_on_first(props: dict[str, Any]) -> bool:
    """The alarm goes off on the first occurrence (more than 0, or at least 1)."""
    threshold = props.get("Threshold")
    operator = props.get("ComparisonOperator")
    return (operator == "GreaterThanThreshold" and threshold == 0) or (
        operator == "GreaterThanOrEqualToThreshold" and threshold == 1
    )


def alarm_on(cfn: Template, namespace: str, metric: str, dims: list[tuple[str, Any]]) -> list[str]:
    return [
        alarm_id
        for alarm_id, props in alarms(cfn)
        if props.get("Namespace") == namespace
        and props.get("MetricName") == metric
        and dimensions(props) == dims
        and fires_on_first(props)
    ]


def dead_letter_queues(cfn: Template) -> dict[str, str]:
    """Logical id of every SQS queue that receives what failed every retry -> who sends there."""
    found: dict[str, str] = {}

    def note(target: Any, where: str) -> None:
        queue = ref_target(target)
        if resource_type(cfn, queue) == "AWS::SQS::Queue":
            assert queue is not None
            found.setdefault(queue, where)

    for queue_id, props in resources(cfn, "AWS::SQS::Queue"):
        note((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"), f"{queue_id} redrive")
    for fn_id, props in resources(cfn, "AWS::Lambda::Function"):
        note((props.get("DeadLetterConfig") or {}).get("TargetArn"), f"{fn_id} DeadLetterConfig")
    for type_name in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"):
        for lid, props in resources(cfn, type_name):
            on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure")) or {}
            note(on_failure.get("Destination"), f"{lid} on-failure")
    for rule_id, props in resources(cfn, "AWS::Events::Rule"):
        for target in as_list(props.get("Targets")):
            note((target.get("DeadLetterConfig") or {}).get("Arn"), f"{rule_id} target DLQ")
    return found


def schedule_rules(cfn: Template) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(rule id, rule properties, function id) of every schedule that invokes a function."""
    for rule_id, props in resources(cfn, "AWS::Events::Rule"):
        if not props.get("ScheduleExpression"):
            continue
        for target in as_list(props.get("Targets")):
            fn_id = ref_target(target.get("Arn"))
            if resource_type(cfn, fn_id) == "AWS::Lambda::Function":
                assert fn_id is not None
                yield rule_id, props, fn_id


def role_statements(cfn: Template, fn_id: str) -> list[dict[str, Any]]:
    role = ref_target(((cfn.get("Resources") or {}).get(fn_id) or {}).get("Properties", {}).get("Role"))
    return [stmt for where, stmt in iam_statements(cfn) if role and where.startswith(f"{role}/")]


def allows(stmt: dict[str, Any], action: str) -> bool:
    return stmt.get("Effect") == "Allow" and action in as_list(stmt.get("Action"))


def via_services(stmt: dict[str, Any]) -> list[str] | None:
    """The kms:ViaService values a statement is limited to (resolved to us-east-1), None if unlimited."""
    condition = (stmt.get("Condition") or {}).get("StringEquals") or {}
    if "kms:ViaService" not in condition:
        return None
    values = [v.get("Fn::Sub") if isinstance(v, dict) else v for v in as_list(condition["kms:ViaService"])]
    return [str(v).replace("${AWS::Region}", "us-east-1") for v in values]


def path_matches(statement: dict[str, Any] | None, path: str, source: Template, stage: str) -> bool:
    """Whether a WAF statement (the subset the template uses) matches a request for ``path``."""
    if statement is None:
        return True
    if "OrStatement" in statement:
        return any(path_matches(s, path, source, stage) for s in statement["OrStatement"]["Statements"])
    if "AndStatement" in statement:
        return all(path_matches(s, path, source, stage) for s in statement["AndStatement"]["Statements"])
    if "NotStatement" in statement:
        return not path_matches(statement["NotStatement"]["Statement"], path, source, stage)
    if "RegexMatchStatement" in statement:
        spec = statement["RegexMatchStatement"]
        if "UriPath" not in (spec.get("FieldToMatch") or {}):
            return False
        pattern = str(resolve(spec["RegexString"], source, {"Stage": stage}))
        return re.search(pattern, path) is not None
    if "ByteMatchStatement" in statement:
        spec = statement["ByteMatchStatement"]
        if "UriPath" not in (spec.get("FieldToMatch") or {}):
            return False
        needle = str(resolve(spec["SearchString"], source, {"Stage": stage}))
        return {
            "STARTS_WITH": path.startswith,
            "EXACTLY": lambda n: path == n,
            "CONTAINS": lambda n: n in path,
        }.get(spec.get("PositionalConstraint"), lambda n: False)(needle)
    return False


def transformations(statement: dict[str, Any] | None) -> set[str]:
    if not statement:
        return set()
    found = {
        t.get("Type") for t in (statement.get("RegexMatchStatement") or {}).get("TextTransformations", [])
    }
    found |= {
        t.get("Type") for t in (statement.get("ByteMatchStatement") or {}).get("TextTransformations", [])
    }
    for key in ("OrStatement", "AndStatement"):
        for sub in (statement.get(key) or {}).get("Statements", []):
            found |= transformations(sub)
    return {t for t in found if isinstance(t, str)}


def sample_paths(path: str, stage: str) -> list[str]:
    """The request paths of a route: on the execute-api host (with the stage) and a custom domain."""
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    return [f"/{stage}{concrete}", concrete]


def method_setting_path(resource_path: str) -> str:
    """A stage MethodSettings path ("/~1privacy~1requests") as the route's path ("/privacy/requests")."""
    if resource_path in ("/*", "/"):
        return resource_path
    return resource_path.removeprefix("/").replace("~1", "/").replace("~0", "~")


def web_acl_of_stage(cfn: Template) -> tuple[str | None, list[str]]:
    """The web ACL associated with the API's stage, or None with the reasons."""
    problems: list[str] = []
    stages = {
        stage_id: ref_target(props.get("RestApiId"))
        for stage_id, props in resources(cfn, "AWS::ApiGateway::Stage")
    }
    for assoc_id, props in resources(cfn, "AWS::WAFv2::WebACLAssociation"):
        acl = ref_target(props.get("WebACLArn"))
        arn = props.get("ResourceArn")
        text = arn.get("Fn::Sub") if isinstance(arn, dict) else None
        if resource_type(cfn, acl) != "AWS::WAFv2::WebACL" or not isinstance(text, str):
            problems.append(f"{assoc_id}: not an association of this template's web ACL with a stage ARN")
            continue
        match = re.search(r"/restapis/\$\{(\w+)\}/stages/\$\{(\w+)\}$", text)
        if not match or stages.get(match.group(2)) != match.group(1):
            problems.append(f"{assoc_id}: {text!r} is not a stage of this template's REST API")
            continue
        return acl, []
    return None, problems or ["no AWS::WAFv2::WebACLAssociation with the API stage"]


# ------------------------------------------------------------------ rules


def rule_alarms_notify_encrypted_topic(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    found = list(alarms(cfn))
    if not found:
        return ["no AWS::CloudWatch::Alarm in the template"]
    keys = kms_key_ids(cfn)
    topics = dict(resources(cfn, "AWS::SNS::Topic"))
    for topic_id, props in topics.items():
        if ref_target(props.get("KmsMasterKeyId")) not in keys:
            problems.append(f"{topic_id}: not encrypted with the template's key")
        name = props.get("TopicName")
        if "AlarmTopicName" not in json.dumps(name):
            problems.append(f"{topic_id}: its name does not come from the AlarmTopicName parameter")
    for alarm_id, props in found:
        for key in ("AlarmActions", "OKActions"):
            targets = [ref_target(action) for action in as_list(props.get(key))]
            if not targets or any(target not in topics for target in targets):
                problems.append(f"{alarm_id}: {key} do not notify the alarm topic")
        if len(str(props.get("AlarmDescription") or "")) < 40:
            problems.append(f"{alarm_id}: no AlarmDescription saying why it matters")
        if props.get("TreatMissingData") not in ("notBreaching", "breaching", "ignore", "missing"):
            problems.append(f"{alarm_id}: TreatMissingData is not set")
    # CloudWatch publishes to an encrypted topic only if the key lets it (else notifications vanish).
    for key_id in {ref_target(props.get("KmsMasterKeyId")) for props in topics.values()} & keys:
        policy = cfn["Resources"][key_id]["Properties"].get("KeyPolicy") or {}
        granted = [
            stmt
            for stmt in as_list(policy.get("Statement"))
            if stmt.get("Effect") == "Allow"
            and "cloudwatch.amazonaws.com" in as_list((stmt.get("Principal") or {}).get("Service"))
            and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(stmt.get("Action")))
        ]
        if not granted:
            problems.append(f"{key_id}: key policy does not let CloudWatch publish to the encrypted topic")
    return problems


def rule_functions_have_error_and_throttle_alarms(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    functions = [fn_id for fn_id, _ in resources(cfn, "AWS::Lambda::Function")]
    if not functions:
        return ["no AWS::Lambda::Function in the template"]
    for fn_id in functions:
        for metric in FUNCTION_METRICS:
            if not alarm_on(cfn, "AWS/Lambda", metric, [("FunctionName", {"Ref": fn_id})]):
                problems.append(f"{fn_id}: no {metric} alarm that fires on the first one")
    return problems


def rule_dead_letter_queues_alarmed(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    queues = dead_letter_queues(cfn)
    if not queues:
        return ["no dead-letter queue in the template"]
    keys = kms_key_ids(cfn)
    for queue_id, where in sorted(queues.items()):
        props = cfn["Resources"][queue_id].get("Properties") or {}
        if ref_target(props.get("KmsMasterKeyId")) not in keys:
            problems.append(f"{queue_id} ({where}): not encrypted with the template's key")
        if props.get("MessageRetentionPeriod") != 1209600:
            problems.append(
                f"{queue_id} ({where}): keeps messages {props.get('MessageRetentionPeriod')} s, not 14 days"
            )
        dims = [("QueueName", {"Fn::GetAtt": [queue_id, "QueueName"]})]
        if not alarm_on(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dims):
            problems.append(f"{queue_id} ({where}): no depth alarm (ApproximateNumberOfMessagesVisible > 0)")
    return problems


def rule_scheduled_functions_have_failure_destination(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    scheduled = list(schedule_rules(cfn))
    if not scheduled:
        return ["no scheduled function in the template"]
    queues = dead_letter_queues(cfn)
    invoke_configs = {
        ref_target(props.get("FunctionName")): props
        for _, props in resources(cfn, "AWS::Lambda::EventInvokeConfig")
    }
    keys = kms_key_ids(cfn)
    for rule_id, rule, fn_id in scheduled:
        fn = cfn["Resources"][fn_id]["Properties"]
        config = invoke_configs.get(fn_id) or {}
        on_failure = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        queue = ref_target((fn.get("DeadLetterConfig") or {}).get("TargetArn")) or ref_target(on_failure)
        if queue not in queues:
            problems.append(f"{fn_id}: no dead-letter queue or on-failure destination for failed runs")
            continue
        retries = config.get("MaximumRetryAttempts")
        if not isinstance(retries, int) or retries < 1:
            problems.append(f"{fn_id}: no EventInvokeConfig retrying a failed run (MaximumRetryAttempts)")
        statements = role_statements(cfn, fn_id)
        queue_arn = {"Fn::GetAtt": [queue, "Arn"]}
        if not any(
            allows(s, "sqs:SendMessage") and queue_arn in as_list(s.get("Resource")) for s in statements
        ):
            problems.append(f"{fn_id}: its role may not send to {queue}")
        queue_key = ref_target((cfn["Resources"][queue].get("Properties") or {}).get("KmsMasterKeyId"))
        if queue_key in keys:
            key_arn = {"Fn::GetAtt": [queue_key, "Arn"]}
            usable = [
                s
                for s in statements
                if allows(s, "kms:GenerateDataKey")
                and key_arn in as_list(s.get("Resource"))
                and (via_services(s) is None or "sqs.us-east-1.amazonaws.com" in (via_services(s) or []))
            ]
            if not usable:
                problems.append(f"{fn_id}: its role cannot use {queue_key} through SQS (the DLQ's key)")
        if not alarm_on(cfn, "AWS/Lambda", "DeadLetterErrors", [("FunctionName", {"Ref": fn_id})]):
            problems.append(f"{fn_id}: no DeadLetterErrors alarm (a failed run that reached no queue)")
        if not rule.get("Name") or not alarm_on(
            cfn, "AWS/Events", "FailedInvocations", [("RuleName", rule["Name"])]
        ):
            problems.append(f"{rule_id}: no FailedInvocations alarm on the schedule's rule name")
    return problems


def rule_custom_metric_alarms_match_emitters(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    namespace = (
        ((source.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables", {})
    ).get("POWERTOOLS_METRICS_NAMESPACE")
    for metric, fn_id in CUSTOM_METRIC_ALARMS.items():
        fn = (source.get("Resources") or {}).get(fn_id, {}).get("Properties") or {}
        service = (fn.get("Environment") or {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
        code = ROOT / "infra" / str(fn.get("CodeUri")) / "app.py"
        if not code.exists() or f'name="{metric}"' not in code.read_text(encoding="utf-8"):
            problems.append(f"{metric}: {fn_id}'s handler ({code}) does not emit it")
        if not alarm_on(cfn, str(namespace), metric, [("service", service)]):
            problems.append(f"{metric}: no alarm on namespace {namespace!r} with service={service!r}")
    return problems


def rule_waf_limits_public_routes(cfn: Template, source: Template) -> list[str]:
    acl_id, problems = web_acl_of_stage(cfn)
    if acl_id is None:
        return problems
    acl = cfn["Resources"][acl_id]["Properties"]
    if acl.get("Scope") != "REGIONAL":
        problems.append(f"{acl_id}: scope {acl.get('Scope')!r}, a REST API stage needs REGIONAL")
    rate_rules = [
        (rule.get("Name"), rule["Statement"]["RateBasedStatement"])
        for rule in acl.get("Rules") or []
        if "RateBasedStatement" in (rule.get("Statement") or {}) and "Block" in (rule.get("Action") or {})
    ]
    for name, rate in rate_rules:
        limit = resolve(rate.get("Limit"), source)
        if (
            rate.get("AggregateKeyType") != "IP"
            or rate.get("EvaluationWindowSec", 300) != RATE_WINDOW_SECONDS
        ):
            problems.append(f"{acl_id}/{name}: not a per-IP limit over 5 minutes")
        if not isinstance(limit, int) or limit > 10000:
            problems.append(f"{acl_id}/{name}: limit {limit!r} is no limit")
        if not {"URL_DECODE", "NORMALIZE_PATH"} <= transformations(rate.get("ScopeDownStatement")):
            problems.append(f"{acl_id}/{name}: the path is matched without URL-decoding and normalising it")
    for stage in (str(parameter_default(source, "Stage")), "prod"):
        for _, path, method in sorted(public_methods(source)):
            for sample in sample_paths(path, stage):
                if not any(
                    path_matches(r.get("ScopeDownStatement"), sample, source, stage) for _, r in rate_rules
                ):
                    problems.append(f"{acl_id}: no per-IP rate rule covers {method.upper()} {sample}")
        for path in AUTHENTICATED_SAMPLES:
            for sample in sample_paths(path, stage):
                hits = [
                    n
                    for n, r in rate_rules
                    if path_matches(r.get("ScopeDownStatement"), sample, source, stage)
                ]
                if hits:
                    problems.append(f"{acl_id}: public-route rate rules {hits} also limit {sample}")
    groups = {
        (rule.get("Statement") or {}).get("ManagedRuleGroupStatement", {}).get("Name")
        for rule in acl.get("Rules") or []
        if "None" in (rule.get("OverrideAction") or {})
    }
    for missing in sorted(MANAGED_RULE_GROUPS - groups):
        problems.append(f"{acl_id}: managed rule group {missing} is absent or only counts")
    problems += _waf_logging(cfn, acl_id)
    return problems


def _waf_logging(cfn: Template, acl_id: str) -> list[str]:
    keys = kms_key_ids(cfn)
    for log_id, props in resources(cfn, "AWS::WAFv2::LoggingConfiguration"):
        if ref_target(props.get("ResourceArn")) != acl_id:
            continue
        problems: list[str] = []
        destinations = [
            d.get("Fn::Sub", "") if isinstance(d, dict) else d for d in props["LogDestinationConfigs"]
        ]
        groups = [m.group(1) for d in destinations if (m := re.search(r"log-group:\$\{(\w+)\}$", str(d)))]
        if len(groups) != len(destinations) or not groups:
            return [f"{log_id}: logs to {destinations!r}, not to a log group of this template"]
        for group in groups:
            group_props = cfn["Resources"][group]["Properties"]
            name = json.dumps(group_props.get("LogGroupName"))
            if not name.startswith('{"Fn::Sub": "aws-waf-logs-') and not name.startswith('"aws-waf-logs-'):
                problems.append(f"{group}: WAF logs only to groups named aws-waf-logs-..., not {name}")
            if ref_target(group_props.get("KmsKeyId")) not in keys:
                problems.append(f"{group}: not encrypted with the template's key")
        redacted = json.dumps(props.get("RedactedFields") or []).lower()
        for field in ('"authorization"', '"querystring"'):
            if field not in redacted:
                problems.append(f"{log_id}: {field} is not redacted from WAF logs")
        return problems
    return [f"{acl_id}: no AWS::WAFv2::LoggingConfiguration"]


def rule_public_methods_throttled(cfn: Template, source: Template) -> list[str]:
    problems: list[str] = []
    stages = list(resources(cfn, "AWS::ApiGateway::Stage"))
    if not stages:
        return ["no AWS::ApiGateway::Stage in the template"]
    for stage_id, props in stages:
        settings = {
            (method_setting_path(str(s.get("ResourcePath"))), str(s.get("HttpMethod")).upper()): s
            for s in as_list(props.get("MethodSettings"))
        }
        default = settings.get(("/*", "*"))
        if not default:
            problems.append(f"{stage_id}: no stage-wide method setting (/*, *)")
            continue
        for _, path, method in sorted(public_methods(source)):
            own = settings.get((path, method.upper()))
            if own is None:
                problems.append(f"{stage_id}: {method.upper()} {path} has no throttle of its own")
                continue
            for limit in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
                if not (isinstance(own.get(limit), int | float) and own[limit] < default[limit]):
                    problems.append(
                        f"{stage_id}: {method.upper()} {path} {limit} {own.get(limit)!r} not below {default[limit]}"
                    )
            for kept in ("LoggingLevel", "MetricsEnabled"):
                if own.get(kept) != default.get(kept):
                    problems.append(f"{stage_id}: {method.upper()} {path} loses the stage's {kept}")
    return problems


RULES: dict[str, Rule] = {
    "alarms_notify_encrypted_topic": rule_alarms_notify_encrypted_topic,
    "functions_have_error_and_throttle_alarms": rule_functions_have_error_and_throttle_alarms,
    "dead_letter_queues_alarmed": rule_dead_letter_queues_alarmed,
    "scheduled_functions_have_failure_destination": rule_scheduled_functions_have_failure_destination,
    "custom_metric_alarms_match_emitters": rule_custom_metric_alarms_match_emitters,
    "waf_limits_public_routes": rule_waf_limits_public_routes,
    "public_methods_throttled": rule_public_methods_throttled,
}


# ------------------------------------------------------------------ mutations (each breaks one rule)


def _props(cfn: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = cfn["Resources"][logical_id]["Properties"]
    return props


def _delete(logical_id: str) -> Callable[[Template], None]:
    def mutate(cfn: Template) -> None:
        del cfn["Resources"][logical_id]

    return mutate


def _set(logical_id: str, path: list[Any], value: Any) -> Callable[[Template], None]:
    def mutate(cfn: Template) -> None:
        target: Any = _props(cfn, logical_id)
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


_DELETE = object()


def _key_without_cloudwatch(cfn: Template) -> None:
    policy = _props(cfn, "DataKey")["KeyPolicy"]
    policy["Statement"] = [
        s for s in policy["Statement"] if "cloudwatch.amazonaws.com" not in json.dumps(s.get("Principal"))
    ]


def _dsar_overdue_in_source_only(cfn: Template) -> None:
    _props(cfn, "DsarOverdueAlarm")["Dimensions"] = [{"Name": "service", "Value": "dsar"}]


def _retention_key_via_dynamodb_only(cfn: Template) -> None:
    for policy in _props(cfn, "CallRetentionFunctionRole")["Policies"]:
        for stmt in policy["PolicyDocument"]["Statement"]:
            if "kms:ViaService" in json.dumps(stmt.get("Condition")):
                stmt["Condition"]["StringEquals"]["kms:ViaService"] = {
                    "Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"
                }


def _retention_role_cannot_send(cfn: Template) -> None:
    role = _props(cfn, "CallRetentionFunctionRole")
    role["Policies"] = [p for p in role["Policies"] if "sqs:SendMessage" not in json.dumps(p)]


def _waf_rule(name: str, mutate: Callable[[dict[str, Any]], None]) -> Callable[[Template], None]:
    def apply(cfn: Template) -> None:
        rule = next(r for r in _props(cfn, "ApiWebAcl")["Rules"] if r["Name"] == name)
        mutate(rule)

    return apply


def _regex(rule: dict[str, Any], pattern: str) -> None:
    scope = rule["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    scope["RegexMatchStatement"]["RegexString"] = {"Fn::Sub": pattern}


def _method_setting(
    path: str, method: str, change: Callable[[list[Any], int], None]
) -> Callable[[Template], None]:
    def mutate(cfn: Template) -> None:
        settings = _props(cfn, "ApiStage")["MethodSettings"]
        index = next(
            i for i, s in enumerate(settings) if s["ResourcePath"] == path and s["HttpMethod"] == method
        )
        change(settings, index)

    return mutate


MUTATIONS: list[tuple[str, str, Callable[[Template], None]]] = [
    (
        "alarms_notify_encrypted_topic",
        "alarm without actions",
        _set("ContactsFunctionErrorsAlarm", ["AlarmActions"], _DELETE),
    ),
    ("alarms_notify_encrypted_topic", "no OK notification", _set("DsarOverdueAlarm", ["OKActions"], _DELETE)),
    ("alarms_notify_encrypted_topic", "unencrypted topic", _set("AlarmTopic", ["KmsMasterKeyId"], _DELETE)),
    ("alarms_notify_encrypted_topic", "fixed topic name", _set("AlarmTopic", ["TopicName"], "alarms")),
    ("alarms_notify_encrypted_topic", "key closed to CloudWatch", _key_without_cloudwatch),
    (
        "alarms_notify_encrypted_topic",
        "no description",
        _set("GmailSyncDeadLetterQueueDepthAlarm", ["AlarmDescription"], _DELETE),
    ),
    ("functions_have_error_and_throttle_alarms", "no Errors alarm", _delete("ContactsFunctionErrorsAlarm")),
    (
        "functions_have_error_and_throttle_alarms",
        "no Throttles alarm",
        _delete("DsarTasksFunctionThrottlesAlarm"),
    ),
    (
        "functions_have_error_and_throttle_alarms",
        "alarm on another function",
        _set(
            "SmsFunctionErrorsAlarm",
            ["Dimensions"],
            [{"Name": "FunctionName", "Value": {"Ref": "ContactsFunction"}}],
        ),
    ),
    (
        "functions_have_error_and_throttle_alarms",
        "threshold of 5",
        _set("GmailSyncFunctionErrorsAlarm", ["Threshold"], 5),
    ),
    ("dead_letter_queues_alarmed", "no depth alarm", _delete("GmailSyncDeadLetterQueueDepthAlarm")),
    (
        "dead_letter_queues_alarmed",
        "alarm on messages sent",
        _set("CallRematchDeadLetterQueueDepthAlarm", ["MetricName"], "NumberOfMessagesSent"),
    ),
    (
        "dead_letter_queues_alarmed",
        "unencrypted DLQ",
        _set("CallRetentionDeadLetterQueue", ["KmsMasterKeyId"], _DELETE),
    ),
    (
        "dead_letter_queues_alarmed",
        "4-day retention",
        _set("DsarDeadlinesDeadLetterQueue", ["MessageRetentionPeriod"], 345600),
    ),
    (
        "scheduled_functions_have_failure_destination",
        "no DLQ",
        _set("CallRetentionFunction", ["DeadLetterConfig"], _DELETE),
    ),
    (
        "scheduled_functions_have_failure_destination",
        "no retries",
        _delete("GmailWatchFunctionEventInvokeConfig"),
    ),
    ("scheduled_functions_have_failure_destination", "role cannot send", _retention_role_cannot_send),
    (
        "scheduled_functions_have_failure_destination",
        "key only via DynamoDB",
        _retention_key_via_dynamodb_only,
    ),
    (
        "scheduled_functions_have_failure_destination",
        "no DLQ-error alarm",
        _delete("DsarDeadlinesFunctionDeadLetterErrorsAlarm"),
    ),
    (
        "scheduled_functions_have_failure_destination",
        "no failed-invocation alarm",
        _delete("GmailWatchScheduleFailedInvocationsAlarm"),
    ),
    ("custom_metric_alarms_match_emitters", "wrong service dimension", _dsar_overdue_in_source_only),
    (
        "custom_metric_alarms_match_emitters",
        "wrong namespace",
        _set("GmailWatchesLapsedAlarm", ["Namespace"], "Callproof"),
    ),
    ("custom_metric_alarms_match_emitters", "no alarm", _delete("GmailWatchesLapsedAlarm")),
    ("waf_limits_public_routes", "not associated", _delete("ApiWebAclAssociation")),
    (
        "waf_limits_public_routes",
        "associated with another API",
        _set(
            "ApiWebAclAssociation",
            ["ResourceArn"],
            {"Fn::Sub": "arn:aws:apigateway:us-east-1::/restapis/abc/stages/dev"},
        ),
    ),
    (
        "waf_limits_public_routes",
        "privacy pages not limited",
        _waf_rule(
            "public-pages-per-ip",
            lambda r: _regex(r, "^(/${Stage})?/(sms|guardian|email|oauth|console)(/|$)"),
        ),
    ),
    (
        "waf_limits_public_routes",
        "only the custom-domain form",
        _waf_rule("webhooks-per-ip", lambda r: _regex(r, "^/webhooks(/|$)")),
    ),
    (
        "waf_limits_public_routes",
        "limits everything",
        _waf_rule("public-pages-per-ip", lambda r: _regex(r, "^/")),
    ),
    (
        "waf_limits_public_routes",
        "rate rule only counts",
        _waf_rule("webhooks-per-ip", lambda r: r.update(Action={"Count": {}})),
    ),
    (
        "waf_limits_public_routes",
        "aggregated by header",
        _waf_rule(
            "public-pages-per-ip",
            lambda r: r["Statement"]["RateBasedStatement"].update(AggregateKeyType="FORWARDED_IP"),
        ),
    ),
    (
        "waf_limits_public_routes",
        "no normalisation",
        _waf_rule(
            "public-pages-per-ip",
            lambda r: r["Statement"]["RateBasedStatement"]["ScopeDownStatement"][
                "RegexMatchStatement"
            ].update(TextTransformations=[{"Priority": 0, "Type": "NONE"}]),
        ),
    ),
    (
        "waf_limits_public_routes",
        "common rules only count",
        _waf_rule("aws-common", lambda r: r.update(OverrideAction={"Count": {}})),
    ),
    ("waf_limits_public_routes", "no logging", _delete("ApiWebAclLogging")),
    (
        "waf_limits_public_routes",
        "log group misnamed",
        _set("WafLogGroup", ["LogGroupName"], "callproof-waf"),
    ),
    ("waf_limits_public_routes", "tokens logged", _set("ApiWebAclLogging", ["RedactedFields"], [])),
    (
        "public_methods_throttled",
        "stage-wide only",
        _method_setting("/~1privacy~1requests", "POST", lambda s, i: s.pop(i)),
    ),
    (
        "public_methods_throttled",
        "webhook above the stage",
        _method_setting(
            "/~1webhooks~1twilio~1sms", "POST", lambda s, i: s[i].update(ThrottlingRateLimit=500)
        ),
    ),
    (
        "public_methods_throttled",
        "logging turned off",
        _method_setting("/~1sms~1opt-out", "GET", lambda s, i: s[i].pop("LoggingLevel")),
    ),
]


# ------------------------------------------------------------------ tests


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


def test_a_new_public_route_needs_its_throttle_and_rate_rule(cfn: Template, source: Template) -> None:
    """The rules follow the template's routes: a public route added tomorrow is checked too."""
    opened = copy.deepcopy(source)
    fn = opened["Resources"]["DsarPagesFunction"]["Properties"]
    fn["Events"]["Status"] = {
        "Type": "Api",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "Path": "/status",
            "Method": "GET",
            "Auth": {"Authorizer": "NONE"},
        },
    }
    assert any("GET /status has no throttle" in p for p in rule_public_methods_throttled(cfn, opened))
    assert any("covers GET /dev/status" in p for p in rule_waf_limits_public_routes(cfn, opened))


def test_every_function_and_dead_letter_queue_is_counted(cfn: Template) -> None:
    """The rules see all 20 functions and the five queues that hold what failed every retry."""
    assert len(list(resources(cfn, "AWS::Lambda::Function"))) >= 20
    assert set(dead_letter_queues(cfn)) >= {
        "CallRematchDeadLetterQueue",
        "GmailSyncDeadLetterQueue",
        "CallRetentionDeadLetterQueue",
        "GmailWatchDeadLetterQueue",
        "DsarDeadlinesDeadLetterQueue",
        "MemberSweepDeadLetterQueue",
    }
    assert {fn for _, _, fn in schedule_rules(cfn)} == {
        "CallRetentionFunction",
        "GmailWatchFunction",
        "DsarDeadlinesFunction",
        "MemberSweepFunction",
    }


def test_powertools_names_the_service_dimension_as_the_alarms_expect() -> None:
    """The custom-metric alarms filter on dimension ``service``: what Powertools adds for the service."""
    from aws_lambda_powertools import Metrics

    metrics = Metrics(namespace="CallProof", service="dsar-deadlines")
    metrics.add_metric(name="DsarOverdue", unit="Count", value=2)
    blob = metrics.serialize_metric_set()
    metrics.clear_metrics()
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "CallProof"
    assert directive["Dimensions"] == [["service"]]
    assert blob["service"] == "dsar-deadlines"
    assert blob["DsarOverdue"] == [2.0]
