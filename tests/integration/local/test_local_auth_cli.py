"""The local token authority and the ``callproof`` CLI (token, local on a taken port)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callproof_local import auth, cli
from tests.fixtures.local_stack import FIXTURE_TEMPLATE


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALLPROOF_LOCAL_HOME", str(tmp_path))
    return tmp_path


def test_mint_and_verify_roundtrip(home: Path) -> None:
    claims = auth.verify(auth.mint("org_1", "user-1", ["rep", "admin", "rep"], ttl=120))
    assert claims["sub"] == "user-1"
    assert claims["custom:org_id"] == "org_1"
    assert claims["cognito:groups"] == ["admin", "rep"]
    assert claims["token_use"] == "id"
    assert claims["iss"] == auth.ISSUER
    assert claims["aud"] == auth.CLIENT_ID
    assert claims["exp"] - claims["iat"] == 120
    assert claims["auth_time"] == claims["iat"]


def test_key_is_created_once_and_private(home: Path) -> None:
    token = auth.mint("o", "u", ["rep"])
    key = home / auth.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    auth.mint("o", "u", ["rep"])
    assert key.read_bytes() == before
    assert [p.name for p in home.iterdir()] == [auth.KEY_FILE]
    assert auth.verify(token)["sub"] == "u"


def test_tokens_from_another_key_are_rejected(
    home: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = auth.mint("o", "u", ["rep"])
    monkeypatch.setenv("CALLPROOF_LOCAL_HOME", str(tmp_path_factory.mktemp("other")))
    with pytest.raises(auth.TokenError, match="Signature"):
        auth.verify(token)


def test_expired_token_is_rejected(home: Path) -> None:
    past = time.time() - 7200
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr(auth.time, "time", lambda: past)
        token = auth.mint("o", "u", ["rep"], ttl=60)
    with pytest.raises(auth.TokenError, match="expired"):
        auth.verify(token)


@pytest.mark.parametrize(
    ("org", "user", "roles", "message"),
    [
        ("", "u", ["rep"], "org id"),
        ("-org", "u", ["rep"], "org id"),
        ("o" * 65, "u", ["rep"], "org id"),
        ("o", "u/1", ["rep"], "user id"),
        ("o", "u", ["root"], "unknown role"),
    ],
)
def test_invalid_identities(home: Path, org: str, user: str, roles: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auth.mint(org, user, roles)


def test_cli_token_prints_a_verifiable_jwt(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.main(
            [
                "token",
                "--org",
                "acme",
                "--user",
                "ada",
                "--role",
                "rep",
                "--role",
                "compliance",
                "--ttl",
                "60",
            ]
        )
        == 0
    )
    claims = auth.verify(capsys.readouterr().out.strip())
    assert (claims["custom:org_id"], claims["cognito:groups"]) == ("acme", ["compliance", "rep"])


def test_cli_token_bad_org_exits_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["token", "--org", "bad org", "--user", "ada", "--role", "rep"]) == 2
    assert "invalid org id" in capsys.readouterr().err


def test_cli_run_schedule_without_a_stack_exits_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run-schedule", "Nightly"]) == 2
    assert "no running local stack" in capsys.readouterr().err


def test_second_instance_on_a_taken_port_exits_2(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-m",
                "callproof_local.cli",
                "local",
                "--port",
                str(port),
                "--template",
                str(FIXTURE_TEMPLATE),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CALLPROOF_LOCAL_HOME": str(home)},
        )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.stderr
