"""The local stack as a developer runs it: health, the authorizer, a clean Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from callproof_local import auth
from tests.fixtures.local_stack.process import RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def test_health_answers(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["moto"] is True


def test_api_requires_a_token(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.url}/v1/contacts", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_token_from_another_key_is_refused(
    local_stack: RunningStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLPROOF_LOCAL_HOME", str(tmp_path))  # a different signing key
    token = auth.mint("demo-org", "demo-user", ["admin"])
    response = requests.get(
        f"{local_stack.url}/v1/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 401


def test_banner_prints_a_valid_demo_token_and_examples(
    local_stack: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = local_stack.stdout.read_text().splitlines()
    token = lines[next(i for i, line in enumerate(lines) if line.startswith("Bearer token")) + 1]
    monkeypatch.setenv("CALLPROOF_LOCAL_HOME", str(local_stack.home))
    claims = auth.verify(token)
    assert (claims["custom:org_id"], claims["sub"], claims["cognito:groups"]) == (
        "demo-org",
        "demo-user",
        ["admin", "compliance", "rep"],
    )
    assert claims["exp"] - claims["iat"] == 12 * 3600
    assert any(line.strip().startswith("curl") and "/v1/contacts/lookup" in line for line in lines)
    assert any(line.startswith("Data-subject requests: console http") for line in lines)
    assert any(line.startswith("Started in ") and line.split()[2].isdigit() for line in lines)


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "home")
    assert (stack.home / "local-stack.json").exists()
    assert stop_stack(stack) == 0, stack.output()
    assert "Traceback" not in stack.stderr.read_text()
    assert not (stack.home / "local-stack.json").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.url}/health", timeout=2)
