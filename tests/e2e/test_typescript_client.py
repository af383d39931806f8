"""The TypeScript client of the apps (clients/typescript, issue 18 point 4), with its npm packages as
`make client` installs them (`npm ci`): its types are the ones openapi-typescript generates from the
current docs/openapi.json, its example and type checks pass `tsc`, and the example app flow runs with
node against the local stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack
from tests.support import ROOT

pytestmark = pytest.mark.e2e

CLIENT = ROOT / "clients" / "typescript"
SCHEMA = CLIENT / "src" / "schema.d.ts"


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - node, npm and the client's own files
        command, cwd=CLIENT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None or not (CLIENT / "node_modules" / ".package-lock.json").exists():
        pytest.fail("the TypeScript client needs node and its npm packages: run `make client` (npm ci)")
    return found


def test_committed_types_are_generated_from_the_current_document(node: str) -> None:
    generated = run("npm", "run", "--silent", "types")  # openapi-typescript ../../docs/openapi.json
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout == SCHEMA.read_text(), (
        "clients/typescript/src/schema.d.ts is stale: run `make client-types` and commit it"
    )


def test_example_app_flow_type_checks_and_runs_against_the_local_stack(
    node: str, local_stack: RunningStack
) -> None:
    # tsc type-checks everything (the example, the client, test/types.ts) and emits JavaScript only
    # when there is no error (noEmitOnError), into a build directory of this run's own.
    build = Path("build") / f"test-{uuid.uuid4().hex}"
    try:
        compiled = run(node, "node_modules/typescript/bin/tsc", "--outDir", str(build))
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr

        org = f"ts-{uuid.uuid4().hex[:8]}"
        admin = {"Authorization": f"Bearer {local_stack.token(org, 'ts-admin', ['admin'])}"}
        sender = "+1415555" + str(uuid.uuid4().int)[:4]
        senders = {"phone_numbers": [sender]}  # setting up the org's Twilio number is an admin's job
        response = requests.put(
            f"{local_stack.url}/v1/org/sms/senders", json=senders, headers=admin, timeout=30
        )
        assert response.status_code == 200, response.text

        phone = "+1415555" + str(uuid.uuid4().int)[:4]
        env = {
            "PATH": str(Path(node).parent),
            "CALLPROOF_API_URL": local_stack.url,
            # a user who never answered the age question: the example answers it, as an app does
            "CALLPROOF_TOKEN": local_stack.token(org, "ts-rep", ["rep"], answer_age=False),
            "CALLPROOF_CONTACT_PHONE": phone,
        }
        ran = run(node, str(build / "examples" / "app-flow.js"), env=env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        seen: dict[str, Any] = json.loads(ran.stdout)
    finally:
        shutil.rmtree(CLIENT / build, ignore_errors=True)

    assert seen["me"] == {"org_id": org, "user_id": "ts-rep", "roles": ["rep"]}
    contact_id = seen["contact"]["id"]
    assert seen["contact"]["e164"] == [phone]
    call_id = seen["upload"]["call_id"]
    assert seen["upload"]["match"] == {"status": "unique", "contact_ids": [contact_id]}
    assert seen["upload"]["counts"] == {"stored": 1}
    assert seen["calls"] == [{"id": call_id, "e164": phone, "contact_ids": [contact_id]}]
    assert seen["message"]["phone"] == phone
    assert seen["message"]["sid"].startswith("SM")
    assert seen["sms_consent"] == {"phone": phone, "status": "none", "history": 0}
    assert seen["missing"] == "404 not_found"

    # What the example did is on the stack: the call beside the contact, the text at Twilio's double.
    rep = {"Authorization": f"Bearer {local_stack.token(org, 'ts-rep', ['rep'], answer_age=False)}"}
    age = requests.get(f"{local_stack.url}/v1/me/age", headers=rep, timeout=30).json()
    assert (age["status"], age["basis"]) == ("active", "attestation")  # the example answered it
    calls = requests.get(f"{local_stack.url}/v1/contacts/{contact_id}/calls", headers=rep, timeout=30)
    assert [call["id"] for call in calls.json()["items"]] == [call_id]
    state = json.loads((local_stack.home / "local-stack.json").read_text())
    sent = requests.get(f"{state['twilio_double_url']}/_double/messages", timeout=10).json()["messages"]
    texts = [m for m in sent if m["to"] == phone]
    assert [(m["from"], m["sid"]) for m in texts] == [(sender, seen["message"]["sid"])]
