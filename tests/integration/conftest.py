from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from callproof import aws, config, wiring
from callproof_local import invoke, model, moto_patches
from callproof_local.provision import provision
from callproof_local.template import Physical, Resolver, load_template
from tests.support import TEMPLATE


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
        yield provision(load_template(TEMPLATE), TEMPLATE.parent, None)  # type: ignore[arg-type]
    aws.reset()
    config.clear_cache()
    wiring.reset()


Invoke = Callable[[str, dict[str, Any]], tuple[int, Any]]


@pytest.fixture
def call(aws_stack: dict[str, Physical]) -> Invoke:
    """Invoke a template function's handler the way the local stack does; answers (status, JSON body)."""
    template = load_template(TEMPLATE)
    functions = model.load_functions(template, TEMPLATE.parent, Resolver(template, aws_stack))

    def run(logical_id: str, event: dict[str, Any]) -> tuple[int, Any]:
        response = invoke.invoke(functions[logical_id], event)
        body = response.get("body")
        return response["statusCode"], json.loads(body) if body else None

    run.raw = lambda logical_id, event: invoke.invoke(functions[logical_id], event)  # type: ignore[attr-defined]
    return run
