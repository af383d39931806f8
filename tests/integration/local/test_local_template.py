"""Template reading: short tags, intrinsics, the function / event / state machine model, routing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from callproof_local import model
from callproof_local.routing import Match, Routes
from callproof_local.template import (
    DEFAULT_TEMPLATE,
    CfnLoader,
    Physical,
    Resolver,
    TemplateError,
    load_template,
    references,
)
from tests.fixtures.local_stack import FIXTURE_DIR, FIXTURE_TEMPLATE


def _physical(template: dict) -> dict[str, Physical]:
    """Stand-in physical names, as provisioning would record them."""
    return {
        lid: Physical(
            f"phys-{lid}", {"Arn": f"arn:{lid}", "StreamArn": f"stream:{lid}", "QueueName": f"q-{lid}"}
        )
        for lid in template["Resources"]
    }


def test_short_tags_become_long_forms() -> None:
    text = textwrap.dedent(
        """
        a: !Ref X
        b: !GetAtt T.Arn
        c: !GetAtt [T, StreamArn]
        d: !Sub "x-${Y}"
        e: !Sub ["${A}", {A: !Ref B}]
        f: !Join [",", [!Ref X, "z"]]
        g: !If [Cond, 1, 2]
        h: !Select [0, !Split [",", "a,b"]]
        i: !Equals [a, b]
        j: !Not [!Condition C]
        k: !FindInMap [M, a, b]
        l: !Base64 text
        m: !GetAZs ""
        n: !ImportValue exported
        o: !And [!Or [true, false], true]
        """
    )
    doc = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    assert doc["a"] == {"Ref": "X"}
    assert doc["b"] == {"Fn::GetAtt": ["T", "Arn"]}
    assert doc["c"] == {"Fn::GetAtt": ["T", "StreamArn"]}
    assert doc["d"] == {"Fn::Sub": "x-${Y}"}
    assert doc["e"] == {"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]}
    assert doc["f"] == {"Fn::Join": [",", [{"Ref": "X"}, "z"]]}
    assert doc["g"] == {"Fn::If": ["Cond", 1, 2]}
    assert doc["h"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert doc["i"] == {"Fn::Equals": ["a", "b"]}
    assert doc["j"] == {"Fn::Not": [{"Condition": "C"}]}
    assert doc["k"] == {"Fn::FindInMap": ["M", "a", "b"]}
    assert doc["l"] == {"Fn::Base64": "text"}
    assert doc["m"] == {"Fn::GetAZs": ""}
    assert doc["n"] == {"Fn::ImportValue": "exported"}
    assert doc["o"] == {"Fn::And": [{"Fn::Or": [True, False]}, True]}


def test_resolver_evaluates_intrinsics_of_the_fixture() -> None:
    template = load_template(FIXTURE_TEMPLATE)
    functions = model.load_functions(template, FIXTURE_DIR, Resolver(template, _physical(template)))
    env = functions["EchoFunction"].environment
    assert env["TABLE_NAME"] == "phys-EventsTable"
    assert env["KEY_ARN"] == "arn:FixtureKey"
    assert env["STREAM_ARN"] == "stream:EventsTable"
    assert env["QUEUE_NAME"] == "q-JobsQueue"
    assert env["SUBSTITUTED"] == "us-east-1:123456789012:test:phys-EventsTable:${Literal}"
    assert env["SUB_WITH_VARS"] == "y-hello"
    assert env["JOINED"] == "aws/test/25"
    assert env["CONDITIONAL"] == "is-test"
    # Globals.Function variables are merged under the function's own
    assert env["GREETING"] == "hello"
    assert env["STAGE"] == "test"


def test_resolver_rejects_what_it_cannot_evaluate() -> None:
    template = load_template(FIXTURE_TEMPLATE)
    resolver = Resolver(template, {})
    with pytest.raises(TemplateError, match="Nope"):
        resolver.resolve({"Ref": "Nope"})
    with pytest.raises(TemplateError, match="ImportValue"):
        resolver.resolve({"Fn::ImportValue": "x"})
    assert resolver.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert resolver.resolve({"a": {"Ref": "AWS::NoValue"}, "b": 1}) == {"b": 1}


def test_function_model_of_the_fixture() -> None:
    template = load_template(FIXTURE_TEMPLATE)
    functions = model.load_functions(template, FIXTURE_DIR, Resolver(template, _physical(template)))
    echo = functions["EchoFunction"]
    assert echo.code_dir == FIXTURE_DIR / "functions" / "echo"
    assert echo.handler == "app.handler"
    assert (echo.timeout, echo.memory) == (20, 256)
    events = {event.name: event for event in echo.api_events}
    assert (events["GetItem"].path, events["GetItem"].method, events["GetItem"].stage) == (
        "/items/{item_id}",
        "GET",
        "test",
    )
    assert events["GetItem"].auth_required
    assert not events["PublicPing"].auth_required
    assert events["Files"].method == "ANY"
    schedules = {s.name: s for s in echo.schedules}
    assert schedules["Nightly"].expression == "rate(1 day)"
    assert schedules["Nightly"].input is None
    assert schedules["Hourly"].input == {"kind": "hourly"}
    streams = {s.name: s for s in functions["RecorderFunction"].streams}
    assert streams["EventsStream"].kind == "DynamoDB"
    assert streams["EventsStream"].source_arn == "stream:EventsTable"
    assert streams["EventsStream"].starting_position == "TRIM_HORIZON"
    assert streams["Jobs"].kind == "SQS"
    assert streams["Jobs"].report_batch_item_failures


def test_state_machine_definition_gets_substitutions() -> None:
    template = load_template(FIXTURE_TEMPLATE)
    machines = model.load_state_machines(template, FIXTURE_DIR, Resolver(template, _physical(template)))
    definition = machines["FixtureStateMachine"].definition()
    assert "arn:EchoFunction" in definition
    assert "phys-BoomFunction" in definition
    assert "${" not in definition


def test_references_follow_ref_getatt_and_sub() -> None:
    value = {
        "a": {"Ref": "A"},
        "b": {"Fn::GetAtt": ["B", "Arn"]},
        "c": {"Fn::Sub": "${C.Arn}/${AWS::Region}/${!D}"},
    }
    assert references(value) == {"A", "B", "C"}


def test_real_template_routes_load(tmp_path: Path) -> None:
    template = load_template(DEFAULT_TEMPLATE)
    functions = model.load_functions(
        template, DEFAULT_TEMPLATE.parent, Resolver(template, _physical(template))
    )
    paths = {(e.method, e.path) for f in functions.values() for e in f.api_events}
    assert ("POST", "/v1/contacts/lookup") in paths
    assert ("GET", "/v1/contacts/{contact_id}") in paths


def test_not_a_template(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("just: text\n")
    with pytest.raises(TemplateError, match="no Resources"):
        load_template(path)


# ---------------------------------------------------------------------------------------------- routing
ROUTES = Routes(
    [
        ("GET", "/v1/contacts", "list"),
        ("POST", "/v1/contacts/lookup", "lookup"),
        ("GET", "/v1/contacts/{contact_id}", "get"),
        ("DELETE", "/v1/contacts/{contact_id}", "delete"),
        ("ANY", "/files/{proxy+}", "files"),
        ("GET", "/files/special/{name}", "special"),
    ]
)


def test_literal_segment_beats_parameter() -> None:
    match = ROUTES.match("POST", "/v1/contacts/lookup")
    assert isinstance(match, Match)
    assert match.target == "lookup"
    got = ROUTES.match("GET", "/v1/contacts/c-1")
    assert isinstance(got, Match)
    assert (got.target, got.resource, got.path_parameters) == (
        "get",
        "/v1/contacts/{contact_id}",
        {"contact_id": "c-1"},
    )


def test_method_missing_on_the_chosen_resource_lists_allowed_methods() -> None:
    # like API Gateway, GET /v1/contacts/lookup does not fall back to /v1/contacts/{contact_id}
    assert ROUTES.match("GET", "/v1/contacts/lookup") == ["POST"]
    assert ROUTES.match("PUT", "/v1/contacts/c-1") == ["DELETE", "GET"]
    assert ROUTES.match("GET", "/nowhere") == []
    assert ROUTES.match("GET", "/v1/contacts/a/b") == []


def test_greedy_proxy_and_any() -> None:
    match = ROUTES.match("PUT", "/files/a/b/c.txt")
    assert isinstance(match, Match)
    assert (match.target, match.path_parameters) == ("files", {"proxy": "a/b/c.txt"})
    special = ROUTES.match("GET", "/files/special/x")
    assert isinstance(special, Match)
    assert special.target == "special"
    assert ROUTES.match("GET", "/files") == []
