"""`make bench`: phone normalization, contacts import and lookup on moto, local stack start, memory.

Prints one line per figure. Figures on moto measure our code plus moto's (moto is far slower than
DynamoDB per request); they are for spotting regressions, not for predicting AWS latency.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto import mock_aws

from callproof import aws, config
from callproof.local import invoke, model, moto_patches
from callproof.local.provision import provision
from callproof.local.template import Resolver, load_template
from callproof.phones import normalize
from tests.support import TEMPLATE, api_event


def report(name: str, value: float, unit: str) -> None:
    print(f"{name:<48} {value:>12.2f} {unit}", flush=True)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def bench_phones() -> None:
    numbers = [f"(202) 555-{i % 10000:04d}" for i in range(20_000)]
    seconds, _ = timed(lambda: [normalize(n, "US") for n in numbers])
    report("phone normalization", seconds / len(numbers) * 1e6, "us/number")


@contextmanager
def contacts_function() -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",  # keep EMF lines out of the figures
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    moto_patches.install()
    with mock_aws():
        aws.reset()
        config.clear_cache()
        template = load_template(TEMPLATE)
        physical = provision(template, TEMPLATE.parent, None)  # type: ignore[arg-type]
        function = model.load_functions(template, TEMPLATE.parent, Resolver(template, physical))[
            "ContactsFunction"
        ]
        yield lambda event: invoke.invoke(function, event)  # type: ignore[no-any-return]


def people_csv(count: int) -> str:
    return "name,email,phone\n" + "".join(
        f"Person {i},p{i}@example.com,+1 202 555 {i % 10000:04d}\n" for i in range(count)
    )


def import_event(rows: int) -> dict[str, Any]:
    return api_event("POST", "/v1/contacts/imports", body=people_csv(rows), content_type="text/csv")


def bench_import_and_lookup() -> None:
    for rows in (1_000, 10_000):
        with contacts_function() as call:
            event = import_event(rows)
            seconds, response = timed(lambda event=event: call(event))
            assert response["statusCode"] == 200, response["body"][:300]
            report(f"CSV import, {rows} new rows (moto)", seconds, "s")
            seconds, _ = timed(lambda event=event: call(event))
            report(f"CSV re-import, {rows} duplicate rows (moto)", seconds, "s")
            if rows == 1_000:
                body = {"phones": [f"+1 202 555 {i:04d}" for i in range(100)]}
                lookup = api_event("POST", "/v1/contacts/lookup", body=body)
                runs = [timed(lambda lookup=lookup: call(lookup))[0] for _ in range(5)]
                report("lookup of 100 phones (moto), median of 5", sorted(runs)[2] * 1000, "ms")


def bench_import_memory() -> None:
    """Separate run: tracemalloc slows everything down, so it never overlaps a timing."""
    with contacts_function() as call:
        event = import_event(1_000)
        tracemalloc.start()
        call(event)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        report("CSV import, 1000 rows, peak Python allocations", peak / 2**20, "MiB")


def bench_local_stack_start() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CALLPROOF_LOCAL_HOME": home}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "callproof.local.cli", "local", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        assert process.stdout is not None
        first = process.stdout.readline()
        listening = time.perf_counter() - started
        for line in process.stdout:
            if line.startswith("Started in"):
                report("local stack: process start to listening line", listening, "s")
                report("local stack: start (moto + provisioning + gateway)", float(line.split()[2]), "ms")
                break
        process.send_signal(2)
        process.wait(timeout=30)
        assert first.startswith("CallProof local stack listening on"), first


def main() -> None:
    bench_phones()
    bench_local_stack_start()
    bench_import_and_lookup()
    bench_import_memory()
    report(
        "max resident memory of this process",
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "MiB",
    )


if __name__ == "__main__":
    main()
