"""`make bench`: cold starts, phone normalization, contacts import and lookup, call-log ingest, SMS,
Gmail, the retention purge and data-subject requests, on moto and the local stack.

Prints one line per figure and, at the end, one table (figure, unit, target, held or not), also written
as JSON (``bench.table``); everything else (log lines, request logs) goes to ``bench-output.log``.
Timings on moto measure our code plus moto's (moto is far slower than DynamoDB per request): they are
for spotting regressions, not for predicting AWS latency. Memory figures are taken in the process doing
the work, with moto in a child process (``local_functions(moto_in_child=True)``) or the step run in a
process of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from moto import mock_aws

from bench.coldstart import bench_cold_start
from bench.contact_imports import bench_import_jobs
from bench.google_imports import bench_google_import_jobs
from bench.table import finish, report, say, side_output
from callproof import aws, config, wiring
from callproof.phones import normalize
from callproof.store.contacts_dynamo import phone_key
from callproof.store.dynamo import batch_write, to_item
from callproof_local import invoke, model, moto_patches
from callproof_local.provision import provision
from callproof_local.template import Physical, Resolver, load_template
from tests.support import TEMPLATE, age_answerer, answering_age, api_event


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def bench_phones() -> None:
    numbers = [f"(202) 555-{i % 10000:04d}" for i in range(20_000)]
    seconds, _ = timed(lambda: [normalize(n, "US") for n in numbers])
    report("phone normalization", seconds / len(numbers) * 1e6, "us/number")


Run = Callable[[str, dict[str, Any]], Any]


@contextmanager
def _moto(in_child: bool) -> Iterator[str | None]:
    """moto in this process (decorator mode: fast, but every figure of this process counts moto's
    work too), or as a server in a child process, so that this process holds our code alone: its
    memory figures are then the function's own."""
    if not in_child:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        moto_patches.install()
        with mock_aws():
            yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = "import sys; from callproof_local import moto_patches; moto_patches.install(); "
    server += "from moto.server import main; main(sys.argv[1:])"
    command = [sys.executable, "-c", server, "-H", "127.0.0.1", "-p", str(port)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/moto-api/data.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        os.environ["AWS_ENDPOINT_URL"] = url
        yield url
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        child.terminate()
        child.wait(timeout=30)


@contextmanager
def local_functions(moto_in_child: bool = False) -> Iterator[tuple[Run, dict[str, Physical]]]:
    """The template's functions on a fresh moto, invoked as the local stack does; moto in this process
    or, with ``moto_in_child``, in a child process (see ``_moto``)."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",  # keep EMF lines out of the figures
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    with _moto(moto_in_child) as endpoint:
        aws.reset()
        config.clear_cache()
        wiring.reset()
        template = load_template(TEMPLATE)
        physical = provision(template, TEMPLATE.parent, endpoint)  # type: ignore[arg-type]
        functions = model.load_functions(template, TEMPLATE.parent, Resolver(template, physical))
        # the callers of api_event answered the age question, as every member must (ADR 0008)
        with answering_age(age_answerer(aws.dynamodb(), physical["AccountsTable"].ref)):
            yield (lambda logical_id, event: invoke.invoke(functions[logical_id], event)), physical
        aws.reset()


@contextmanager
def contacts_function(moto_in_child: bool = False) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    with local_functions(moto_in_child) as (run, _):
        yield lambda event: run("ContactsFunction", event)  # type: ignore[no-any-return]


def people_csv(count: int) -> str:
    return "name,email,phone\n" + "".join(
        f"Person {i},p{i}@example.com,+1 202 555 {i % 10000:04d}\n" for i in range(count)
    )


def import_event(rows: int) -> dict[str, Any]:
    return api_event("POST", "/v1/contacts/imports", body=people_csv(rows), content_type="text/csv")


def bench_import_and_lookup() -> None:
    for rows in (1_000,):  # the synchronous limit: larger files are jobs (bench_import_jobs)
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
    """Separate run: tracemalloc slows everything down, so it never overlaps a timing; moto runs in a
    child process, so the peak is the function's own."""
    with contacts_function(moto_in_child=True) as call:
        call(import_event(5))  # warm-up: loads the function and its adapters untraced
        event = import_event(1_000)
        tracemalloc.start()
        call(event)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        report("CSV import, 1000 rows, peak Python allocations", peak / 2**20, "MiB")


def bench_number(n: int) -> str:
    """The n-th of a million valid US numbers (303-200-0000 and up)."""
    return f"+1303{2_000_000 + n:07d}"


def bench_call_logs(entries: int = 10_000, contacts: int = 100_000, repeated: float = 0.2) -> None:
    """Ingest ``entries`` calls (a share on repeated numbers) into an org with ``contacts`` contacts."""
    with local_functions() as (run, physical):
        client = aws.dynamodb()
        # Matching reads only the phone lookup items, so those are what the org's contacts are here.
        lookups = [
            {
                "PutRequest": {
                    "Item": to_item({**phone_key("bench", bench_number(n)), "contact_ids": {f"{n:032x}"}})
                }
            }
            for n in range(contacts)
        ]
        seconds, _ = timed(lambda: batch_write(client, physical["ContactsTable"].ref, lookups))
        report(f"seed {contacts} contacts' phone lookups (moto)", seconds, "s")
        token = {"org": "bench", "user": "rep-1", "roles": "rep"}
        device = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4"}
        run(
            "CallLogsFunction",
            api_event("PUT", "/v1/devices/d1", resource="/v1/devices/{device_id}", body=device, **token),
        )

        distinct = int(entries * (1 - repeated))
        numbers = [bench_number(n % contacts) for n in range(distinct)]
        numbers += [numbers[n % distinct] for n in range(entries - distinct)]
        batches = [
            [
                {
                    "client_id": str(uuid.UUID(int=start + i + 1)),
                    "phone_number": number,
                    "direction": "outbound",
                    "started_at": "2026-11-27T10:00:00+00:00",
                    "duration_seconds": 30,
                    "device_id": "d1",
                }
                for i, number in enumerate(numbers[start : start + 1000])
            ]
            for start in range(0, entries, 1000)
        ]
        requests, aws_seconds = [0], [0.0]
        make_api_call = client._make_api_call

        def timed_api_call(*args: Any, **kwargs: Any) -> Any:  # whole botocore round trip, moto included
            requests[0] += 1
            call_started = time.perf_counter()
            try:
                return make_api_call(*args, **kwargs)
            finally:
                aws_seconds[0] += time.perf_counter() - call_started

        client._make_api_call = timed_api_call  # type: ignore[method-assign]
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        for batch in batches:
            response = run(
                "CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": batch}, **token)
            )
            assert response["statusCode"] == 200, response["body"][:300]
        wall = time.perf_counter() - wall_started
        cpu = time.process_time() - cpu_started
        report(f"call-log ingest, {entries} entries (moto), wall", wall, "s")
        report("call-log ingest: DynamoDB requests per entry", requests[0] / entries, "req")
        report(
            "call-log ingest: handler time per entry excl. DynamoDB",
            (wall - aws_seconds[0]) / entries * 1e6,
            "us",
        )
        report("call-log ingest: process CPU per entry incl. moto", cpu / entries * 1e6, "us")


