"""Cold start: each API function's import and first answer, against a bare boto3 DynamoDB client.

Every figure is CPU time in a fresh interpreter (``time.process_time`` from the first line of the
script to the handler's answer), so the interpreter's own start, equal for all, is left out. Runs
are interleaved (one round runs the baseline and every function once) and the median of ``ROUNDS``
is kept. The function's answer is its first request without a caller: an authenticated route's 401
(what a Lambda environment's first request costs before any AWS call), a public route's refusal.
Tracing is on, as in Lambda (the X-Ray SDK patches what the function asks it to).

The framework floor: a handler with nothing of ours (Logger, a Tracer patching botocore alone as ours
does, Metrics, a validating ``APIGatewayRestResolver`` with one pydantic model, boto3 imported, answering
401 before any route), run in the same rounds. It is what DESIGN.md's handler shape costs before any CallProof code; the target
of 1.5x the bare client is measured against the baseline, and the floor shows how much of it is left.

Our functions pause the garbage collector while they load (ADR 0013): what loading makes lives as long
as the environment, so collecting during it is waste. The baseline and the floor do not; the same
rounds also run each with the collector paused. The like-for-like line divides our heaviest function
by the faster of the two baselines, so pausing can never flatter our ratio (it slows a bare boto3 load).

Three modes. With bytecode (``sam build`` compiles it into the packages, see ADR 0012) and without
(no ``.pyc`` read or written: every module compiled from source, as a layer without bytecode ships),
both in the dev venv (python3.11, the code as checked out). And the packages as built, where they run:
``make build-host``'s output (built for python3.12 and this machine, bytecode compiled at build time)
run by python3.12 isolated (``-I -S -B``: nothing of the venv, nothing written), with the function's
code folder, then its layers' ``python/`` folders on ``sys.path`` as Lambda puts them; the baseline and
the floor there import boto3, Powertools and pydantic from the core layer.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callproof_local.built import Built
from callproof_local.model import Function
from callproof_local.provision import declared_functions
from tools import python312

ROUNDS = int(os.environ.get("COLDSTART_ROUNDS", "15"))
TARGET_RATIO = 1.5

# The baseline: a bare handler module that imports boto3 and makes a DynamoDB client.
BASELINE_HANDLER = """
import boto3
boto3.client("dynamodb")


def lambda_handler(event, context):
    return {"statusCode": 200}
"""

PAUSED = "import gc\ngc.disable()\n{script}\ngc.enable()\n"  # as each of our functions' modules does

# The handler module is imported from as deep a call as Lambda's runtime imports it (its bootstrap's
# main, awslambdaric's main, run, _get_handler, then importlib.import_module): CPython grows its frame
# stack in chunks, so how deep an import starts can change what a recursive import costs (urllib3's
# regular expressions took 5x longer at one depth, on one function and not another; ADR 0013).
HANDLER = """
import importlib, json, sys, time
started = time.process_time()
sys.path[:0] = {paths!r}
def _get_handler():
    return importlib.import_module({module!r})
def run():
    return _get_handler()
def ric_main():
    return run()
def main():
    return ric_main()
module = main()
event = json.loads({event!r})
answer = getattr(module, {name!r})(event, type("Context", (), {{
    "function_name": "bench", "memory_limit_in_mb": 1024, "aws_request_id": "bench-1",
    "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
}})())
spent = time.process_time() - started
print(json.dumps([spent, answer["statusCode"]]))
"""


FLOOR_HANDLER = """
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

logger, tracer, metrics = Logger(), Tracer(patch_modules=("botocore",)), Metrics(namespace="bench")
app = APIGatewayRestResolver(enable_validation=True)


class Item(BaseModel):
    name: str


@app.get("/v1/items")
def items() -> list[Item]:
    return []


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    if not (event.get("headers") or {}).get("Authorization"):
        return {"statusCode": 401, "body": "{}"}
    boto3.client("dynamodb")
    return app.resolve(event, context)
