"""The Step Functions bridge (moto internals, moto pinned at 5.2.5): Lambda tasks run our handlers."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from typing import Any

import moto

from callproof_local import bridge
from callproof_local.stack import LocalStack

Aws = Callable[[str], Any]


def _finish(sfn: Any, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError("execution still running")


def test_moto_internals_the_bridge_relies_on() -> None:
    assert moto.__version__ == "5.2.5"
    # moto's own method, as the bridge saved it: the class attribute is the bridge while a stack runs
    params = list(inspect.signature(bridge._moto_invoke).parameters)
    assert params == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


def test_execution_runs_handlers_and_catches_the_failure(stack: LocalStack, aws: Aws) -> None:
    sfn = aws("stepfunctions")
    started = sfn.start_execution(stateMachineArn=stack.physical["FixtureStateMachine"].ref, input='{"n": 1}')
    execution = _finish(sfn, started["executionArn"])
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    echo = output["echo"]
    assert echo["event"] == {"n": 1}
    assert echo["env"]["TABLE_NAME"] == "callproof-local-eventstable"
    assert echo["context"]["function_name"] == "callproof-local-echofunction"
    assert output["error"]["Error"] == "RuntimeError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "boom"


def test_direct_invoke_reports_unhandled_errors(stack: LocalStack, aws: Aws) -> None:
    lambda_client = aws("lambda")
    ok = lambda_client.invoke(FunctionName=stack.functions["EchoFunction"].arn, Payload=b'{"x": 1}')
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["event"] == {"x": 1}
    failed = lambda_client.invoke(FunctionName="callproof-local-boomfunction", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "RuntimeError"


def test_unknown_functions_keep_motos_behaviour(stack: LocalStack, aws: Aws) -> None:
    lambda_client = aws("lambda")
    role = aws("iam").get_role(RoleName="callproof-local-lambda")["Role"]["Arn"]
    lambda_client.create_function(
        FunctionName="not-in-template", Runtime="python3.12", Role=role, Handler="x.y",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )  # fmt: skip
    result = lambda_client.invoke(FunctionName="not-in-template", Payload=b'{"echo": true}')
    assert json.loads(result["Payload"].read()) == {"echo": True}


def test_function_name_forms() -> None:
    assert bridge.function_name("fn") == "fn"
    assert bridge.function_name("fn:live") == "fn"
    assert bridge.function_name("arn:aws:lambda:us-east-1:123456789012:function:fn") == "fn"
    assert bridge.function_name("arn:aws:lambda:us-east-1:123456789012:function:fn:3") == "fn"
