"""``callproof dsar create | list | show | wait`` and ``callproof outbox`` as subprocesses against the
local stack (found through its state file in CALLPROOF_LOCAL_HOME); the workflows really run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.fixtures.local_stack.api import call
from tests.fixtures.local_stack.process import RunningStack, new_client

pytestmark = pytest.mark.e2e


def cli(
    stack: RunningStack | Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with the stack's home (or another one); no inherited CALLPROOF_TOKEN."""
    home = stack if isinstance(stack, Path) else stack.home
    environment = {k: v for k, v in os.environ.items() if k != "CALLPROOF_TOKEN"}
    environment.update({"CALLPROOF_LOCAL_HOME": str(home), **(env or {})})
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "callproof_local.cli", *argv],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def org(local_stack: RunningStack) -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def test_create_wait_show_list_an_access_request(local_stack: RunningStack, org: str) -> None:
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    call(
        local_stack,
        org,
        "POST",
        "/v1/contacts",
        {"name": "Grace Hopper", "type": "customer", "emails": [email]},
    )

    created = cli(local_stack, "dsar", "create", "--org", org, "--type", "access", "--email", email,
                  "--jurisdiction", "gdpr", "--verification", "ID checked", "--received", "2026-11-20")  # fmt: skip
    assert created.returncode == 0, created.stderr
    request = json.loads(created.stdout)
    assert (request["type"], request["due"], request["subject"]["email"]) == ("access", "2026-12-20", email)

    waited = cli(local_stack, "dsar", "wait", request["id"], "--org", org, "--timeout", "120")
    assert waited.returncode == 0, waited.stderr
    progress = waited.stderr.splitlines()  # not a terminal: one line per change
    assert progress[-1].startswith("[")
    finished, total = progress[-1].split("] ")[1].split(" stores")[0].split("/")
    assert finished == total
    assert int(total) > 0
    assert progress[-1].endswith("  completed")

    shown = cli(local_stack, "dsar", "show", request["id"], "--org", org)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert f"Request:      {request['id']}" in lines
    assert "Status:       completed" in lines
    assert "Download:     ready" in lines
    assert "Subject:      identifiers removed at completion" in lines  # closed: none kept (ADR 0022)
    assert email not in shown.stdout
    assert "Verification: -" in lines
    contacts = next(line.split() for line in lines if line.startswith("contacts "))
    assert contacts[:3] == ["contacts", "done", "1"]
    assert any(line.split()[1:2] == ["completed"] for line in lines[lines.index("Timeline:") :])

    listed = cli(local_stack, "dsar", "list", "--org", org)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:4] == [request["id"], "access", "completed", "2026-12-20"]


def test_list_sorts_by_due_date_and_filters(local_stack: RunningStack, org: str) -> None:
    def create(received: date) -> str:
        result = cli(local_stack, "dsar", "create", "--org", org, "--type", "access", "--phone", "+1 415 555 0100",
                     "--jurisdiction", "ccpa", "--verification", "account login", "--no-start", "-q",
                     "--received", received.isoformat())  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    later = create(datetime.now(UTC).date())
    sooner = create(datetime.now(UTC).date() - timedelta(days=40))
    listed = cli(local_stack, "dsar", "list", "--org", org, "--status", "verified")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == [sooner, later]
    assert rows[0][-3:] == ["5", "(due", "soon)"]
    assert (
        cli(local_stack, "dsar", "list", "--org", org, "--status", "completed").stdout.splitlines()[1:] == []
    )
    due_before = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    early = cli(local_stack, "dsar", "list", "--org", org, "--due-before", due_before).stdout.splitlines()[1:]
    assert [line.split()[0] for line in early] == [sooner]


def test_wait_exits_1_for_a_cancelled_request(local_stack: RunningStack, org: str) -> None:
    created = cli(local_stack, "dsar", "create", "--org", org, "--type", "access", "--contact-id", "c1",
                  "--jurisdiction", "gdpr", "--verification", "ID checked", "--no-start", "-q")  # fmt: skip
    request_id = created.stdout.strip()
    call(local_stack, org, "POST", f"/v1/dsar/requests/{request_id}/cancel", {"reason": "asked by phone"})
    waited = cli(local_stack, "dsar", "wait", request_id, "--org", org)
    assert waited.returncode == 1
    assert waited.stderr.splitlines()[-1] == f"request {request_id} ended waiting: cancelled"


def test_errors_and_the_token_option(local_stack: RunningStack, org: str) -> None:
    missing = cli(local_stack, "dsar", "show", "no-such-request", "--org", org)
    assert missing.returncode == 1
    assert missing.stderr.startswith("callproof: not_found:")
    no_subject = cli(local_stack, "dsar", "create", "--org", org, "--type", "access", "--jurisdiction", "gdpr",
                     "--verification", "ID checked")  # fmt: skip
    assert no_subject.returncode == 2
    assert "--email, --phone or --contact-id" in no_subject.stderr
    refused = cli(local_stack, "dsar", "list", "--token", "not-a-token")
    assert (refused.returncode, refused.stderr.strip()) == (
        1,
        "callproof: unauthenticated: missing, invalid or expired token",
    )
    rep = local_stack.token(org, "a-rep", ["rep"])
    forbidden = cli(local_stack, "dsar", "list", env={"CALLPROOF_TOKEN": rep})
    assert forbidden.returncode == 1
    assert forbidden.stderr.startswith("callproof: forbidden:")
    compliance = local_stack.token(org, "officer", ["compliance"])
    listed = cli(local_stack, "dsar", "list", "--url", local_stack.url, env={"CALLPROOF_TOKEN": compliance})
    assert listed.returncode == 0, listed.stderr


def test_outbox_shows_the_confirmation_email_of_a_public_request(local_stack: RunningStack, org: str) -> None:
    email = f"bob-{uuid.uuid4().hex[:6]}@example.com"
    body = {"org_id": org, "type": "erasure", "email": email, "jurisdiction": "gdpr"}
    response = new_client().post(f"{local_stack.url}/privacy/requests", json=body, timeout=60)
    assert response.status_code == 202, response.text

    shown = cli(local_stack, "outbox", "--to", email)
    assert shown.returncode == 0, shown.stderr
    assert f"To: {email}" in shown.stdout
    assert "Subject: Confirm your privacy request" in shown.stdout
    assert f"{local_stack.url}/privacy/confirm?token=" in shown.stdout

    as_json = cli(local_stack, "outbox", "--to", email, "--json", "--last", "1")
    (message,) = json.loads(as_json.stdout)
    assert message["to"] == [email]
    link = next(line for line in message["body"].splitlines() if "/privacy/confirm?token=" in line)
    assert requests.get(link.strip(), timeout=30).status_code == 200  # the link in the mail works
    nobody = f"nobody-{uuid.uuid4().hex[:6]}@example.com"  # other tests on this stack mail nobody@...
    assert json.loads(cli(local_stack, "outbox", "--to", nobody, "--json").stdout) == []


def test_outbox_route_and_no_stack(local_stack: RunningStack, tmp_path: Path) -> None:
    listed = requests.get(f"{local_stack.url}/_local/outbox", timeout=30)
    assert listed.status_code == 200
    assert isinstance(listed.json()["messages"], list)
    result = cli(tmp_path, "outbox")
    assert result.returncode == 2
    assert "no running local stack" in result.stderr
