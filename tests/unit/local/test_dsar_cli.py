"""The staff CLI's pure parts: tables, the progress bar, the wait loop, the outbox selection."""

from __future__ import annotations

import io
from typing import Any

import pytest

from callproof_local import dsar_cli
from callproof_local.cli import main
from callproof_local.gateway import sent_mail
from callproof_local.usage import UsageError


def summary(
    id_: str, due: str, days: int, state: str = "on_track", status: str = "verified"
) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "access",
        "status": status,
        "due": due,
        "days_left": days,
        "deadline_state": state,
    }


def detail(status: str, stores: dict[str, str], steps: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": "r1",
        "status": status,
        "stores": {name: {"status": s} for name, s in stores.items()},
        "steps": steps or {},
        "timeline": [{"at": "2026-11-28T10:00:00Z", "event": status, "detail": None}],
    }


def test_requests_table_is_sorted_by_due_date_and_flags_deadlines() -> None:
    text = dsar_cli.requests_table(
        [
            summary("late", "2026-12-20", 22),
            summary("over", "2026-11-01", -3, "overdue", "in_progress"),
            summary("soon", "2026-12-02", 4, "due_soon"),
        ]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "DUE", "DAYS", "LEFT"]
    assert [line.split()[0] for line in lines[1:]] == ["over", "soon", "late"]
    assert lines[1].endswith("-3 (overdue)")
    assert lines[2].endswith("4 (due soon)")
    assert lines[3].endswith("22")
    assert len({line.index("2026-") for line in lines[1:]}) == 1  # the due column is aligned


def test_table_aligns_columns_and_shows_none_as_dash() -> None:
    assert dsar_cli.table(("A", "BB"), [("xyz", None), ("q", 7)]).splitlines() == [
        "A    BB",
        "xyz  -",
        "q    7",
    ]


def test_detail_text_has_the_store_table_steps_and_timeline() -> None:
    request = {
        **summary("r9", "2026-12-20", 22),
        "type": "erasure",
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "extended": True,
        "subject": {"email": "ada@example.com", "phone": None, "contact_id": None},
        "stores": {
            "sms": {"status": "done", "rows": 0, "deleted": 3, "kept": 1, "residue": 0, "attempts": 1, "error": None},
            "contacts": {"status": "failed", "rows": 0, "deleted": 0, "kept": 0, "residue": None, "attempts": 3, "error": "Throttled"},
        },
        "steps": {"suppress": "done"},
        "timeline": [{"at": "2026-11-28T10:00:00Z", "event": "in_progress", "detail": None}],
    }  # fmt: skip
    text = dsar_cli.detail_text(request)
    assert "Due:          2026-12-20 (extended)" in text
    assert "Subject:      email=ada@example.com" in text
    stores = text.split("Stores:\n")[1].split("\n\n")[0].splitlines()
    assert stores[0].split() == ["STORE", "STATUS", "ROWS", "DELETED", "KEPT", "RESIDUE", "ATTEMPTS", "ERROR"]
    assert stores[1].split() == ["contacts", "failed", "0", "0", "0", "-", "3", "Throttled"]
    assert stores[2].split() == ["sms", "done", "0", "3", "1", "0", "1", "-"]
    assert "Steps: suppress done" in text
    assert text.splitlines()[-1].split() == ["2026-11-28T10:00:00Z", "in_progress", "-"]


def test_detail_text_says_a_closed_request_lost_its_identifiers() -> None:
    request = {
        **summary("r9", "2026-12-20", 22),
        "type": "access",
        "status": "completed",
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "subject": {"email": None, "phone": None, "contact_id": "c-1", "removed_at": "2026-11-28T10:00:00Z"},
    }
    text = dsar_cli.detail_text(request)
    assert "Subject:      contact_id=c-1; identifiers removed at completion" in text
    closed = {**request, "subject": {**request["subject"], "contact_id": None}}
    assert "Subject:      identifiers removed at completion" in dsar_cli.detail_text(closed)


@pytest.mark.parametrize(
    ("stores", "bar", "count"),
    [
        ({}, "-" * 10, "0/0"),
        ({"a": "pending", "b": "pending"}, "-" * 10, "0/2"),
        ({"a": "done", "b": "pending", "c": "pending", "d": "pending"}, "##--------", "1/4"),
        ({"a": "done", "b": "done"}, "#" * 10, "2/2"),
    ],
)
def test_progress_bar_counts_finished_stores(stores: dict[str, str], bar: str, count: str) -> None:
    line = dsar_cli.progress_line(detail("in_progress", stores), width=10)
    assert line.startswith(f"[{bar}] {count} stores  ")
    assert line.endswith("  in_progress")


