"""Data-subject requests on the local stack: export and erasure of a subject with 10,000 synced emails
and 10,000 call logs. Reports wall time (state machine really executing in moto, tasks bridged
in-process), Step Functions state transitions and AWS requests per record; then the task steps run
again in a separate worker process (so that moto's own memory is not counted), for the full subject
and for one with a tenth of the records: the peak memory of the collect, assemble and erase steps,
and how they (and the erasure's time) grow over the tenfold (targets: memory 1.2x, time 1.3x of linear).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import requests

from bench.table import report, say, side_output
from callproof import aws, config, wiring
from callproof.calls.model import CallLog, Direction, Match, MatchStatus
from callproof.calls.numbers import NumberKind
from callproof.dsar.model import Status, Subject
from callproof.mail.model import EmailRecord
from callproof.store.calls_dynamo import DynamoCallLogStore
from callproof.store.dsar_dynamo import DynamoRequestStore
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex

ORG = "bench-dsar"
EMAIL = "subject@example.com"
PHONE = "+14155550100"
STAFF = "staff-1"
MEMORY_GROWTH = 1.2  # peak of a step at the full size over its peak at a tenth, at most
TIME_GROWTH = 1.3  # the erasure's time at the full size over ten times its time at a tenth, at most


@dataclass(frozen=True)
class Seeded:
    """A seeded subject: their email, number and contact, and how many emails and calls they have."""

    email: str
    phone: str
    contact_id: str
    records: int


@contextmanager
def running_stack() -> Iterator[Any]:
    from callproof_local.stack import LocalStack
    from tests.support import TEMPLATE

    # The earlier steps ran on decorator-mode moto: forget their clients and services (a policy gate
    # built then would call the real AWS endpoint from the stack's functions).
    aws.reset()
    config.clear_cache()
    wiring.reset()
    with tempfile.TemporaryDirectory() as home:
        os.environ["CALLPROOF_LOCAL_HOME"] = home
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        with LocalStack(TEMPLATE, 0) as stack:
            # the staff member answers the age question first, as every member must (ADR 0008)
            age = {"attests_16_or_over": True}
            answer = requests.put(f"{stack.url}/v1/me/age", json=age, headers=staff_headers(), timeout=60)
            assert answer.status_code == 200, answer.text
            yield stack


def physical(stack: Any, logical_id: str) -> str:
    return str(stack.physical[logical_id].ref)


def seed(stack: Any, records: int, email: str = EMAIL, phone: str = PHONE, tag: str = "g") -> Seeded:
    """One contact (the subject), ``records`` calls with their number and ``records`` synced emails
    (Gmail ids ``<tag><n>``, so that several subjects share the rep's mailbox)."""
    headers = staff_headers()
    contact = {"name": "Subject", "type": "customer", "emails": [email], "phones": [phone]}
    response = requests.post(f"{stack.url}/v1/contacts", json=contact, headers=headers, timeout=60)
    response.raise_for_status()
    contact_id = str(response.json()["id"])
    now = datetime.now(UTC)
    calls = [
        CallLog(
            org_id=ORG,
            id=str(uuid.uuid4()),
            user_id="rep-1",
            device_id="phone-1",
            direction=Direction.OUTBOUND,
            started_at=now - timedelta(minutes=i),
            duration_seconds=60,
            raw_number=phone,
            number_kind=NumberKind.PHONE,
            match=Match(MatchStatus.UNIQUE, (contact_id,)),
            content_hash=f"h{tag}{i}",
            received_at=now,
            e164=phone,
        )
        for i in range(records)
    ]
    unwritten = DynamoCallLogStore(aws.dynamodb(), physical(stack, "CallLogsTable")).put_many(calls)
    assert not unwritten
    index = DynamoMailIndex(aws.dynamodb(), physical(stack, "MailTable"))
    blobs = S3MailBlobs(aws.s3(), physical(stack, "DataBucket"))
    for i in range(records):
        gmail_id = f"{tag}{i}"
        key = f"orgs/{ORG}/mail/rep-1/{gmail_id}.json"
        document = {
            "gmail_id": gmail_id,
            "thread_id": f"t{tag}{i // 3}",
            "internal_date": 1_795_000_000_000 + i,
            "headers": [["From", email], ["To", "rep@callproof.test"], ["Subject", f"Quote {i}"]],
            "subject": f"Quote {i}",
            "text": "Hello, please find the quote below.\n" * 20,
            "html": None,
            "attachments": [],
        }
        blobs.put(key, json.dumps(document).encode())
        index.put(
            EmailRecord(
                org_id=ORG,
                email_id=f"rep-1.{gmail_id}",
                user_id="rep-1",
                gmail_id=gmail_id,
                thread_id=f"t{tag}{i // 3}",
                internal_date=1_795_000_000_000 + i,
                subject=f"Quote {i}",
                sender=email,
                contact_ids=(contact_id,),
                object_key=key,
            )
        )
    return Seeded(email, phone, contact_id, records)


def staff_headers() -> dict[str, str]:
    from callproof_local import auth

    return {"Authorization": f"Bearer {auth.mint(ORG, STAFF, ['compliance', 'admin', 'rep'], ttl=3600)}"}


class RequestCounter:
    """Counts every AWS API call our code makes (handlers use boto3's default session)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call", self._count)
        aws.reset()  # clients are created again, from the session that counts

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def total(self, without: tuple[str, ...] = ("stepfunctions:DescribeExecution",)) -> int:
        return sum(n for name, n in self.calls.items() if name not in without)


def run_request(stack: Any, body: dict[str, Any]) -> tuple[str, float]:
    headers = staff_headers()
    started = time.perf_counter()
    created = requests.post(f"{stack.url}/v1/dsar/requests", json=body, headers=headers, timeout=60)
    assert created.status_code == 201, created.text
    request_id = str(created.json()["id"])
    if created.json()["status"] == "pending_confirmation":
        mail = requests.get(f"{stack.url}/_local/outbox", timeout=30).json()["messages"][-1]
        link = re.findall(r"(http\S+/privacy/confirm\?token=\S+)", mail["body"])[0]
        assert requests.post(link, timeout=60).status_code == 200
    while True:
        status = requests.get(
            f"{stack.url}/v1/dsar/requests/{request_id}", headers=headers, timeout=60
        ).json()
        if status["status"] not in ("in_progress", "pending_confirmation", "verified"):
            break
        time.sleep(0.2)
    assert status["status"] == "completed", status
    return request_id, time.perf_counter() - started


def transitions(stack: Any, machine: str, request_id: str) -> int:
    arn = physical(stack, machine).replace(":stateMachine:", ":execution:") + f":{request_id}-1"
    history = aws.stepfunctions().get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return sum(1 for event in history if event["type"].endswith("StateEntered"))


WORKER = """
import json, resource, sys, time, tracemalloc
from callproof import wiring
from callproof.dsar.workflow import TaskEvent
mode, request_id = sys.argv[1], sys.argv[2]
tasks = wiring.dsar_tasks()
event = dict(org_id=ORG, request_id=request_id, attempt=1)
def run(step, **extra):
    while True:
        answer = tasks.run(TaskEvent(step=step, **event, **extra))
        if not answer.get("more"):
            return answer
stores = run("begin")["stores"]
figures = {}
tracemalloc.start()
started = time.perf_counter()
if mode == "export":
    peaks = []
    for store in stores:
        tracemalloc.reset_peak()
        run("collect", store=store)
        peaks.append(tracemalloc.get_traced_memory()[1])
    figures["collect"] = max(peaks)
    tracemalloc.reset_peak()
    run("assemble")
    figures["assemble"] = tracemalloc.get_traced_memory()[1]
else:
    run("suppress")
    for store in stores + run("begin")["last"]:
        run("erase", store=store)
    run("verify")
    figures["erase"] = tracemalloc.get_traced_memory()[1]
figures["seconds"] = time.perf_counter() - started
# VmHWM: this process's own peak RSS (ru_maxrss keeps the forking parent's, moto and all, across exec)
status = open("/proc/self/status").read().split("VmHWM:")
figures["rss_kib"] = int(status[1].split()[0]) if len(status) > 1 else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(figures))
"""


def in_worker(stack: Any, kind: str, subject: Seeded) -> dict[str, float]:
    """A fresh request of ``kind`` for ``subject``, its steps run in a worker process as the task
    Lambda runs them (each store again while it answers ``more``): tracemalloc peaks (bytes) of its
    steps, wall time (s, under tracemalloc) and max RSS (KiB)."""
    body: dict[str, object] = {
        "type": kind,
        "subject": {"email": subject.email},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
    }
    body |= {"verification": "bench", "start": False}
    created = requests.post(f"{stack.url}/v1/dsar/requests", json=body, headers=staff_headers(), timeout=60)
    assert created.status_code == 201, created.text
    request_id = str(created.json()["id"])
    store = DynamoRequestStore(aws.dynamodb(), physical(stack, "DsarTable"))
    request = store.get(ORG, request_id)
    assert request is not None
    resolved = Subject(
        ORG, frozenset({subject.email}), frozenset({subject.phone}), frozenset({subject.contact_id})
    )
    started = replace(
        request, status=Status.IN_PROGRESS, attempt=1, subject=resolved, version=request.version + 1
    )
    store.save(request, started)
    function = stack.functions["DsarTasksFunction"]
    env = {**os.environ, **function.environment, "AWS_ENDPOINT_URL": stack.moto_url}
    mode = "export" if kind == "access" else "erase"
    command = [sys.executable, "-c", f"ORG = {ORG!r}\n{WORKER}", mode, request_id]  # our own script
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if output.returncode != 0:
        raise RuntimeError(f"the {mode} worker failed:\n{output.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(output.stdout.strip().splitlines()[-1])
    if mode == "export":
        done = store.get(ORG, request_id)
        assert done is not None
        assert done.export_key is not None
        head = aws.s3().head_object(Bucket=physical(stack, "ExportsBucket"), Key=done.export_key)
        figures["archive"] = head["ContentLength"]
    return figures


def step_growth(stack: Any, full: Seeded, tenth: Seeded) -> None:
    """Export and erasure steps of the full subject and of one with a tenth of the records, each in a
    worker process: the peaks, and their growth over the tenfold (the erasure's time too)."""
    big, small = in_worker(stack, "access", full), in_worker(stack, "access", tenth)
    records = full.records
    report(f"DSAR export ({records} emails + calls): archive", big["archive"] / 2**20, "MiB")
    for step in ("collect", "assemble"):
        report(f"DSAR {step}: peak Python allocations", big[step] / 2**20, "MiB")
        report(
            f"DSAR {step}: peak growth, {records} vs {tenth.records} records",
            big[step] / small[step],
            "x",
            MEMORY_GROWTH,
        )
    report("DSAR export: max RSS of the task process", big["rss_kib"] / 1024, "MiB")
    big, small = in_worker(stack, "erasure", full), in_worker(stack, "erasure", tenth)
    report("DSAR erase: peak Python allocations", big["erase"] / 2**20, "MiB")
    report(
        f"DSAR erase: peak growth, {records} vs {tenth.records} records",
        big["erase"] / small["erase"],
        "x",
        MEMORY_GROWTH,
    )
    report("DSAR erasure steps: time over linear", big["seconds"] / (10 * small["seconds"]), "x", TIME_GROWTH)
    report("DSAR erasure: max RSS of the task process", big["rss_kib"] / 1024, "MiB")


def bench_dsar(records: int = 10_000) -> None:
    with running_stack() as stack:
        started = time.perf_counter()
        full = seed(stack, records)
        report(f"DSAR seed ({records} emails + {records} calls)", time.perf_counter() - started, "s")
        tenth = seed(stack, records // 10, "tenth@example.com", "+14155550101", "s")
        erased = seed(stack, records // 10, "erased@example.com", "+14155550102", "e")  # state machine
        counter = RequestCounter()
        base = {"jurisdiction": "gdpr", "received": "2026-11-20", "verification": "bench"}
        request_id, seconds = run_request(stack, {**base, "subject": {"email": EMAIL}, "type": "access"})
        report("DSAR export wall time (local stack)", seconds, "s")
        report("DSAR export state transitions", transitions(stack, "ExportStateMachine", request_id), "")
        report("DSAR export AWS requests per record", counter.total() / (2 * records), "req")
        step_growth(stack, full, tenth)  # the full subject is erased here, by a worker
        counter.calls.clear()
        try:
            body = {**base, "subject": {"email": erased.email}, "type": "erasure"}
            request_id, seconds = run_request(stack, body)
        except AssertionError as failed:  # moto slows down with table size: say so, keep the figures
            say(f"DSAR erasure did not complete on moto: {str(failed)[:300]}")
            return
        report(f"DSAR erasure wall time (local stack, {erased.records} records)", seconds, "s")
        report("DSAR erasure state transitions", transitions(stack, "ErasureStateMachine", request_id), "")
        report("DSAR erasure AWS requests per record", counter.total() / (2 * erased.records), "req")


if __name__ == "__main__":
    with side_output():
        bench_dsar(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
