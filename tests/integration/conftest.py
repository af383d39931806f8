from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from callproof import aws, config, wiring
from callproof_local import invoke, model, moto_patches
from callproof_local.gateway import routes_of
from callproof_local.provision import provision
from callproof_local.template import Physical, Resolver, load_template
from tests.support import TEMPLATE, age_answerer, answering_age


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Physical]]:
    """Every resource of infra/template.yaml created in moto (decorator mode), fresh per test."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "CallProofTest",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    moto_patches.install()
    with mock_aws():
        aws.reset()
        config.clear_cache()
        wiring.reset()
        physical = provision(load_template(TEMPLATE), TEMPLATE.parent, None)  # type: ignore[arg-type]
        with answering_age(age_answerer(aws.dynamodb(), physical["AccountsTable"].ref)):
            yield physical
    aws.reset()
    config.clear_cache()
    wiring.reset()


Invoke = Callable[[str | None, dict[str, Any]], tuple[int, Any]]


def routed(
    functions: dict[str, model.Function], logical_id: str | None, event: dict[str, Any]
) -> model.Function:
    """The function the template routes an API event to, as API Gateway would; a test that names
    the function it means is told when the template routes the event elsewhere."""
    if "httpMethod" not in event:  # a schedule, stream or state-machine task: the named function
        assert logical_id is not None, "name the function of a non-API event"
        return functions[logical_id]
    routes = routes_of(functions.values())
    found = routes.match(event["httpMethod"], event["path"])
    assert not isinstance(found, list), f"no route for {event['httpMethod']} {event['path']}"
    function = found.target.function
    assert logical_id in (None, function.logical_id), f"{event['path']} is served by {function.logical_id}"
    return function


@pytest.fixture
def call(aws_stack: dict[str, Physical]) -> Invoke:
    """Invoke the handler of the template function that serves the event's route, the way the local
    stack does; answers (status, JSON body)."""
    template = load_template(TEMPLATE)
    functions = model.load_functions(template, TEMPLATE.parent, Resolver(template, aws_stack))

    def run(logical_id: str | None, event: dict[str, Any]) -> tuple[int, Any]:
        response = invoke.invoke(routed(functions, logical_id, event), event)
        body = response.get("body")
        return response["statusCode"], json.loads(body) if body else None

    run.raw = lambda logical_id, event: invoke.invoke(routed(functions, logical_id, event), event)  # type: ignore[attr-defined]
    return run
