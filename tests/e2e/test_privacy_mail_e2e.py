"""Privacy requests by email on the local stack (issue 15, point 1): ``callproof mail-in`` delivers a
message as SES receiving would (S3, then the rule's function). A message to privacy+<slug>@ creates a
request and a confirmation mail (read from the local outbox) and runs nothing until the link is
confirmed; a DMARC-fail message runs nothing and sends nothing."""

from __future__ import annotations

import json
import re
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from tests.e2e.test_dsar_cli import cli
from tests.fixtures.local_stack.api import call
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def eml(tmp_path: Path, sender: str, to: str, subject: str, body: str) -> Path:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail.set_content(body)
    path = tmp_path / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(mail))
    return path


def mail_in(stack: RunningStack, path: Path, *options: str) -> dict[str, str]:
    done = cli(stack, "mail-in", *options, str(path))
    assert done.returncode == 0, done.stderr + done.stdout
    return dict(json.loads(done.stdout))


def outbox_to(stack: RunningStack, address: str) -> list[dict[str, str]]:
    messages = requests.get(f"{stack.url}/_local/outbox", timeout=30).json()["messages"]
    return [m for m in messages if address in m["to"]]


def test_mail_to_the_privacy_address_waits_for_its_link_and_a_dmarc_fail_runs_nothing(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    org, slug = f"mail-{uuid.uuid4().hex[:8]}", f"mail-{uuid.uuid4().hex[:8]}"
    call(local_stack, org, "PUT", "/v1/org/settings", {"slug": slug}, roles=["admin"])
    to = f"privacy+{slug}@privacy.callproof.example"
    sender = f"ada-{uuid.uuid4().hex[:6]}@example.com"

    filed = mail_in(local_stack, eml(tmp_path, sender, to, "Subject access request", "A copy, please."))
    assert filed["outcome"] == "filed", filed
    request = call(local_stack, org, "GET", f"/v1/dsar/requests/{filed['request_id']}")
    assert (request["type"], request["status"]) == ("access", "pending_confirmation")
    [confirmation] = outbox_to(local_stack, sender)
    assert confirmation["subject"] == "Confirm your privacy request"

    spoofed_sender = f"ceo-{uuid.uuid4().hex[:6]}@bank.example"
    spoofed = eml(tmp_path, spoofed_sender, to, "Erase my data", "Delete everything.")
    held = mail_in(local_stack, spoofed, "--dmarc", "FAIL")
    assert held["outcome"] == "held", held
    request = call(local_stack, org, "GET", f"/v1/dsar/requests/{held['request_id']}")
    assert (request["type"], request["status"]) == ("erasure", "needs_review")
    assert outbox_to(local_stack, spoofed_sender) == []

    # Only the link runs the request (nothing ran before it: still pending above).
    token = re.findall(r"token=(\S+)", confirmation["body"])[0]
    page = requests.post(f"{local_stack.url}/privacy/confirm", params={"token": token}, timeout=60)
    assert page.status_code == 200, page.text
    request = call(local_stack, org, "GET", f"/v1/dsar/requests/{filed['request_id']}")
    assert request["status"] in ("in_progress", "completed"), request["status"]