"""
BASELINE = "baseline"
FLOOR = "framework floor"
BASELINE_PAUSED = "baseline, collector paused"
FLOOR_PAUSED = "framework floor, collector paused"
FLOOR_EVENT = {
    "resource": "/v1/items",
    "path": "/v1/items",
    "httpMethod": "GET",
    "headers": {"Host": "bench.example"},
    "requestContext": {"requestId": "bench-1", "stage": "v1", "identity": {"sourceIp": "192.0.2.1"}},
    "body": None,
}


def api_functions() -> list[Function]:
    functions = declared_functions()
    return sorted((f for f in functions.values() if f.api_events), key=lambda f: f.logical_id)


def _event(function: Function) -> dict[str, Any]:
    """A request the function refuses before any AWS call: an authenticated route without a token
    (401), else a public POST of a text/plain body (415), else a public GET with an overlong ``state``
    (422)."""
    routes = sorted(
        function.api_events,
        key=lambda e: (
            not e.auth_required,
            e.method != ("GET" if e.auth_required else "POST"),
            "{" in e.path,
            e.path,
        ),
    )
    route, query, body, headers = routes[0], None, None, {"Host": "bench.example"}
    if not route.auth_required and route.method == "POST":
        body, headers["Content-Type"] = "x", "text/plain"
    elif not route.auth_required:
        query = {"state": "x" * 1000}
    path = route.path.replace("{", "").replace("}", "")
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": "GET" if route.method == "ANY" else route.method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {name: "x" for name in re.findall(r"\{(\w+)\}", route.path)} or None,
        "requestContext": {"requestId": "bench-1", "stage": "v1", "identity": {"sourceIp": "192.0.2.1"}},
        "body": body,
        "isBase64Encoded": False,
    }


def _environment(function: Function, task_root: str, cache: str, bytecode: bool) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))
    }
    for key, value in function.environment.items():  # the template's, with placeholder names
        url = key.endswith("_URL") and not value.startswith("http")
        env[key] = f"https://bench.example/{value}" if url else value
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_LAMBDA_FUNCTION_NAME="bench",  # Powertools' Tracer patches only inside Lambda
        # Lambda sets it; the X-Ray SDK then samples locally (Lambda decides the sampling) instead of
        # building a botocore X-Ray client for centralized sampling rules, which Lambda never does.
        LAMBDA_TASK_ROOT=task_root,
        AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
        POWERTOOLS_LOG_LEVEL="ERROR",
        POWERTOOLS_METRICS_DISABLED="true",
        PYTHONPYCACHEPREFIX=cache,
    )
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass(frozen=True)
class Mode:
    """How the handlers run: the dev venv's interpreter with or without bytecode, or the built packages
    under python3.12 (``built`` and ``python`` set)."""

    name: str
    bytecode: bool
    built: Built | None = None
    python: str = sys.executable

    def argv(self, script: str) -> list[str]:
        isolated = ["-I", "-S", "-B"] if self.built else []  # as Lambda: no venv, nothing written
        return [self.python, *isolated, "-c", script]

    def paths(self, function: Function, references: Path) -> list[str]:
        """``sys.path``'s head for a handler: its code folder, then (built) its layers' folders."""
        if self.built is None:
            return [str(function.code_dir)]
        if function.code_dir == references:
            return [str(references), *map(str, self.built.shared_layers())]
        code, layers = self.built.artifacts(function.logical_id)
        return [str(code), *map(str, layers)]


WITH_BYTECODE = Mode("with bytecode", bytecode=True)
WITHOUT_BYTECODE = Mode("without bytecode", bytecode=False)


def built_mode() -> Mode | None:
    """The built packages' mode, or None where there is no python3.12 or no `make build-host` output."""
    python = python312.find()
    if python is None:
        return None
    try:
        built = Built.load()
    except FileNotFoundError:
        return None
    return Mode("built for python3.12", bytecode=True, built=built, python=python)


def _run(argv: list[str], env: dict[str, str]) -> Any:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        argv, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Timing:
    """A handler's cold start over the rounds: the median CPU seconds, its ratio to the baseline's
    median (the figure), the status it answered, and the middle half of its per-round ratios (each
    round's run against that round's baseline run): how far one round's reading strays on this
    machine, so a verdict near the target is read with its noise."""

    seconds: float
    ratio: float
    status: int
    spread: tuple[float, float]