def test_progress_names_failed_stores_and_the_current_step() -> None:
    request = detail(
        "needs_attention", {"a": "done", "b": "failed"}, {"assemble": "done", "deliver": "pending"}
    )
    assert dsar_cli.progress_line(request, width=4) == (
        "[####] 2/2 stores (failed: b)  step deliver  needs_attention"
    )
    assert dsar_cli.current_step(detail("in_progress", {})) == "in_progress"  # no steps: the latest event


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run_wait(states: list[dict[str, Any]], tty: bool, timeout: float = 60) -> tuple[int, str, Clock]:
    answers = iter(states)
    last: list[dict[str, Any]] = []

    def fetch() -> dict[str, Any]:
        last[:] = [next(answers, last[0] if last else states[-1])]
        return last[0]

    out, clock = io.StringIO(), Clock()
    code = dsar_cli.wait_for(fetch, out, tty, timeout, clock.sleep, lambda: clock.now)
    return code, out.getvalue(), clock


RUN = [
    detail("verified", {}),
    detail("in_progress", {"a": "pending", "b": "pending"}),
    detail("in_progress", {"a": "pending", "b": "pending"}),
    detail("in_progress", {"a": "done", "b": "pending"}),
]


def test_wait_prints_one_line_per_change_when_not_a_terminal() -> None:
    code, text, clock = run_wait([*RUN, detail("completed", {"a": "done", "b": "done"})], tty=False)
    assert code == 0
    lines = text.splitlines()
    assert [line.split("]")[1].split(" stores")[0].strip() for line in lines] == ["0/0", "0/2", "1/2", "2/2"]
    assert clock.sleeps == [dsar_cli.POLL_SECONDS] * 4


def test_wait_redraws_one_line_on_a_terminal() -> None:
    code, text, _ = run_wait([*RUN, detail("completed", {"a": "done", "b": "done"})], tty=True)
    assert code == 0
    assert text.count("\r") == 4
    assert text.endswith("\n")
    assert text.count("\n") == 1
    frames = text.removesuffix("\n").split("\r")[1:]
    assert frames[-1].strip().endswith("completed  completed")
    assert len(frames[-1]) == len(frames[-2])  # the shorter last frame is padded to wipe the longer one


@pytest.mark.parametrize("status", ["needs_attention", "cancelled", "expired", "pending_confirmation"])
def test_wait_fails_when_the_request_stops_elsewhere(status: str) -> None:
    code, text, _ = run_wait([*RUN, detail(status, {"a": "done", "b": "failed"})], tty=False)
    assert code == 1
    assert text.splitlines()[-1] == f"request r1 ended waiting: {status}"


def test_wait_gives_up_at_the_timeout() -> None:
    code, text, clock = run_wait([detail("in_progress", {"a": "pending"})], tty=False, timeout=2)
    assert code == 1
    assert text.splitlines()[-1] == "request r1 ended waiting: timeout"
    assert clock.now == 2


MAIL = [
    {"id": "1", "from": "p@x", "to": ["Ada@Example.com"], "subject": "Confirm", "body": "link"},
    {"id": "2", "from": "p@x", "to": ["bob@example.com"], "subject": "Ready", "body": "zip"},
    {"id": "3", "from": "p@x", "to": ["ada@example.com", "c@x"], "subject": "Done", "body": "ok"},
]


def test_outbox_selection_by_recipient_and_last() -> None:
    assert [m["id"] for m in dsar_cli.select_mail(MAIL, "ada@example.COM", None)] == ["1", "3"]
    assert [m["id"] for m in dsar_cli.select_mail(MAIL, None, 2)] == ["2", "3"]
    assert [m["id"] for m in dsar_cli.select_mail(MAIL, "ada@example.com", 1)] == ["3"]
    assert dsar_cli.mail_text([]) == "(no mail)"
    assert dsar_cli.mail_text(MAIL[2:]) == "--- 3\nFrom: p@x\nTo: ada@example.com, c@x\nSubject: Done\n\nok"


