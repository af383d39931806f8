"""The local API Gateway: routing, the Cognito authorizer stand-in, the proxy event and response."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from callproof_local import auth, gateway
from callproof_local.stack import LocalStack


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every handler invocation made by the gateway (the real handler still runs)."""
    seen: list[Any] = []
    real = gateway.invoke

    def spy(function: Any, event: Any) -> Any:
        seen.append((function.logical_id, event))
        return real(function, event)

    monkeypatch.setattr(gateway, "invoke", spy)
    return seen


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def token(stack: LocalStack) -> str:
    return auth.mint("org-1", "user-1", ["rep", "admin"], ttl=600)


def test_literal_route_beats_parameter(stack: LocalStack, token: str) -> None:
    lookup = requests.post(
        f"{stack.url}/items/lookup", json={"q": 1}, headers=_bearer(token), timeout=10
    ).json()
    assert lookup["event"]["resource"] == "/items/lookup"
    assert lookup["event"]["pathParameters"] is None
    item = requests.get(f"{stack.url}/items/it-7", headers=_bearer(token), timeout=10).json()
    assert item["event"]["resource"] == "/items/{item_id}"
    assert item["event"]["pathParameters"] == {"item_id": "it-7"}


def test_proxy_event_shape(stack: LocalStack, token: str) -> None:
    response = requests.get(
        f"{stack.url}/items?tag=a&tag=b&page=2", headers={**_bearer(token), "X-Trace": "t1"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["X-Echo"] == "yes"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    event = response.json()["event"]
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/items"
    assert event["headers"]["X-Trace"] == "t1"
    assert event["multiValueHeaders"]["X-Trace"] == ["t1"]
    assert event["queryStringParameters"] == {"tag": "b", "page": "2"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "page": ["2"]}
    assert event["stageVariables"] is None
    assert event["body"] is None
    context = event["requestContext"]
    assert context["resourcePath"] == "/items"
    assert context["stage"] == "test"
    assert context["path"] == "/test/items"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"].startswith("python-requests")
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert response.json()["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "callproof-local-echofunction"


def test_claims_are_strings_as_api_gateway_passes_them(stack: LocalStack, token: str) -> None:
    claims = requests.get(f"{stack.url}/items", headers=_bearer(token), timeout=10).json()["event"][
        "requestContext"
    ]["authorizer"]["claims"]
    assert claims["sub"] == "user-1"
    assert claims["custom:org_id"] == "org-1"
    assert claims["cognito:groups"] == "admin,rep"
    assert claims["token_use"] == "id"
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"].endswith(" UTC " + time.strftime("%Y", time.gmtime(int(time.time()) + 600)))
    assert claims["auth_time"].isdigit()


def test_raw_token_without_bearer_is_accepted(stack: LocalStack, token: str) -> None:
    response = requests.get(f"{stack.url}/items", headers={"Authorization": token}, timeout=10)
    assert response.status_code == 200


def _foreign_key_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": auth.ISSUER,
        "aud": auth.CLIENT_ID,
        "token_use": "id",
        "sub": "u",
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode(claims, key, algorithm="RS256")


def _our_key_token(**changes: Any) -> str:
    """A token signed with the local stack's own key, its claims changed (``None`` drops one)."""
    from cryptography.hazmat.primitives import serialization

    claims = jwt.decode(auth.mint("org-1", "user-1", ["rep"]), options={"verify_signature": False})
    key = serialization.load_pem_private_key((auth.local_home() / auth.KEY_FILE).read_bytes(), password=None)
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, "missing", id="missing"),
        pytest.param({"Authorization": "Bearer "}, "missing", id="empty"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, "malformed", id="garbage"),
        pytest.param("expired", "expired", id="expired"),
        pytest.param("foreign", "bad_signature", id="bad-signature"),
        pytest.param("tampered", "bad_signature", id="tampered"),
        pytest.param({"sub": None}, "missing_claim:sub", id="no-sub"),
        pytest.param({"aud": "another-client"}, "wrong_audience", id="audience"),
        pytest.param({"iss": "https://cognito-idp.example/other"}, "wrong_issuer", id="issuer"),
        pytest.param({"token_use": "access"}, "not_an_id_token", id="access-token"),
    ],
)
def test_bad_tokens_get_401_before_the_handler_runs_and_the_reason_is_logged(
    stack: LocalStack, calls: list[Any], caplog: pytest.LogCaptureFixture, headers: Any, reason: str
) -> None:
    if headers == "expired":
        an_hour_ago = time.time() - 3600
        with pytest.MonkeyPatch.context() as clock:
            clock.setattr(auth.time, "time", lambda: an_hour_ago)
            old = auth.mint("org-1", "user-1", ["rep"], ttl=60)
        headers = _bearer(old)
    elif headers == "foreign":
        headers = _bearer(_foreign_key_token())
    elif headers == "tampered":
        header, _payload, signature = auth.mint("org-1", "user-1", ["rep"]).split(".")
        claims = jwt.decode(auth.mint("org-2", "user-1", ["admin"]), options={"verify_signature": False})
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        headers = _bearer(f"{header}.{forged}.{signature}")
    elif "Authorization" not in headers and headers:
        headers = _bearer(_our_key_token(**headers))
    caplog.set_level(logging.INFO, logger="callproof_local.gateway")
    response = requests.post(f"{stack.url}/items/lookup", json={}, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthenticated",
            "message": "missing, invalid or expired token",
            "field": None,
            "details": [],
        }
    }
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert calls == []
    (record,) = [r for r in caplog.records if r.name == "callproof_local.gateway"]
    assert (record.levelno, record.getMessage()) == (logging.INFO, "token refused")
    assert (record.reason, record.route) == (reason, "POST /items/lookup")  # type: ignore[attr-defined]
    token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
    logged = f"{record.getMessage()} {record.__dict__}"
    assert not token or token not in logged
    assert all(part not in logged for part in token.split(".") if len(part) > 8)
    assert "user-1" not in logged
    assert "org-1" not in logged
    good = requests.post(
        f"{stack.url}/items/lookup", json={}, headers=_bearer(auth.mint("o", "u", ["rep"])), timeout=10
    )
    assert good.status_code == 200
    assert len(calls) == 1  # the spy does see handler calls


