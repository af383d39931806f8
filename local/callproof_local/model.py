"""What the local stack runs, read from the template: functions, their events and state machines.

Built after provisioning, so every intrinsic (table names, key ids, queue URLs) resolves to the
resources moto actually holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callproof_local.template import Resolver, Template, TemplateError

FUNCTION_TYPES = frozenset({"AWS::Serverless::Function"})
STATE_MACHINE_TYPES = frozenset({"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"})


@dataclass(frozen=True)
class ApiEvent:
    name: str
    path: str
    method: str  # upper case; "ANY" matches every method
    auth_required: bool
    stage: str


@dataclass(frozen=True)
class ScheduleEvent:
    name: str
    expression: str  # "rate(...)" or "cron(...)"
    input: Any  # the event to send, or None for an EventBridge "Scheduled Event"
    enabled: bool
    timezone: str | None


@dataclass(frozen=True)
class StreamEvent:
    """A DynamoDB stream (kind "DynamoDB", source = stream ARN) or SQS queue (kind "SQS", queue ARN)."""

    name: str
    kind: str
    source_arn: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    filters: tuple[str, ...] = ()  # FilterCriteria patterns: a record matching none is dropped


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str  # the local physical name, also registered in moto's Lambda backend
    arn: str
    code_dir: Path
    handler: str
    environment: Mapping[str, str]
    timeout: int
    memory: int
    api_events: tuple[ApiEvent, ...]
    schedules: tuple[ScheduleEvent, ...]
    streams: tuple[StreamEvent, ...]


@dataclass(frozen=True)
class StateMachine:
    logical_id: str
    definition_path: Path
    substitutions: Mapping[str, str]

    def definition(self) -> str:
        """The ASL document with its ``${Name}`` DefinitionSubstitutions filled in."""
        text = self.definition_path.read_text(encoding="utf-8")
        for name, value in self.substitutions.items():
            text = text.replace("${" + name + "}", value)
        return text


def resources_of(template: Template, types: frozenset[str]) -> dict[str, dict[str, Any]]:
    return {lid: spec for lid, spec in template["Resources"].items() if spec.get("Type") in types}


def function_properties(template: Template, logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals.Function applied (environment variables merged)."""
    defaults = dict(template.get("Globals", {}).get("Function", {}))
    own = template["Resources"][logical_id].get("Properties", {})
    merged = {**defaults, **own}
    variables = {
        **defaults.get("Environment", {}).get("Variables", {}),
        **own.get("Environment", {}).get("Variables", {}),
    }
    merged["Environment"] = {"Variables": variables}
    return merged


def load_functions(template: Template, template_dir: Path, resolver: Resolver) -> dict[str, Function]:
    functions = {}
    for logical_id in resources_of(template, FUNCTION_TYPES):
        props = function_properties(template, logical_id)
        physical = (
            resolver.resolve({"Ref": logical_id}),
            resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}),
        )
        code_uri = resolver.resolve(props.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local directory")
        events = props.get("Events", {})
        functions[logical_id] = Function(
            logical_id=logical_id,
            name=physical[0],
            arn=physical[1],
            code_dir=(template_dir / code_uri).resolve(),
            handler=str(props["Handler"]),
            environment={
                key: resolver.resolve_str(value)
                for key, value in props["Environment"]["Variables"].items()
                if resolver.resolve(value) is not None
            },
            timeout=int(resolver.resolve(props.get("Timeout", 3))),
            memory=int(resolver.resolve(props.get("MemorySize", 128))),
            api_events=tuple(_api_events(template, events, resolver)),
            schedules=tuple(_schedules(events, resolver)),
            streams=tuple(_streams(events, resolver)),
        )
    return functions


def state_machine(
    template: Template, template_dir: Path, logical_id: str, resolver: Resolver
) -> StateMachine:
    props = template["Resources"][logical_id].get("Properties", {})
    uri = props.get("DefinitionUri")
    if not isinstance(uri, str):
        raise TemplateError(f"{logical_id}: the local stack needs DefinitionUri to be a file path")
    return StateMachine(
        logical_id=logical_id,
        definition_path=(template_dir / uri).resolve(),
        substitutions={
            name: resolver.resolve_str(value)
            for name, value in props.get("DefinitionSubstitutions", {}).items()
        },
    )


def load_state_machines(
    template: Template, template_dir: Path, resolver: Resolver
) -> dict[str, StateMachine]:
    return {
        logical_id: state_machine(template, template_dir, logical_id, resolver)
        for logical_id in resources_of(template, STATE_MACHINE_TYPES)
    }


def _events_of(events: Mapping[str, Any], *types: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, spec.get("Properties", {})) for name, spec in events.items() if spec["Type"] in types]


def _api_events(template: Template, events: Mapping[str, Any], resolver: Resolver) -> list[ApiEvent]:
    found = []
    for name, props in _events_of(events, "Api"):
        api_id = props.get("RestApiId", {}).get("Ref") if isinstance(props.get("RestApiId"), dict) else None
        api = template["Resources"].get(api_id, {}).get("Properties", {}) if api_id else {}
        default_authorizer = api.get("Auth", {}).get("DefaultAuthorizer")
        authorizer = props.get("Auth", {}).get("Authorizer", default_authorizer)
        found.append(
            ApiEvent(
                name=name,
                path=resolver.resolve_str(props["Path"]),
                method=resolver.resolve_str(props["Method"]).upper(),
                auth_required=authorizer not in (None, "NONE"),
                stage=resolver.resolve_str(api["StageName"]) if "StageName" in api else "Prod",
            )
        )
    return found


def _schedules(events: Mapping[str, Any], resolver: Resolver) -> list[ScheduleEvent]:
    found = []
    for name, props in _events_of(events, "Schedule", "ScheduleV2"):
        raw_input = resolver.resolve(props.get("Input"))
        state = resolver.resolve(props.get("State", "ENABLED"))
        found.append(
            ScheduleEvent(
                name=name,
                expression=resolver.resolve_str(
                    props["Schedule"] if "Schedule" in props else props["ScheduleExpression"]
                ),
                input=json.loads(raw_input) if isinstance(raw_input, str) else raw_input,
                enabled=bool(resolver.resolve(props.get("Enabled", True))) and state != "DISABLED",
                timezone=resolver.resolve(props.get("ScheduleExpressionTimezone")),
            )
        )
    return found


def _streams(events: Mapping[str, Any], resolver: Resolver) -> list[StreamEvent]:
    found = []
    for name, props in _events_of(events, "DynamoDB", "SQS"):
        kind = events[name]["Type"]
        found.append(
            StreamEvent(
                name=name,
                kind=kind,
                source_arn=resolver.resolve_str(props["Stream"] if kind == "DynamoDB" else props["Queue"]),
                batch_size=int(resolver.resolve(props.get("BatchSize", 100 if kind == "DynamoDB" else 10))),
                starting_position=str(resolver.resolve(props.get("StartingPosition", "LATEST"))),
                report_batch_item_failures="ReportBatchItemFailures"
                in (resolver.resolve(props.get("FunctionResponseTypes")) or []),
                filters=tuple(
                    str(resolver.resolve(f["Pattern"]))
                    for f in (props.get("FilterCriteria") or {}).get("Filters", [])
                ),
            )
        )
    return found
