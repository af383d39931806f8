"""Find python3.12, the functions' runtime, for `make build` and the built-artifact tests (ADR 0015).

Prints the interpreter's path, or nothing where there is none. The newest 3.12 that pyenv has comes
first (these machines have 3.12.1 through pyenv, not selected by default), then a ``python3.12`` on
PATH that runs (a pyenv shim with no 3.12 selected does not). Only the standard library here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VERSION = (3, 12)


def _runs_as_312(python: str) -> bool:
    try:
        result = subprocess.run(  # noqa: S603 - a fixed argv
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == "True"


def _pyenv_candidates() -> list[str]:
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found_312 = [p for p in versions.glob("3.12.*") if p.name.replace("3.12.", "", 1).isdigit()]
    found_312.sort(key=lambda p: int(p.name.split(".")[2]), reverse=True)
    return [str(p / "bin" / "python3.12") for p in found_312]


def find() -> str | None:
    """The path of a working python3.12, or None."""
    for candidate in [*_pyenv_candidates(), shutil.which("python3.12")]:
        if candidate and Path(candidate).exists() and _runs_as_312(candidate):
            return candidate
    return None


if __name__ == "__main__":
    python = find()
    if python:
        print(python)
    sys.exit(0)