def measure(mode: Mode, rounds: int = ROUNDS) -> dict[str, Timing]:
    """Per function and reference handler, its ``Timing``."""
    functions = api_functions()
    with tempfile.TemporaryDirectory(prefix="coldstart-") as cache:
        # With bytecode, a warm-up run compiles every module into the cache; without, it stays empty.
        # Built, the packages carry their bytecode; the reference handlers are compiled here once.
        runs: dict[str, list[float]] = {}
        statuses: dict[str, int] = {}
        scripts: dict[str, tuple[list[str], dict[str, str]]] = {}
        references = Path(cache) / "references"
        references.mkdir()
        modules = {
            BASELINE: ("bare_app", BASELINE_HANDLER),
            BASELINE_PAUSED: ("bare_paused_app", PAUSED.format(script=BASELINE_HANDLER)),
            FLOOR: ("floor_app", FLOOR_HANDLER),
            FLOOR_PAUSED: ("floor_paused_app", PAUSED.format(script=FLOOR_HANDLER)),
        }
        reference_handlers = []
        for key, (module, text) in modules.items():
            (references / f"{module}.py").write_text(text)
            reference_handlers.append(
                Function(key, "", "", references, f"{module}.lambda_handler", {}, 0, 0, (), (), ())
            )
        if mode.built:
            subprocess.run([mode.python, "-m", "compileall", "-q", str(references)], check=True)  # noqa: S603
        for function in [*reference_handlers, *functions]:
            module, _, name = function.handler.rpartition(".")
            paths = mode.paths(function, references)
            script = HANDLER.format(
                paths=paths,
                module=module,
                name=name,
                event=json.dumps(FLOOR_EVENT if function in reference_handlers else _event(function)),
            )
            env = _environment(function, paths[0], cache, mode.bytecode)
            scripts[function.logical_id] = (mode.argv(script), env)
            runs[function.logical_id] = []
        if mode.bytecode:
            for argv, env in scripts.values():
                _run(argv, env)
        for _ in range(rounds):
            for key, (argv, env) in scripts.items():
                spent, statuses[key] = _run(argv, env)
                runs[key].append(spent)
    base = statistics.median(runs[BASELINE])
    timings = {}
    for key, values in runs.items():
        per_round = [value / baseline for value, baseline in zip(values, runs[BASELINE], strict=True)]
        low, _, high = statistics.quantiles(per_round, n=4) if len(per_round) > 1 else per_round * 3
        median = statistics.median(values)
        timings[key] = Timing(median, median / base, statuses[key], (low, high))
    return timings


def bench_cold_start(report: Callable[..., None], say: Callable[[str], None]) -> None:
    built = built_mode()
    if built is None:
        say("cold start of the built packages: skipped (no python3.12, or no `make build-host` output)")
    for measured in (WITH_BYTECODE, WITHOUT_BYTECODE, *([built] if built else [])):
        mode = measured.name
        figures = measure(measured)
        base = figures.pop(BASELINE).seconds
        report(f"cold start baseline (boto3 + DynamoDB client), {mode}", base * 1000, "ms CPU")
        paused = figures.pop(BASELINE_PAUSED)
        report(f"cold start {BASELINE_PAUSED} while loading, {mode}", paused.ratio, "x baseline")
        for floor in (FLOOR, FLOOR_PAUSED):
            timing = figures.pop(floor)
            report(
                f"cold start {floor} (Powertools + pydantic, 401), {mode}",
                timing.ratio,
                "x baseline",
                spread=timing.spread,
            )
        for name, timing in figures.items():
            target = TARGET_RATIO if measured.bytecode else None
            report(
                f"cold start {name} ({timing.status}), {mode}",
                timing.ratio,
                "x baseline",
                target,
                spread=timing.spread,
            )
        heaviest = max(figures, key=lambda name: figures[name].ratio)
        report(
            f"cold start {heaviest} like for like (against the faster baseline, paused or not), {mode}",
            figures[heaviest].ratio / min(1.0, paused.ratio),
            "x baseline",
        )


if __name__ == "__main__":
    option = (sys.argv[1:] or [""])[0]
    chosen = (
        built_mode()
        if option == "--built"
        else {"--no-bytecode": WITHOUT_BYTECODE}.get(option, WITH_BYTECODE)
    )
    if chosen is None:
        sys.exit("no python3.12 or no `make build-host` output")
    for key, timing in measure(chosen, int(os.environ.get("COLDSTART_ROUNDS", "5"))).items():
        low, high = timing.spread
        print(
            f"{key:<34} {timing.seconds * 1000:8.1f} ms  {timing.ratio:5.2f}x"
            f"  (rounds {low:.2f}-{high:.2f})  {timing.status}"
        )
