"""tools/layer_build.py installs only the hashed lock, for the platform asked; tools/python312.py (ADR 0015)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tools import layer_build, python312


def _layer(tmp_path: Path, requirements: str, lock: str) -> Path:
    folder = tmp_path / "layer"
    folder.mkdir()
    (folder / "requirements.txt").write_text(requirements)
    (folder / "requirements.lock").write_text(lock)
    return folder


def test_a_lock_that_does_not_lock_the_requirements_stops_the_build_before_anything_installs(
    tmp_path: Path,
) -> None:
    folder = _layer(tmp_path, "six==1.17.0\nidna==3.20\n", "six==1.17.0 \\\n    --hash=sha256:00\n")
    with pytest.raises(SystemExit, match=r"does not lock .*run `make lock`"):
        layer_build.build(folder, tmp_path / "out", python="/nonexistent/python3.12")
    assert not any((tmp_path / "out" / "python").iterdir())


def test_the_locked_pins_are_read_past_hashes_and_comments(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# via make lock\nSix==1.17.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
        "    # via -r requirements.txt\ntyping_extensions==4.16.0 \\\n    --hash=sha256:cc\n"
    )
    assert layer_build.locked_pins(lock) == {"six": "1.17.0", "typing-extensions": "4.16.0"}


def test_pip_and_uv_install_the_lock_with_hashes_for_the_platform_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock, target = tmp_path / "requirements.lock", tmp_path / "python"
    monkeypatch.delenv("LAYER_UV", raising=False)
    pip = layer_build.install_command("python3.12", "manylinux2014_aarch64", target, lock)
    assert pip[:3] == ["python3.12", "-m", "pip"]
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(pip)
    assert pip[pip.index("--platform") + 1] == "manylinux2014_aarch64"
    assert pip[pip.index("--requirement") + 1] == str(lock)

    monkeypatch.setenv("LAYER_UV", "/tools/uv")
    uv = layer_build.install_command("python3.12", "manylinux2014_x86_64", target, lock)
    assert uv[:3] == ["/tools/uv", "pip", "install"]
    assert {"--require-hashes", "--no-deps"} <= set(uv)
    assert uv[uv.index("--python-platform") + 1] == "x86_64-manylinux2014"
    assert uv[uv.index("--only-binary") + 1] == ":all:"
    assert uv[uv.index("--target") + 1] == str(target)


def test_python312_is_none_without_pyenv_or_path_and_found_in_pyenv_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert python312.find() is None

    fake = tmp_path / "pyenv" / "versions" / "3.12.9" / "bin" / "python3.12"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho True\n")  # answers the version probe as a 3.12 would
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    older = tmp_path / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12"
    older.parent.mkdir(parents=True)
    older.write_text("#!/bin/sh\nexit 1\n")
    older.chmod(older.stat().st_mode | stat.S_IEXEC)
    assert python312.find() == str(fake)
    fake.write_text("#!/bin/sh\necho False\n")  # another version
    assert python312.find() is None
    assert os.environ["PATH"] == str(tmp_path / "bin")
