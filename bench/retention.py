"""The daily retention purge with 10,000 expired items (issue 16, point 1): SMS thread messages of one
org, two years past their period, purged by the retention function on moto in this process. The purge
pages (500 a page). moto runs in this process and builds its own objects for every item a Query
reads, so the peak (which counts them) grows with the items; what the purge itself keeps is measured
as the allocations still held after it, moto's left out, which must not grow with the items. The
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

Report = Callable[[str, float, str], None]
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
    for count in (2_000, 10_000):
        with local_functions() as (run, physical):
            org = f"bench-retention-{count}"
            _seed(physical["SmsTable"].ref, org, count)
            tracemalloc.start()
            started = time.perf_counter()
            result = run("CallRetentionFunction", SCHEDULED)
            wall = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            ours = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, "*/moto/*")])
            held = sum(stat.size for stat in ours.statistics("filename"))
            tracemalloc.stop()
            assert result["stores"]["sms"] == count, result
            report(f"retention purge, {count:,} expired SMS messages (moto, traced), wall", wall, "s")
            report(
                f"retention purge, {count:,} expired SMS messages, peak Python allocations (moto's too)",
                peak / 2**20,
                "MiB",
            )
            report(
                f"retention purge, {count:,} expired SMS messages, held after it (moto's left out)",
                held / 2**20,
                "MiB",
            )
