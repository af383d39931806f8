"""Every function as `sam build` builds it, run under python3.12 against the local stack (ADR 0015).

`make build-host` builds infra/template.yaml into .aws-sam/build-host with the layers for this
machine's platform (the deployable `make build` keeps arm64). Each test starts a python3.12 process
(tests/built/runner.py, isolated: ``-I -S``) with exactly the function's built code and its built
layers on ``sys.path`` and nothing of the dev venv, sends it one real event of its trigger (an API
request, an SQS batch, a DynamoDB stream record, a schedule, a state-machine task) and checks the
answer. The AWS side is the local stack's moto server on loopback, provisioned from the template; the
environment is the one the local stack gives its in-process handlers, plus what Lambda itself sets.

Skipped, saying why, only where no python3.12 can be found (tools/python312.py).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from callproof.integrations.twilio_webhook import sign
from callproof_local.built import BUILD_HOST as BUILD
from callproof_local.built import Built
from callproof_local.invoke import lambda_environment
from callproof_local.model import FUNCTION_TYPES, resources_of
from callproof_local.stack import LocalStack
from callproof_local.template import REGION
from callproof_local.twilio_double import DEV_AUTH_TOKEN
from tests.support import TEMPLATE, age_answerer, answering_age, api_event, form_event
from tools import python312

RUNNER = Path(__file__).with_name("runner.py")
PYTHON312 = python312.find()

pytestmark = [
    pytest.mark.skipif(
        PYTHON312 is None,
        reason="no python3.12 here (the functions' runtime): install it with pyenv (`pyenv install 3.12`) "
        "to run the built functions; tests/built needs it, as `make build` does",
    ),
    # one worker runs them all (make test: --dist loadgroup), so one local stack starts, not two
    pytest.mark.xdist_group("built"),
]


@pytest.fixture(scope="module")
def built() -> Built:
    return Built.load(BUILD)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(TEMPLATE) as running:
        dynamodb = boto3.Session(region_name=REGION).client("dynamodb", endpoint_url=running.moto_url)
        with answering_age(age_answerer(dynamodb, running.physical["AccountsTable"].ref)):
            yield running  # staff() callers answered the age question (ADR 0008)


@dataclass(frozen=True)
class Answer:
    report: dict[str, Any]

    @property
    def result(self) -> Any:
        error = self.report.get("error")
        assert error is None, "".join(error["stackTrace"]) if error else ""
        return self.report["result"]

    @property
    def status(self) -> int:
        return int(self.result["statusCode"])

    @property
    def body(self) -> Any:
        return json.loads(self.result["body"])


Run = Callable[[str, dict[str, Any]], Answer]


@pytest.fixture(scope="module")
def run(built: Built, stack: LocalStack) -> Run:
    def invoke(logical_id: str, event: dict[str, Any]) -> Answer:
        if logical_id not in stack.functions:  # a function this template does not have (yet)
            pytest.skip(f"{logical_id} is not in infra/template.yaml")
        function = stack.functions[logical_id]
        code, layers = built.artifacts(logical_id)
        assert (code / "app.py").is_file(), f"{code} has no app.py"
        for layer in layers:
            assert layer.is_dir(), f"{layer} is missing: run `make build-host`"
        environment = {
            **stack.process_environment(),
            **lambda_environment(function),
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": str(code),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "BUILT_TIMEOUT_SECONDS": str(function.timeout),
            "TZ": ":UTC",
            "LANG": "C.UTF-8",
        }
        with tempfile.TemporaryDirectory(prefix="built-") as scratch:
            out = Path(scratch) / "answer.json"
            process = subprocess.run(  # noqa: S603 - our runner, a fixed argv
                [PYTHON312, "-I", "-S", str(RUNNER), str(out), str(code), *map(str, layers)],
                input=json.dumps(event),
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert process.returncode == 0, process.stderr[-4000:]
            assert out.is_file(), process.stderr[-4000:]
            report = json.loads(out.read_text())
        assert report["python"][:2] == [3, 12]
        assert report["outside"] == [], (
            f"{logical_id} loaded files from outside its build: {report['outside']}"
        )
        return Answer(report)

    return invoke


# -- events


def staff(method: str, path: str, body: Any = None, roles: str = "rep", **kwargs: Any) -> dict[str, Any]:
    return api_event(method, path, body=body, org="org-built", user="user-built", roles=roles, **kwargs)


def scheduled(rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7d1b3c1e-0000-4000-8000-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:123456789012:rule/{rule}"],
        "detail": {},
    }


def sqs_batch(queue_arn: str, *bodies: Any) -> dict[str, Any]:
    records = []
    for number, body in enumerate(bodies, 1):
        text = json.dumps(body)
        records.append(
            {
                "messageId": f"00000000-0000-4000-8000-{number:012d}",
                "receiptHandle": f"built-{number}",
                "body": text,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


# -- one test per function, one real event each


def test_every_function_of_the_template_is_covered(built: Built) -> None:
    assert set(resources_of(built.template, FUNCTION_TYPES)) - set(COVERED) == set()


def test_every_functions_code_ships_its_bytecode_unchecked(built: Built) -> None:
    """Lambda cannot write bytecode under /var/task: each module of a function's own folder carries a
    python3.12 pyc that is used without reading its source (unchecked hash: PEP 552 flags 0b01)."""
    missing = []
    for logical_id in resources_of(built.template, FUNCTION_TYPES):
        code, _ = built.artifacts(logical_id)
        for module in code.rglob("*.py"):
            compiled = module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc"
            flags = int.from_bytes(compiled.read_bytes()[4:8], "little") if compiled.is_file() else None
            if flags != 0b01:
                missing.append(f"{logical_id}/{module.relative_to(code)}: {flags}")
    assert missing == []


def test_contacts_creates_a_contact_and_call_rematch_takes_its_stream_record(
    run: Run, stack: LocalStack
) -> None:
    created = run(
        "ContactsFunction",
        staff(
            "POST", "/v1/contacts", {"name": "Ada Lovelace", "type": "customer", "phones": ["+14155550123"]}
        ),
    )
    assert created.status == 201, created.result
    assert created.body["phones"][0]["e164"] == "+14155550123"

    # the record DynamoDB Streams holds for that write, as Lambda's poller hands it over
    session = boto3.Session(region_name=REGION)
    endpoint = stack.moto_url
    table = stack.physical["ContactsTable"].ref
    arn = session.client("dynamodb", endpoint_url=endpoint).describe_table(TableName=table)["Table"][
        "LatestStreamArn"
    ]
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    inserted = [
        r
        for r in records
        if r["eventName"] == "INSERT" and created.body["id"] in json.dumps(r["dynamodb"]["Keys"])
    ]
    assert inserted
    record = {**inserted[0], "eventSourceARN": arn, "awsRegion": REGION}
    record["dynamodb"] = {**record["dynamodb"], "ApproximateCreationDateTime": int(time.time())}
    answer = run("CallRematchFunction", json.loads(json.dumps({"Records": [record]}, default=str)))
    assert answer.result == {"batchItemFailures": []}


def test_contact_import_worker_answers_an_sqs_batch(run: Run, stack: LocalStack) -> None:
    queue = stack.functions["ContactImportFunction"].streams[0].source_arn
    event = sqs_batch(queue, {"org_id": "org-built", "import_id": "0" * 23, "token": "t" * 32}, "not a job")
    assert run("ContactImportFunction", event).result == {"batchItemFailures": []}


def test_call_logs_lists_an_orgs_calls(run: Run) -> None:
    answer = run("CallLogsFunction", staff("GET", "/v1/call-logs"))
    assert answer.status == 200, answer.result
    assert answer.body["items"] == []


def test_call_retention_runs_on_its_schedule(run: Run) -> None:
    assert run("CallRetentionFunction", scheduled("CallRetention")).result == {
        "deleted": 0,
        "orgs": 0,
        "stores": {},
    }


def test_calendars_reports_no_connection(run: Run) -> None:
    answer = run("CalendarsFunction", staff("GET", "/v1/integrations/calendar"))
    assert answer.status == 200, answer.result


def test_calendar_callback_refuses_an_unknown_state(run: Run) -> None:
    event = form_event(
        "/oauth/microsoft/calendar/callback",
        {},
        method="GET",
        resource="/oauth/{provider}/calendar/callback",
        query={"code": "c", "state": "s" * 40},
    )
    answer = run("CalendarCallbackFunction", event)
    assert 400 <= answer.status < 500, answer.result


def test_gmail_reports_no_connection(run: Run) -> None:
    answer = run("GmailFunction", staff("GET", "/v1/integrations/google"))
    assert answer.status == 404, answer.result
    assert answer.body["error"]["code"] == "not_found"


def test_gmail_callback_refuses_an_unknown_state(run: Run) -> None:
    event = form_event("/oauth/google/callback", {}, method="GET", query={"code": "c", "state": "s" * 40})
    answer = run("GmailCallbackFunction", event)
    assert 400 <= answer.status < 500, answer.result


def test_gmail_push_accepts_a_signed_notification(run: Run, stack: LocalStack) -> None:
    audience = stack.process_environment()["GMAIL_PUSH_AUDIENCE"]
    token = stack.google.signer.sign(audience)
    data = json.dumps({"emailAddress": "nobody@example.com", "historyId": "1"}).encode()
    import base64

    body = {"message": {"data": base64.b64encode(data).decode(), "messageId": "1"}, "subscription": "s"}
    event = api_event("POST", "/webhooks/gmail/push", body=body)
    event["requestContext"].pop("authorizer", None)
    event["headers"]["Authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    answer = run("GmailPushFunction", event)
    assert 200 <= answer.status < 300, answer.result


def test_gmail_sync_answers_an_sqs_batch(run: Run, stack: LocalStack) -> None:
    queue = stack.functions["GmailSyncFunction"].streams[0].source_arn
    event = sqs_batch(queue, {"org_id": "org-built", "user_id": "user-built"})
    assert run("GmailSyncFunction", event).result == {"batchItemFailures": []}


def test_gmail_watch_runs_on_its_schedule(run: Run) -> None:
    result = run("GmailWatchFunction", scheduled("GmailWatch")).result
    assert result["renewed"] == 0
    assert result["renewal_failures"] == 0


def test_sms_webhook_answers_a_signed_twilio_message_with_twiml(run: Run, stack: LocalStack) -> None:
    params = {"From": "+14155550199", "To": "+14155550100", "Body": "STOP", "MessageSid": "SM" + "0" * 32}
    url = stack.process_environment()["SMS_PUBLIC_BASE_URL"] + "/webhooks/twilio/sms"
    event = form_event(
        "/webhooks/twilio/sms", params, headers={"X-Twilio-Signature": sign(DEV_AUTH_TOKEN, url, params)}
    )
    answer = run("SmsWebhookFunction", event)
    assert answer.status == 200, answer.result
    assert "<Response" in answer.result["body"]


def test_sms_pages_serve_the_opt_out_form(run: Run) -> None:
    answer = run("SmsPagesFunction", form_event("/sms/opt-out", {}, method="GET", query={"org": "org-built"}))
    assert answer.status == 200, answer.result
    assert answer.result["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert "<form" in answer.result["body"]


def test_sms_reads_the_orgs_settings(run: Run) -> None:
    answer = run("SmsFunction", staff("GET", "/v1/org/sms", roles="admin"))
    assert answer.status == 200, answer.result


def test_accounts_answers_me(run: Run) -> None:
    answer = run("AccountsFunction", staff("GET", "/v1/me"))
    assert answer.status == 200, answer.result


def test_account_pages_refuse_an_unsubscribe_without_a_token(run: Run) -> None:
    answer = run("AccountPagesFunction", form_event("/email/unsubscribe", {}, method="GET"))
    assert 400 <= answer.status < 500, answer.result


def test_dsar_lists_requests_for_compliance_staff(run: Run) -> None:
    answer = run("DsarFunction", staff("GET", "/v1/dsar/requests", roles="compliance"))
    assert answer.status == 200, answer.result
    assert answer.body["items"] == []


def test_dsar_pages_take_a_privacy_request(run: Run) -> None:
    event = form_event("/privacy/confirm", {}, method="GET", query={"token": "x" * 40})
    answer = run("DsarPagesFunction", event)
    assert 400 <= answer.status < 500, answer.result


def test_dsar_tasks_answer_a_state_machine_task(run: Run) -> None:
    task = {"step": "begin", "org_id": "org-built", "request_id": "r" * 20, "attempt": 1}
    error = run("DsarTasksFunction", task).report["error"]
    assert error["errorType"] == "NotFound", error


def test_privacy_inbox_drops_what_is_not_an_ses_receipt(run: Run) -> None:
    result = run("PrivacyInboxFunction", {"Records": []}).result
    assert result["outcome"] == "dropped"


def test_dsar_deadlines_run_on_their_schedule(run: Run) -> None:
    result = run("DsarDeadlinesFunction", scheduled("DsarDeadlines")).result
    assert result["overdue"] == 0


def test_member_sweep_runs_on_its_schedule(run: Run) -> None:
    result = run("MemberSweepFunction", scheduled("MemberSweep")).result
    assert result == {"purged": 0, "skipped": 0}


COVERED = (
    "ContactsFunction", "CallRematchFunction", "ContactImportFunction", "CallLogsFunction",
    "CallRetentionFunction", "CalendarsFunction", "CalendarCallbackFunction", "GmailFunction",
    "GmailCallbackFunction", "GmailPushFunction", "GmailSyncFunction", "GmailWatchFunction",
    "SmsWebhookFunction", "SmsPagesFunction", "SmsFunction", "AccountsFunction", "AccountPagesFunction",
    "DsarFunction", "DsarPagesFunction", "DsarTasksFunction", "DsarDeadlinesFunction", "PrivacyInboxFunction",
    "MemberSweepFunction",
)  # fmt: skip
