"""The daily retention purge with 2,000 and 10,000 expired items (issue 16, point 1): SMS thread
messages of one org, two years past their period, purged by the retention function. moto runs in a
child process, so the peak Python allocations are the purge's own; the purge pages (500 a page), so
the peak must not grow with the items (target: the larger run within 1.2x of the smaller). The
figures are printed, never asserted."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from callproof import aws
from callproof.store.dynamo import batch_write, to_item
from callproof.store.retention_registry_dynamo import registry_item
from callproof.store.sms_dynamo import message_time_sk, sms_org_pk, thread_pk

Report = Callable[..., None]
Run = Callable[[str, dict[str, Any]], Any]
SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def _messages(org: str, count: int) -> Iterator[dict[str, Any]]:
    at = datetime.now(UTC) - timedelta(days=365 * 4)
    for n in range(count):
        message_id = f"{n:012d}"
        yield {
            "pk": thread_pk(org, f"c{n % 50:031d}"),
            "sk": f"MSG#{message_id}",
            "sms_org_pk": sms_org_pk(org),
            "time_sk": message_time_sk(at + timedelta(seconds=n), message_id),
            "entity": "sms",
            "org_id": org,
            "message_id": message_id,
            "direction": "inbound",
            "body": "See you on Tuesday at ten, and bring the signed quote please.",
            "e164": "+14155550100",
            "at": (at + timedelta(seconds=n)).isoformat(),
        }


def _seed(table: str, org: str, count: int) -> None:
    client = aws.dynamodb()
    items = [{"PutRequest": {"Item": to_item(item)}} for item in _messages(org, count)]
    items.append({"PutRequest": {"Item": to_item(registry_item("sms", org))}})
    assert not batch_write(client, table, items)


def bench_retention(
    report: Report, local_functions: Callable[[], AbstractContextManager[tuple[Run, dict[str, Any]]]]
) -> None:
    peaks = []
    for count in (2_000, 10_000):
        with local_functions() as (run, physical):
            # warm-up: a first purge of a few items loads the function and its adapters untraced
            _seed(physical["SmsTable"].ref, "bench-retention-warm-up", 10)
            assert run("CallRetentionFunction", SCHEDULED)["stores"]["sms"] == 10
            _seed(physical["SmsTable"].ref, f"bench-retention-{count}", count)
            tracemalloc.start()
            started = time.perf_counter()
            result = run("CallRetentionFunction", SCHEDULED)
            wall = time.perf_counter() - started
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            assert result["stores"]["sms"] == count, result
            report(f"retention purge, {count:,} expired SMS messages (moto server), wall", wall, "s")
            report(
                f"retention purge, {count:,} expired SMS messages, peak Python allocations",
                peaks[-1] / 2**20,
                "MiB",
            )
    report("retention purge: peak at 10,000 / at 2,000", peaks[1] / peaks[0], "x", 1.2)
