"""`callproof audit verify` on the running local stack (its default target): the DsarTable is found
from the stack's state file; an intact chain exits 0, a tampered entry exits 1 naming its seq."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from callproof.store.audit_dynamo import DynamoAuditLog, audit_pk, entry_sk
from callproof.store.dynamo import to_item
from callproof_local.provision import aws_session, local_name
from callproof_local.stack import STATE_FILE
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e

ORG = "audit-e2e-org"


def verify(stack: RunningStack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "callproof_local.cli", "audit", "verify", "--org", ORG],
        env={**os.environ, "CALLPROOF_LOCAL_HOME": str(stack.home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_audit_verify_on_the_local_stack(local_stack: RunningStack) -> None:
    moto_url = json.loads((local_stack.home / STATE_FILE).read_text())["moto_url"]
    client = aws_session().client("dynamodb", endpoint_url=moto_url)
    table = local_name("DsarTable")
    log = DynamoAuditLog(client, table, lambda: datetime(2026, 11, 28, 9, tzinfo=UTC))
    for step in ("created", "collected", "assembled"):
        assert log.append(ORG, f"req-e2e:{step}", "step:export", f"export.{step}", "req-e2e", {"rows": 1})

    intact = verify(local_stack)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "chain intact: 3 entries"

    client.update_item(
        TableName=table,
        Key=to_item({"pk": audit_pk(ORG), "sk": entry_sk(2)}),
        UpdateExpression="SET request_id = :r",
        ExpressionAttributeValues=to_item({":r": "req-other"}),
    )
    broken = verify(local_stack)
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith("chain broken at seq 2 (entry 2): hash does not match")
