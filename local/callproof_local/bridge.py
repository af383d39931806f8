"""Step Functions Lambda tasks run our handlers in-process (moto internals: moto is pinned at 5.2.5).

moto's interpreter runs state machines when ``stepfunctions.execute_state_machine`` is on, and calls
Lambda through its own server on ``localhost:$MOTO_PORT``. Without Docker, ``lambda.use_docker: false``
selects ``LambdaSimpleBackend``, whose ``invoke`` only echoes; we replace that method so the functions
of the template run for real. Names we do not know keep moto's echo. A handler exception becomes
Lambda's "Unhandled" function error, so ``Retry`` and ``Catch`` in ASL behave as in the cloud.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from moto.awslambda_simple.models import LambdaSimpleBackend

from callproof_local.invoke import invoke
from callproof_local.model import Function

MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}

_functions: dict[str, Function] = {}
_lock = threading.Lock()
_moto_invoke = LambdaSimpleBackend.invoke


def configure_moto(endpoint: str) -> None:
    """Turn on simple Lambda and real Step Functions executions in the moto server at ``endpoint``."""
    request = urllib.request.Request(  # noqa: S310 - the endpoint is our own loopback moto server
        f"{endpoint}/moto-api/config",
        data=json.dumps(MOTO_CONFIG).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
    port = urlsplit(endpoint).port
    if port is None:
        raise ValueError(f"moto endpoint {endpoint} has no port")
    os.environ["MOTO_PORT"] = str(port)  # moto's interpreter calls back to localhost:$MOTO_PORT


def function_name(name_or_arn: str) -> str:
    """``name``, ``arn:aws:lambda:r:a:function:name`` or ``...:name:qualifier`` -> ``name``."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn.split(":")[0]


def _bridged_invoke(
    self: LambdaSimpleBackend,
    function_name_or_arn: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    with _lock:
        function = _functions.get(function_name(function_name_or_arn))
    if function is None:
        result: str | bytes | None = _moto_invoke(
            self, function_name_or_arn, qualifier, body, headers, response_headers
        )
        return result
    raw = body.decode() if isinstance(body, bytes) else body
    try:
        output = invoke(function, json.loads(raw) if raw else {})
    except Exception as exc:  # every handler failure is a Lambda function error
        traceback.print_exc(file=sys.stderr)
        response_headers["x-amz-function-error"] = "Unhandled"
        error = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return json.dumps(error).encode()
    return json.dumps(output).encode()


def install(functions: Mapping[str, Function]) -> None:
    """Route Lambda invocations of these functions (keyed by local name) to their handlers."""
    with _lock:
        _functions.update({function.name: function for function in functions.values()})
        LambdaSimpleBackend.invoke = _bridged_invoke  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Restore moto's own simple Lambda and forget the registered functions."""
    with _lock:
        _functions.clear()
        LambdaSimpleBackend.invoke = _moto_invoke  # type: ignore[method-assign]