def test_sent_mail_reads_moto_messages_plain_and_raw() -> None:
    from moto.ses.models import Message, RawMessage

    plain = Message("m1", "p@x", "Hi", "body", {"ToAddresses": ["a@x"], "CcAddresses": ["b@x"]})
    assert sent_mail(plain) == {
        "id": "m1",
        "from": "p@x",
        "to": ["a@x", "b@x"],
        "subject": "Hi",
        "body": "body",
    }
    raw = RawMessage(
        "m2", "p@x", ["a@x", "a@x"], "Subject: Raw one\nTo: a@x\nContent-Type: text/plain\n\nhello\n"
    )
    assert sent_mail(raw) == {
        "id": "m2",
        "from": "p@x",
        "to": ["a@x"],  # moto lists the To header's address after Destinations: once here
        "subject": "Raw one",
        "body": "hello\n",
        "headers": {"Subject": "Raw one", "To": "a@x", "Content-Type": "text/plain"},  # List-Unsubscribe...
    }


def test_create_body_needs_an_identifier_and_defaults_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    args = dsar_cli_args("create", "--org", "o1", "--type", "portability", "--email", "a@x.com",
                         "--jurisdiction", "ccpa", "--received", "2026-11-20", "--verification", "ID",
                         "--recipient-email", "r@y.com")  # fmt: skip
    assert dsar_cli.create_body(args) == {
        "type": "portability", "subject": {"email": "a@x.com"}, "jurisdiction": "ccpa",
        "received": "2026-11-20", "verification": "ID", "start": True, "recipient_email": "r@y.com",
    }  # fmt: skip
    bare = dsar_cli_args(
        "create", "--org", "o1", "--type", "access", "--jurisdiction", "gdpr", "--verification", "ID"
    )
    with pytest.raises(UsageError, match="--email, --phone or --contact-id"):
        dsar_cli.create_body(bare)


def dsar_cli_args(*argv: str) -> Any:
    from callproof_local.cli import parser

    return parser().parse_args(["dsar", *argv])