def test_access_lines_name_the_route_template_never_the_path_or_query(
    stack: LocalStack, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """As API Gateway's access log with $context.resourcePath: ids and numbers in URLs stay out."""
    capsys.readouterr()
    requests.get(f"{stack.url}/items/it-4155550100?phone=%2B14155550199", headers=_bearer(token), timeout=10)
    requests.get(f"{stack.url}/items/it-7", timeout=10)  # refused: no token
    requests.get(f"{stack.url}/nowhere/4155550188", headers=_bearer(token), timeout=10)
    lines = [line for line in capsys.readouterr().err.splitlines() if " -> " in line]
    assert [line.split(" (")[0] for line in lines] == [
        "GET /items/{item_id} -> 200",
        "GET /items/{item_id} -> 401",
        "GET - -> 404",
    ]
    for digits in ("4155550100", "4155550199", "4155550188", "it-7"):
        assert all(digits not in line for line in lines)


def test_route_without_auth_needs_no_token(stack: LocalStack) -> None:
    response = requests.get(f"{stack.url}/public/ping", timeout=10)
    assert response.status_code == 200
    assert "authorizer" not in response.json()["event"]["requestContext"]


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": None, "details": []}}


def test_unknown_route_404_and_wrong_method_405(stack: LocalStack, token: str, calls: list[Any]) -> None:
    missing = requests.get(f"{stack.url}/nowhere", headers=_bearer(token), timeout=10)
    assert (missing.status_code, missing.json()) == (404, _error("not_found", "no such route"))
    assert missing.headers["Content-Type"] == "application/json"
    anonymous = requests.get(f"{stack.url}/nowhere", timeout=10)
    assert (anonymous.status_code, anonymous.json()) == (404, _error("not_found", "no such route"))
    wrong = requests.delete(f"{stack.url}/items", headers=_bearer(token), timeout=10)
    assert wrong.status_code == 405
    assert wrong.json() == _error("method_not_allowed", "method not allowed on this route")
    assert wrong.headers["Allow"] == "GET"
    assert calls == []


def test_greedy_proxy_any_method_and_binary_body(stack: LocalStack, token: str) -> None:
    blob = bytes(range(256))
    response = requests.put(
        f"{stack.url}/files/a/b.bin",
        data=blob,
        headers={**_bearer(token), "Content-Type": "application/octet-stream"},
        timeout=10,
    )
    event = response.json()["event"]
    assert event["pathParameters"] == {"proxy": "a/b.bin"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == blob


def test_json_body_is_text(stack: LocalStack, token: str) -> None:
    event = requests.post(
        f"{stack.url}/items/lookup", json={"q": "é"}, headers=_bearer(token), timeout=10
    ).json()["event"]
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"q": "\\u00e9"}'


def test_handler_exception_is_502(stack: LocalStack, token: str) -> None:
    response = requests.get(f"{stack.url}/boom", headers=_bearer(token), timeout=10)
    assert (response.status_code, response.json()) == (502, _error("internal_error", "internal server error"))


def test_body_over_10_mb_is_413(stack: LocalStack, token: str, calls: list[Any]) -> None:
    body = b"x" * (gateway.MAX_BODY_BYTES + 1)
    response = requests.post(
        f"{stack.url}/items/lookup",
        data=body,
        headers={**_bearer(token), "Content-Type": "text/plain"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json() == _error("payload_too_large", "request over 10 MB")
    assert calls == []


def test_health_reports_moto(stack: LocalStack) -> None:
    response = requests.get(f"{stack.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["moto"] is True


def test_bearer_token_parsing() -> None:
    assert gateway.bearer_token("Bearer abc") == "abc"
    assert gateway.bearer_token("bearer  abc ") == "abc"
    assert gateway.bearer_token("abc") == "abc"
    assert gateway.bearer_token(None) is None


def test_malformed_proxy_result_is_rejected() -> None:
    with pytest.raises(ValueError, match="malformed"):
        gateway.http_response({"body": "x"})
    response = gateway.http_response(
        {"statusCode": 201, "body": base64.b64encode(b"\x00").decode(), "isBase64Encoded": True}
    )
    assert (response.status_code, response.get_data()) == (201, b"\x00")


def test_local_aws_names_the_moto_endpoint_to_loopback_clients_only(stack: LocalStack) -> None:
    """Issue 18, point 5: ``--url`` is the gateway for every CLI command; the ones that write to
    the stack's tables directly (``publish-policy``, ``audit verify``) find moto through it."""
    from werkzeug.test import Client

    from callproof_local import cli
    from callproof_local.usage import UsageError

    answer = requests.get(f"{stack.url}/_local/aws", timeout=10)
    assert (answer.status_code, answer.json()) == (
        200,
        {"endpoint_url": stack.moto_url, "region": "us-east-1"},
    )
    assert cli._local_aws_endpoint(stack.url + "/") == stack.moto_url
    client = Client(gateway.Gateway([], stack.moto_url, lambda name: None))
    assert client.get("/_local/aws", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 403
    assert client.post("/_local/aws").status_code == 404
    with pytest.raises(UsageError, match="is not a local stack's gateway; for a deployment pass --table"):
        cli._local_aws_endpoint(stack.moto_url)  # moto itself, say: no /_local/aws there