def bench_call_log_memory(entries: int = 1_000) -> None:
    """One batch of ``entries`` new calls, every number known, with moto in a child process: the peak
    is the function's own."""
    with local_functions(moto_in_child=True) as (run, physical):
        lookups = [
            {
                "PutRequest": {
                    "Item": to_item({**phone_key("bench", bench_number(n)), "contact_ids": {f"{n:032x}"}})
                }
            }
            for n in range(entries)
        ]
        assert not batch_write(aws.dynamodb(), physical["ContactsTable"].ref, lookups)
        token = {"org": "bench", "user": "rep-1", "roles": "rep"}
        device = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4"}
        run(
            "CallLogsFunction",
            api_event("PUT", "/v1/devices/d1", resource="/v1/devices/{device_id}", body=device, **token),
        )
        batch = [
            {
                "client_id": str(uuid.uuid4()),
                "phone_number": bench_number(n % entries),
                "direction": "outbound",
                "started_at": "2026-11-27T10:00:00+00:00",
                "duration_seconds": 30,
                "device_id": "d1",
            }
            for n in range(entries + 1)
        ]
        # warm-up: one entry loads the ingest path untraced
        run("CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": batch[-1:]}, **token))
        event = api_event("POST", "/v1/call-logs", body={"entries": batch[:-1]}, **token)
        tracemalloc.start()
        response = run("CallLogsFunction", event)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert response["statusCode"] == 200, response["body"][:300]
        report(f"call-log ingest, {entries}-entry batch, peak Python allocations", peak / 2**20, "MiB")


def bench_local_stack_start() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CALLPROOF_LOCAL_HOME": home}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "callproof_local.cli", "local", "--port", "0"],
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