def test_without_a_running_stack_or_org_the_cli_exits_2(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLPROOF_LOCAL_HOME", str(tmp_path))
    monkeypatch.delenv(dsar_cli.TOKEN_ENV, raising=False)
    assert main(["dsar", "list", "--org", "o1"]) == 2
    assert "no running local stack" in capsys.readouterr().err
    assert main(["outbox"]) == 2
    assert main(["dsar", "list", "--url", "http://127.0.0.1:9"]) == 2
    assert "give --org" in capsys.readouterr().err
    assert main(["dsar", "list", "--url", "http://127.0.0.1:9", "--org", "o1"]) == 2  # nothing listens
    assert "cannot reach" in capsys.readouterr().err


def test_api_errors_read_the_error_body_or_the_gateway_message() -> None:
    error = dsar_cli.ApiError(
        400,
        {
            "error": {
                "code": "validation_error",
                "message": "request validation failed",
                "details": [{"field": "type"}],
            }
        },
    )
    assert str(error) == "validation_error: request validation failed (type)"
    assert str(dsar_cli.ApiError(401, {"message": "Unauthorized"})) == "401: Unauthorized"


def test_outbox_route_answers_loopback_clients_only() -> None:
    from werkzeug.test import Client

    from callproof_local.gateway import Gateway

    client = Client(Gateway([], "http://127.0.0.1:9", lambda name: None))
    assert client.get("/_local/outbox", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 403
    local = client.get("/_local/outbox", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
    assert isinstance(local.json["messages"], list)  # type: ignore[index]
    assert client.post("/_local/outbox").status_code == 404


def test_requests_table_lists_requests_that_need_review_first() -> None:
    text = dsar_cli.requests_table(
        [
            summary("soon", "2026-12-02", 4, "due_soon"),
            summary("review-late", "2026-12-30", 32, status="needs_review"),
            summary("over", "2026-11-01", -3, "overdue", "in_progress"),
            summary("review-early", "2026-12-10", 12, status="needs_review"),
        ]
    )
    rows = [line.split() for line in text.splitlines()[1:]]
    assert [row[0] for row in rows] == ["review-early", "review-late", "over", "soon"]
    assert [row[2] for row in rows[:2]] == ["needs_review", "needs_review"]


REVIEW = {
    **summary("r7", "2026-12-28", 27, status="needs_review"),
    "jurisdiction": "gdpr",
    "received": "2026-11-28",
    "subject": {
        "email": None, "phone": "+14155550100", "contact_id": None, "proven": ["phone"], "unverified": [],
        "contacts_found": None, "users_found": None,
        "candidates": [
            {"kind": "contact", "id": "c-ada", "via": ["phone"]},
            {"kind": "user", "id": "u-bob", "via": ["email of contact c-ada", "phone"]},
        ],
    },
}  # fmt: skip


def test_detail_text_shows_proof_and_the_candidates_of_a_request_that_needs_review() -> None:
    lines = dsar_cli.detail_text(REVIEW).splitlines()
    assert "Proven:       phone" in lines
    assert "Unverified:   none" in lines
    assert "Contacts:     -" in lines  # not resolved: staff choose
    table = lines[lines.index("Candidates (choose with `callproof dsar choose`):") + 1 :]
    assert table[0].split() == ["KIND", "ID", "REACHED", "THROUGH"]
    assert table[1].split() == ["contact", "c-ada", "phone"]
    assert table[2].split() == ["user", "u-bob", "email", "of", "contact", "c-ada,", "phone"]
    chosen = {**REVIEW, "status": "completed", "subject": {**REVIEW["subject"], "candidates": [],
              "contacts_found": ["c-ada"], "users_found": []}}  # fmt: skip
    text = dsar_cli.detail_text(chosen)
    assert "Candidates" not in text
    assert "Contacts:     c-ada" in text.splitlines()
    assert "Accounts:     none" in text.splitlines()


def test_choose_posts_the_candidates_and_the_reason_and_prints_the_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, str, Any]] = []
    chosen = {**REVIEW, "status": "in_progress", "subject": {**REVIEW["subject"], "candidates": [],
              "contacts_found": ["c-ada", "c-eve"], "users_found": ["u-bob"]}}  # fmt: skip

    def fake_http(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
        calls.append((method, url, body))
        return chosen

    monkeypatch.setattr(dsar_cli, "http", fake_http)
    code = main(["dsar", "choose", "r/7", "--url", "http://api.test/prod/", "--token", "t",
                 "--contact", "c-ada", "--contact", "c-eve", "--user", "u-bob", "--reason", "said so on the call"])  # fmt: skip
    assert code == 0
    assert calls == [
        (
            "POST",
            "http://api.test/prod/v1/dsar/requests/r%2F7/subject",
            {"contact_ids": ["c-ada", "c-eve"], "user_ids": ["u-bob"], "reason": "said so on the call"},
        )
    ]
    out = capsys.readouterr().out.splitlines()
    assert "Status:       in_progress" in out
    assert "Contacts:     c-ada, c-eve" in out
    assert "Accounts:     u-bob" in out


def test_choose_needs_a_candidate_and_a_reason_and_reports_refusals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
        raise dsar_cli.ApiError(
            409, {"error": {"code": "conflict", "message": "only a request that needs review"}}
        )

    monkeypatch.setattr(dsar_cli, "http", refuse)
    target = ["--url", "http://api.test", "--token", "t"]
    assert main(["dsar", "choose", "r7", *target, "--reason", "no one ticked"]) == 2
    assert "--contact ID or --user ID" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse: --reason is required
        main(["dsar", "choose", "r7", *target, "--contact", "c-ada"])
    assert exited.value.code == 2
    capsys.readouterr()
    assert main(["dsar", "choose", "r7", *target, "--user", "u-bob", "--reason", "the account's owner"]) == 1
    assert capsys.readouterr().err.strip() == "callproof: conflict: only a request that needs review"


def test_a_complaint_is_filed_with_its_details_investigated_and_answered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = dsar_cli_args("create", "--org", "o1", "--type", "complaint", "--email", "a@x.com",
                         "--jurisdiction", "gdpr", "--received", "2026-11-20", "--verification", "letter",
                         "--details", "You texted me after STOP.")  # fmt: skip
    assert dsar_cli.create_body(args)["details"] == "You texted me after STOP."
    calls: list[tuple[str, str, Any]] = []

    def fake_http(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
        calls.append((method, url, body))
        if url.endswith("/answer"):
            return {**REVIEW, "type": "complaint", "status": "answered", "answer": "Outcome:\nFixed."}
        return {**REVIEW, "type": "complaint", "status": "investigating"}

    monkeypatch.setattr(dsar_cli, "http", fake_http)
    target = ["--url", "http://api.test", "--token", "t"]
    assert main(["dsar", "investigate", "r7", *target]) == 0
    assert main(["dsar", "answer", "r7", *target, "--outcome", "Fixed.", "--steps", "Queue purged."]) == 0
    assert calls == [
        ("POST", "http://api.test/v1/dsar/requests/r7/investigate", None),
        (
            "POST",
            "http://api.test/v1/dsar/requests/r7/answer",
            {"outcome": "Fixed.", "steps": "Queue purged."},
        ),
    ]
    out = capsys.readouterr().out.splitlines()
    assert "Status:       answered" in out
    answer = out.index("Answer:")
    assert out[answer + 1 : answer + 3] == ["  Outcome:", "  Fixed."]
