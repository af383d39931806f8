"""A significant policy version over HTTP: `callproof publish-policy` on a stack of its own (it would
gate every other e2e test of a shared stack), 428 until the user consents, then 200."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningStack]:
    monkeypatch.setenv("POLICY_CACHE_SECONDS", "0")  # enforce a new version at once
    stack = start_stack(tmp_path / "stack")
    yield stack
    assert stop_stack(stack) == 0, stack.output()


def publish(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "callproof_local.cli", "publish-policy", *args],
        env={**os.environ, "CALLPROOF_LOCAL_HOME": str(stack.home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_significant_policy_asks_for_consent_again(own_stack: RunningStack) -> None:
    base = own_stack.url
    rep = {"Authorization": f"Bearer {own_stack.token('policy-org', 'rep-1', ['rep'])}"}
    assert requests.get(f"{base}/v1/contacts", headers=rep, timeout=30).status_code == 200

    text_url = "https://callproof.example/terms/2026-12"
    done = publish(
        own_stack, "--version", "2026-12", "--significant", "--policy-url", text_url, "--url", base
    )
    assert done.returncode == 0, done.stderr
    assert publish(own_stack, "--version", "2026-12").returncode == 2  # already published

    refused = requests.get(f"{base}/v1/contacts", headers=rep, timeout=30)
    assert refused.status_code == 428
    assert refused.json()["error"]["details"][0]["version"] == "2026-12"
    policy = requests.get(f"{base}/v1/policies/terms", headers=rep, timeout=30).json()
    assert (policy["version"], policy["url"]) == ("2026-12", text_url)  # issue 18: --url is the gateway
    consent = {"purpose": "terms", "version": policy["version"]}
    assert requests.post(f"{base}/v1/me/consents", json=consent, headers=rep, timeout=30).status_code == 201
    assert requests.get(f"{base}/v1/contacts", headers=rep, timeout=30).status_code == 200
