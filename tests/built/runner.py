"""Invoke one function of a `sam build` output the way Lambda's python3.12 runtime does (ADR 0015).

Run by tests/built with the build's python3.12 as ``python3.12 -I -S runner.py OUT FUNCTION_DIR
LAYER_DIR...``: isolated (no PYTHON* variables, no user or site packages, so nothing of the dev venv or
of the interpreter's own site-packages), with the function's code then each layer's ``python/`` folder
on ``sys.path`` (Lambda: ``/var/task``, then ``/opt/python``, where the layers are unpacked). It reads
the event from stdin, calls ``$_HANDLER`` with a Lambda context, and writes to OUT, as JSON, the
handler's result (or the error Lambda would report) and every loaded module file found outside those
folders and the standard library. Only the standard library here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import sysconfig
import time
import traceback
import uuid
from pathlib import Path


class LambdaContext:
    """The attributes of the runtime's context object that Powertools and the handlers read."""

    def __init__(self, timeout_seconds: float) -> None:
        name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{name}"
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "built/[$LATEST]" + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _outside(roots: list[Path]) -> list[str]:
    """Files of loaded modules that are neither under ``roots`` nor in the standard library."""
    stdlib = [Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")]
    found = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if any(path.is_relative_to(root) for root in roots):
            continue
        if any(path.is_relative_to(lib) for lib in stdlib) and "site-packages" not in path.parts:
            continue
        found.append(str(path))
    return sorted(found)


def main(argv: list[str]) -> int:
    out, function_dir, *layers = argv
    roots = [Path(function_dir).resolve(), *(Path(layer).resolve() for layer in layers)]
    sys.path[:0] = [str(root) for root in roots]
    roots.append(Path(__file__).resolve())  # this runner, loaded as __main__
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    event = json.load(sys.stdin)
    report: dict[str, object] = {"python": list(sys.version_info[:3])}
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
        report["init_ms"] = round((time.perf_counter() - started) * 1000)
        report["result"] = handler(event, LambdaContext(float(os.environ["BUILT_TIMEOUT_SECONDS"])))
    except Exception as error:  # the runtime reports it as the invocation's error
        report["error"] = {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "stackTrace": traceback.format_exception(error),
        }
    report["outside"] = _outside(roots)
    Path(out).write_text(json.dumps(report, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