def bench_sms(messages: int = 300, sends: int = 50) -> None:
    """Inbound webhook: DynamoDB requests per message and handler time; outbound gate: requests per send."""
    import json as json_

    import boto3

    from callproof.integrations.twilio_webhook import sign
    from callproof_local.twilio_double import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, TwilioDouble
    from tests.support import form_event

    base, number = "https://sms.bench.test/dev", "+15005550006"
    double = TwilioDouble(callbacks=False).start()
    os.environ.update(SMS_PUBLIC_BASE_URL=base, TWILIO_API_BASE_URL=double.url)
    try:
        with local_functions() as (run, physical):
            boto3.client("secretsmanager").put_secret_value(
                SecretId=physical["TwilioCredentialsSecret"].ref,
                SecretString=json_.dumps({"account_sid": DEV_ACCOUNT_SID, "auth_token": DEV_AUTH_TOKEN}),
            )
            requests_made: list[str] = []
            aws.dynamodb().meta.events.register(
                "before-call.dynamodb.*", lambda model, **_: requests_made.append(model.name)
            )
            sms = lambda event: run("SmsFunction", event)  # noqa: E731
            put = api_event("PUT", "/v1/org/sms/senders", body={"phone_numbers": [number]}, roles="admin")
            assert sms(put)["statusCode"] == 200
            contact = api_event(
                "POST", "/v1/contacts", body={"name": "B", "type": "customer", "phones": ["+14155550100"]}
            )
            contact_id = json_.loads(run("ContactsFunction", contact)["body"])["id"]

            def inbound(n: int, body: str) -> dict[str, Any]:
                params = {"MessageSid": f"SM{n:032x}", "From": "+14155550100", "To": number, "Body": body}
                headers = {"X-Twilio-Signature": sign(DEV_AUTH_TOKEN, base + "/webhooks/twilio/sms", params)}
                return form_event("/webhooks/twilio/sms", params, headers=headers)

            webhook = lambda event: run("SmsWebhookFunction", event)  # noqa: E731 - Twilio's function
            webhook(inbound(0, "warm-up"))  # cold start: settings, secret, clients
            for label, body in (("reply from a contact", "Thanks, see you then"), ("STOP keyword", "STOP")):
                requests_made.clear()
                durations = []
                for n in range(1, messages + 1):
                    event = inbound(n if label.startswith("reply") else messages + n, body)
                    seconds, response = timed(lambda event=event: webhook(event))
                    assert response["statusCode"] == 200, response["body"]
                    durations.append(seconds)
                durations.sort()
                report(
                    f"SMS inbound ({label}): DynamoDB requests", len(requests_made) / messages, "per message"
                )
                report(
                    f"SMS inbound ({label}): handler p50 (moto)", durations[len(durations) // 2] * 1000, "ms"
                )
                report(
                    f"SMS inbound ({label}): handler p99 (moto)",
                    durations[int(len(durations) * 0.99)] * 1000,
                    "ms",
                )
            webhook(inbound(10**6, "START"))
            requests_made.clear()
            send = api_event("POST", "/v1/sms/messages", body={"contact_id": contact_id, "body": "Hello"})
            durations = []
            for _ in range(sends):
                seconds, response = timed(lambda: sms(send))
                assert response["statusCode"] == 201, response["body"]
                durations.append(seconds)
            report("SMS outbound send: DynamoDB requests", len(requests_made) / sends, "per send")
            report(
                "SMS outbound send: handler p50 (moto + double)", sorted(durations)[sends // 2] * 1000, "ms"
            )
    finally:
        double.stop()
        for key in ("SMS_PUBLIC_BASE_URL", "TWILIO_API_BASE_URL"):
            os.environ.pop(key, None)


def main() -> None:
    with side_output():
        bench_steps()
    finish()


def bench_steps() -> None:
    bench_cold_start(report, say)  # first: fresh interpreters, before this process loads anything heavy
    bench_phones()
    bench_local_stack_start()
    bench_import_and_lookup()
    bench_import_memory()
    bench_import_jobs(report)
    bench_google_import_jobs(report)
    bench_call_logs()
    bench_call_log_memory()
    bench_sms()
    from bench.dsar import bench_dsar
    from bench.gmail import bench_gmail

    bench_gmail(report, local_functions, api_event)
    from bench.retention import bench_retention

    bench_retention(report, lambda: local_functions(moto_in_child=True))
    bench_dsar()  # last: it starts the local stack in this process


if __name__ == "__main__":
    main()
