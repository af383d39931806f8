"""Running a handler in-process: import by path (cached, no sys.path change), context, environment."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from callproof.config import environment
from callproof_local import invoke, model
from tests.fixtures.local_stack import FIXTURE_DIR

ECHO_DIR = FIXTURE_DIR / "functions" / "echo"


def _function(code_dir: Path = ECHO_DIR, handler: str = "app.handler") -> model.Function:
    return model.Function(
        logical_id="EchoFunction",
        name="callproof-local-echofunction",
        arn="arn:aws:lambda:us-east-1:123456789012:function:callproof-local-echofunction",
        code_dir=code_dir,
        handler=handler,
        environment={"GREETING": "hi", "TABLE_NAME": "t1"},
        timeout=5,
        memory=256,
        api_events=(),
        schedules=(),
        streams=(),
    )


def test_handler_runs_with_its_environment_and_context() -> None:
    path_before = list(sys.path)
    result = invoke.invoke(_function(), {"a": 1})
    assert sys.path == path_before
    assert result["event"] == {"a": 1}
    assert result["env"]["GREETING"] == "hi"
    assert result["env"]["TABLE_NAME"] == "t1"
    assert result["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "callproof-local-echofunction"
    context = result["context"]
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(":callproof-local-echofunction")
    assert 0 < context["remaining_ms"] <= 5000
    assert "GREETING" not in environment()  # the overlay ends with the invocation


def test_handlers_are_imported_once_under_unique_names() -> None:
    first = invoke.load_handler(ECHO_DIR, "app.handler")
    assert invoke.load_handler(ECHO_DIR, "app.handler") is first
    boom = invoke.load_handler(FIXTURE_DIR / "functions" / "boom", "app.handler")
    assert first.__module__ != boom.__module__
    assert "app" not in sys.modules or sys.modules["app"].__file__ != str(ECHO_DIR / "app.py")


def test_bad_handlers_fail_clearly() -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.py"):
        invoke.load_handler(ECHO_DIR, "missing.handler")
    with pytest.raises(AttributeError, match="nope"):
        invoke.load_handler(ECHO_DIR, "app.nope")
    with pytest.raises(ValueError, match=r"module\.function"):
        invoke.load_handler(ECHO_DIR, "handler")


def test_context_log_names() -> None:
    context = invoke.LambdaContext("fn", "arn:fn", 128, 3)
    assert context.log_group_name == "/aws/lambda/fn"
    assert "[$LATEST]" in context.log_stream_name
    assert context.function_version == "$LATEST"


LOGGING_HANDLER = """
from callproof.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    logger.info("ran")
    return None
"""


def test_log_lines_name_the_functions_service(tmp_path: Path) -> None:
    """Issue 18, point 5: each function logs as the service its template environment names (all
    local functions share one process, where Powertools alone would say ``service_undefined``)."""
    from callproof.observability import logger

    (tmp_path / "app.py").write_text(LOGGING_HANDLER)
    contacts, retention = (
        replace(_function(tmp_path), logical_id=logical_id, environment={"POWERTOOLS_SERVICE_NAME": service})
        for logical_id, service in (("ContactsFunction", "contacts"), ("RetentionFunction", "call-retention"))
    )
    stream = io.StringIO()
    # Swapped by hand: setStream flushes the old stream, which may be an earlier test's closed capture.
    handler: Any = logger.registered_handler
    previous, handler.stream = handler.stream, stream
    try:
        invoke.invoke(contacts, {})
        invoke.invoke(retention, {})
        invoke.invoke(replace(contacts, environment={}), {})  # no variable: Powertools' own default
        logger.info("outside any invocation")
    finally:
        handler.stream = previous
    services = [json.loads(line)["service"] for line in stream.getvalue().splitlines()]
    assert services == ["contacts", "call-retention", logger.service, logger.service]
    assert logger.service == "service_undefined"
