"""The local stack as a developer runs it: health, the authorizer, a clean Ctrl-C."""

from __future__ import annotations

import json
import time
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


def _error(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": None, "details": []}}


def test_api_requires_a_token(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.url}/v1/contacts", timeout=10)
    assert response.status_code == 401
    assert response.json() == _error("unauthenticated", "missing, invalid or expired token")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_what_the_gateway_answers_itself_has_the_one_error_shape(local_stack: RunningStack) -> None:
    """Issue 13, point 9: no more ``{"message": ...}`` from the gateway."""
    token = local_stack.token("demo-org", "demo-user", ["rep"])
    bearer = {"Authorization": f"Bearer {token}"}
    unknown = requests.get(f"{local_stack.url}/v1/nowhere", headers=bearer, timeout=10)
    assert (unknown.status_code, unknown.json()) == (404, _error("not_found", "no such route"))
    wrong_method = requests.delete(f"{local_stack.url}/v1/contacts", headers=bearer, timeout=10)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]
    too_large = requests.post(
        f"{local_stack.url}/v1/contacts", data=b"x" * (10 * 1024 * 1024 + 1), headers=bearer, timeout=60
    )
    assert (too_large.status_code, too_large.json()["error"]["code"]) == (413, "payload_too_large")


def test_why_a_token_was_refused_is_logged_without_the_token(local_stack: RunningStack) -> None:
    an_hour_ago = time.time() - 3600
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr(auth.time, "time", lambda: an_hour_ago)
        expired = local_stack.token(
            "demo-org", "demo-user", ["rep"], ttl=60, answer_age=False
        )  # expired: it cannot answer
    response = requests.get(
        f"{local_stack.url}/v1/contacts", headers={"Authorization": f"Bearer {expired}"}, timeout=10
    )
    assert response.status_code == 401
    logged = local_stack.stderr.read_text()
    assert "INFO token refused reason=expired route=GET /v1/contacts" in logged
    assert all(part not in logged for part in expired.split("."))


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
    (token,) = (line.removeprefix("TOKEN=") for line in lines if line.startswith("TOKEN="))  # printed once
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


def test_swagger_ui_serves_the_published_document_offline(local_stack: RunningStack) -> None:
    """Issue 13, point 10: ``/docs`` is Swagger UI with its assets inlined (no CDN), and the document
    it loads is docs/openapi.json."""
    page = requests.get(f"{local_stack.url}/docs", timeout=60)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert "<script src=" not in page.text
    spec = requests.get(f"{local_stack.url}/docs", params={"format": "json"}, timeout=60)
    assert spec.json() == json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
