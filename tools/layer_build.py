"""Build one Lambda layer the way `sam build` does it (``BuildMethod: makefile``), and the rules it follows.

Usage (from a layer's Makefile; `sam build` sets ARTIFACTS_DIR)::

    python3.12 tools/layer_build.py layers/google "$ARTIFACTS_DIR"

A layer folder (``layers/<name>/``, ADR 0012) holds:

* ``requirements.txt``: every distribution the layer ships, pinned (``name==version``), dependencies
  included, so a layer holds exactly what is listed and nothing another layer already ships. A dependency deliberately left
  out is a comment ``# without: <name>: <why>`` (the test in tests/unit/test_packages.py checks that
  everything else a listed distribution requires is in the function's layers);
* ``requirements.lock``: the same pins with the sha256 of every file PyPI has for them (``make lock``,
  ADR 0015). pip installs it with ``--require-hashes --no-deps`` for python3.12 on manylinux2014
  aarch64 (``LAYER_PLATFORM`` names another platform: ``make build-host`` builds for this machine so
  the built functions can run here); a lock whose pins differ from ``requirements.txt`` stops the build;
* ``prune.txt`` (optional): files of those distributions the code never loads, as globs on the path
  inside ``python/`` (``*`` also crosses ``/``); a line starting with ``!`` keeps what it matches;
* packages of our own (a folder with ``__init__.py``, e.g. ``callproof/`` in ``layers/core``), copied in.

Then every ``.py`` is compiled for python3.12 with ``unchecked-hash`` invalidation: Lambda cannot write
``.pyc`` under ``/opt``, and an unchecked pyc is used whatever the zip did to the source's mtime.

Only the standard library here: the build runs it with the target's python3.12.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PLATFORM = "manylinux2014_aarch64"  # the template's arm64; LAYER_PLATFORM overrides (make build-host)
PYTHON_VERSION = "3.12"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#.*)?$")
_WITHOUT = re.compile(r"^#\s*without:\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*:\s*(.+)$")
# Console scripts pip writes under --target: never on a Lambda PATH.
_ALWAYS_PRUNED: tuple[str, ...] = ("bin/*",)


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class LayerSpec:
    folder: Path
    pins: dict[str, str]  # canonical distribution name -> version
    without: dict[str, str]  # canonical distribution name -> why it is not shipped
    prune: tuple[str, ...]  # glob rules, "!" keeps
    packages: tuple[str, ...]  # our own package folders copied in

    @classmethod
    def read(cls, folder: Path) -> LayerSpec:
        pins: dict[str, str] = {}
        without: dict[str, str] = {}
        for number, raw in enumerate((folder / "requirements.txt").read_text().splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                if match := _WITHOUT.match(line):
                    without[canonical(match[1])] = match[2].strip()
                continue
            match = _PIN.match(line)
            if match is None:
                raise ValueError(f"{folder}/requirements.txt:{number}: not a name==version pin: {line!r}")
            pins[canonical(match[1])] = match[2]
        prune_file = folder / "prune.txt"
        rules = _ALWAYS_PRUNED
        if prune_file.exists():
            rules += tuple(
                line.strip()
                for line in prune_file.read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")
            )
        packages = tuple(sorted(p.name for p in folder.iterdir() if (p / "__init__.py").is_file()))
        return cls(folder, pins, without, rules, packages)

    def pruned(self, relative: str) -> bool:
        """Whether the build deletes this file (a posix path inside ``python/``)."""
        return is_pruned(relative, self.prune)


def is_pruned(relative: str, rules: Sequence[str]) -> bool:
    dropped = any(fnmatch.fnmatchcase(relative, rule) for rule in rules if not rule.startswith("!"))
    return dropped and not any(
        fnmatch.fnmatchcase(relative, rule[1:]) for rule in rules if rule.startswith("!")
    )


def _files(root: Path) -> Iterable[Path]:
    return (path for path in root.rglob("*") if path.is_file() or path.is_symlink())


def locked_pins(lock: Path) -> dict[str, str]:
    """The ``name==version`` lines of a hashed lock file (continuation and comment lines skipped)."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            pins[canonical(match[1])] = match[2]
    return pins


def install_command(python: str, platform: str, target: Path, lock: Path) -> list[str]:
    """pip, or uv where ``LAYER_UV`` names it (the Makefile's builds: uv keeps a cache of the wheels it
    fetched, pip here does not): the same locked files, hash-checked, for the same platform."""
    uv = os.environ.get("LAYER_UV")
    if uv:
        tag, _, machine = platform.partition("_")  # manylinux2014_aarch64 -> aarch64-manylinux2014
        return [
            uv, "pip", "install", "--quiet", "--no-deps", "--no-compile", "--require-hashes",
            "--only-binary", ":all:", "--python", python, "--python-platform", f"{machine}-{tag}",
            "--python-version", PYTHON_VERSION, "--target", str(target), "--requirement", str(lock),
        ]  # fmt: skip
    return [
        python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--require-hashes",
        "--only-binary=:all:", "--platform", platform, "--python-version", PYTHON_VERSION,
        "--implementation", "cp", "--target", str(target), "--requirement", str(lock),
    ]  # fmt: skip


def build(folder: Path, artifacts: Path, python: str = sys.executable, platform: str = PLATFORM) -> Path:
    spec = LayerSpec.read(folder)
    target = artifacts / "python"
    target.mkdir(parents=True, exist_ok=True)
    if spec.pins:
        lock = folder / "requirements.lock"
        if locked_pins(lock) != spec.pins:
            raise SystemExit(f"{lock} does not lock {folder}/requirements.txt: run `make lock`")
        subprocess.run(install_command(python, platform, target, lock), check=True)  # noqa: S603 - fixed argv
    for package in spec.packages:
        shutil.copytree(
            folder / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for path in list(_files(target)):
        if spec.pruned(path.relative_to(target).as_posix()):
            path.unlink()
    for directory in sorted((p for p in target.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    subprocess.run(  # noqa: S603 - fixed argv
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)],
        check=True,
    )
    return target


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: layer_build.py LAYER_FOLDER ARTIFACTS_DIR", file=sys.stderr)
        return 2
    if sys.version_info[:2] != (3, 12):
        print("layer_build.py must run with python3.12 (the functions' runtime)", file=sys.stderr)
        return 2
    platform = os.environ.get("LAYER_PLATFORM") or PLATFORM
    target = build(Path(argv[0]).resolve(), Path(argv[1]).resolve(), platform=platform)
    size = sum(path.stat().st_size for path in _files(target))
    print(f"{argv[0]}: {size / 1e6:.1f} MB unzipped for {platform} in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
