"""Declared dependencies, their lock files and the code's imports agree (issue 18, point 2; ADR 0015).

* every third-party module the code imports belongs to a distribution declared for the place it runs:
  the layers' requirements for the deployed code (``callproof`` and the functions), plus
  pyproject.toml's ``local`` extra for the local stack, plus its ``dev`` extra for the tests, tools
  and benches (imports under ``if TYPE_CHECKING:`` count as dev), requirements-tools.txt for the
  scripts the tools venv runs;
* every declared distribution is imported somewhere it is declared for, required by one that is, or
  named below as a tool run by command;
* each lock file locks exactly its inputs' pins, and every requirement in it carries hashes (the
  Makefile installs them with ``--require-hashes``);
* type stubs match their libraries' versions.

The checks are functions of their inputs, so the tests at the end show that removing a declared
dependency or adding an undeclared import makes them fail.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from tests.support import ROOT

FIRST_PARTY = frozenset({"callproof", "callproof_local", "tests", "tools", "bench", "app", "conftest"})
# Scripts the tools venv (.venv-tools) runs, not the dev venv.
TOOLS_VENV_SCRIPTS = ("tools/sam_transform.py",)
# Declared distributions used by command or as plugins, never imported: why each is declared.
USED_WITHOUT_IMPORT = {
    "ruff": "make lint (ruff check, ruff format)",
    "mypy": "make typecheck",
    "pytest-xdist": "make test (pytest -n 2)",
    "pytest-randomly": "random test order (a pytest plugin)",
    "mutmut": "make mutate (tools/mutate.py runs it)",
    "setuptools": "builds the editable callproof install (make install)",
    "cfn-lint": "make check-template",
    "checkov": "make check-template",
    "aws-sam-cli": "make build (sam build), sam validate, sam deploy",
    "uv": "make lock",
    "aws-xray-sdk": "Powertools' Tracer imports it (aws-lambda-powertools' tracer extra)",
}
# typeshed's newest stubs for a library whose minor version moved on (checked: no newer stub exists).
STUB_LAG = {"types-requests": "2.33 is typeshed's newest; types-requests-oauthlib needs requests>=2.34"}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: Iterable[str]) -> dict[str, str]:
    """``name==version`` requirements (extras dropped) by canonical name; comments and hashes skipped."""
    found = {}
    for line in lines:
        if match := _PIN.match(line.strip()):
            found[canonical(match[1])] = match[2]
    return found


def pins_of(path: Path) -> dict[str, str]:
    return pins(path.read_text().splitlines())


def layer_folders() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "layers").glob("*/requirements.txt"))


@dataclass(frozen=True)
class Declared:
    runtime: frozenset[str]  # the layers' requirements (each layer's whole closure)
    local: frozenset[str]  # pyproject.toml's local extra
    dev: frozenset[str]  # pyproject.toml's dev extra
    tools: frozenset[str]  # requirements-tools.txt
    extras: frozenset[str] = frozenset()  # what the declared extras add (moto[server]: flask, docker, ...)

    def for_scope(self, scope: str) -> frozenset[str]:
        return {
            "runtime": self.runtime,
            "local": self.runtime | self.local,
            "dev": self.runtime | self.local | self.dev,
            "tools": self.tools,
        }[scope]


def extras_of(requirements: Iterable[str]) -> frozenset[str]:
    """What the requested extras add (``boto3-stubs[s3]``: mypy-boto3-s3), by the installed metadata."""
    names: set[str] = set()
    for requirement in requirements:
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\[([^\]]+)\]", requirement.strip()):
            extras = {extra.strip() for extra in match[2].split(",")}
            for needed in metadata.requires(match[1]) or ():
                if any(re.search(rf"extra\s*==\s*[\"']{re.escape(e)}[\"']", needed) for e in extras):
                    names.add(canonical(re.split(r"[\s\[;<>=!~(]", needed, maxsplit=1)[0]))
    return frozenset(names)


def declared() -> Declared:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    runtime: set[str] = set()
    for folder in layer_folders():
        runtime |= set(pins_of(folder / "requirements.txt"))
    return Declared(
        runtime=frozenset(runtime),
        local=frozenset(pins(extras["local"])) | extras_of(extras["local"]),
        dev=frozenset(pins(extras["dev"]))
        | extras_of(extras["dev"])
        | frozenset(pins_of(ROOT / "requirements-dev.txt")),
        tools=frozenset(pins_of(ROOT / "requirements-tools.txt")),
        extras=extras_of([*extras["local"], *extras["dev"]]),
    )


# -- the code's imports


@dataclass(frozen=True)
class Import:
    module: str  # dotted, as written
    file: str  # relative to the repository
    scope: str  # runtime, local, dev, tools


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    if hasattr(inner, "lineno"):
                        lines.add(inner.lineno)
    return lines


def imports_of(source: str, file: str, scope: str) -> list[Import]:
    tree = ast.parse(source)
    typing_only = _type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in FIRST_PARTY:
                continue
            found.append(Import(module, file, "dev" if node.lineno in typing_only else scope))
    return found


def scope_of(relative: str) -> str:
    if relative in TOOLS_VENV_SCRIPTS:
        return "tools"
    if relative.startswith(("layers/", "functions/")):
        return "runtime"
    if relative.startswith("local/"):
        return "local"
    return "dev"


def code_imports() -> list[Import]:
    found = []
    for folder in ("layers/core/callproof", "functions", "local/callproof_local", "tests", "tools", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found += imports_of(path.read_text(encoding="utf-8"), relative, scope_of(relative))
    return found


# -- which distribution a module belongs to


def module_owners(distributions: Iterable[metadata.Distribution]) -> dict[str, set[str]]:
    """Module names (first and second level, for namespace packages like ``google``) -> distributions."""
    owners: dict[str, set[str]] = {}
    for dist in distributions:
        name = canonical(dist.metadata["Name"])
        for file in dist.files or ():
            parts = file.parts
            if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] in ("..", "bin"):
                continue
            if len(parts) == 1 and not parts[0].endswith((".py", ".so", ".pyd")):
                continue
            first = parts[0].split(".")[0]
            owners.setdefault(first, set()).add(name)
            if len(parts) > 1:
                owners.setdefault(f"{first}.{parts[1].split('.')[0]}", set()).add(name)
    return owners


def owner(module: str, owners: Mapping[str, set[str]]) -> set[str]:
    parts = module.split(".")
    second = ".".join(parts[:2])
    if len(parts) > 1 and len(owners.get(parts[0], ())) > 1 and second in owners:
        return owners[second]  # a namespace package: the distribution of its subpackage
    return owners.get(parts[0], set())


def undeclared(
    imports: Iterable[Import], owners_by_scope: Mapping[str, Mapping[str, set[str]]], declared: Declared
) -> list[str]:
    problems = []
    for item in imports:
        found = owner(item.module, owners_by_scope[item.scope])
        allowed = declared.for_scope(item.scope)
        if not found:
            problems.append(f"{item.file}: imports {item.module}, which no installed distribution provides")
        elif not found & allowed:
            problems.append(
                f"{item.file}: imports {item.module} ({', '.join(sorted(found))}), not declared for "
                f"{item.scope} code"
            )
    return sorted(set(problems))


def requirements_of(name: str, installed: Mapping[str, metadata.Distribution]) -> set[str]:
    dist = installed.get(name)
    if dist is None:
        return set()
    names = set()
    for requirement in dist.requires or ():
        if "extra ==" in requirement:
            continue
        names.add(canonical(re.split(r"[\s\[;<>=!~(]", requirement, maxsplit=1)[0]))
    return names


def unused(
    imports: Iterable[Import],
    owners_by_scope: Mapping[str, Mapping[str, set[str]]],
    declared: Declared,
    installed: Mapping[str, metadata.Distribution],
) -> list[str]:
    """Declared distributions nothing imports, none of them requires, and no command uses."""
    imports = list(imports)
    imported = {item.module.split(".")[0] for item in imports}
    used = set(USED_WITHOUT_IMPORT) | (
        declared.extras - {n for n in declared.extras if n.startswith("mypy-boto3-")}
    )
    for item in imports:
        used |= owner(item.module, owners_by_scope[item.scope])
    everything = declared.runtime | declared.local | declared.dev | declared.tools
    needed = set(used)
    for name in everything & used:
        needed |= requirements_of(name, installed)
    for name in everything:
        if name.startswith("types-") or name.endswith("-stubs"):  # stubs: checked against their library
            needed.add(name)
        if name.startswith("mypy-boto3-") and name.replace("-", "_") in imported:
            needed.add(name)  # a service's stubs (boto3-stubs[service]) are used where imported
    # the layers pin their whole closures: a pin is needed when a needed pin requires it
    frontier = set(needed)
    while frontier:
        frontier = {r for name in frontier for r in requirements_of(name, installed)} - needed
        needed |= frontier
    return sorted(everything - needed)


# -- the tests


@pytest.fixture(scope="module")
def owners_by_scope() -> dict[str, dict[str, set[str]]]:
    dev = module_owners(metadata.distributions())
    tools_site = sorted((ROOT / ".venv-tools" / "lib").glob("python3*/site-packages"))
    if not tools_site:
        pytest.skip(".venv-tools is not installed (make tools): the tools venv's imports cannot be mapped")
    tools = module_owners(metadata.distributions(path=[str(tools_site[0])]))
    return {"runtime": dev, "local": dev, "dev": dev, "tools": tools}


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return code_imports()


@pytest.fixture(scope="module")
def installed() -> dict[str, metadata.Distribution]:
    return {canonical(d.metadata["Name"]): d for d in metadata.distributions()}


def test_every_imported_third_party_module_is_declared(
    imports: list[Import], owners_by_scope: dict[str, dict[str, set[str]]]
) -> None:
    assert undeclared(imports, owners_by_scope, declared()) == []


def test_every_declared_distribution_is_used(
    imports: list[Import],
    owners_by_scope: dict[str, dict[str, set[str]]],
    installed: dict[str, metadata.Distribution],
) -> None:
    assert unused(imports, owners_by_scope, declared(), installed) == []


def test_removing_a_declared_dependency_or_adding_an_undeclared_import_fails(
    imports: list[Import],
    owners_by_scope: dict[str, dict[str, set[str]]],
    installed: dict[str, metadata.Distribution],
) -> None:
    real = declared()
    without_pyyaml = Declared(real.runtime, real.local - {"pyyaml"}, real.dev, real.tools, real.extras)
    assert (
        "local/callproof_local/template.py: imports yaml (pyyaml), not declared for local code"
        in undeclared(imports, owners_by_scope, without_pyyaml)
    )
    without_twilio = Declared(real.runtime - {"twilio"}, real.local, real.dev, real.tools, real.extras)
    assert any("imports twilio" in p for p in undeclared(imports, owners_by_scope, without_twilio))
    added = imports_of("import moto\n", "layers/core/callproof/new.py", "runtime")
    assert undeclared(added, owners_by_scope, real) == [
        "layers/core/callproof/new.py: imports moto (moto), not declared for runtime code"
    ]
    unknown = imports_of("import not_a_package_anywhere\n", "tests/new.py", "dev")
    assert undeclared(unknown, owners_by_scope, real) == [
        "tests/new.py: imports not_a_package_anywhere, which no installed distribution provides"
    ]
    typing_only = imports_of(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mypy_boto3_s3\n",
        "layers/x.py",
        "runtime",
    )
    assert [i.scope for i in typing_only] == ["dev"]
    with_extra = Declared(real.runtime, real.local, real.dev | {"ply"}, real.tools, real.extras)
    assert unused(imports, owners_by_scope, with_extra, installed) == ["ply"]


def _lock_problems(lock: Path, inputs: Mapping[str, str]) -> list[str]:
    """A lock's pins must include every input pin at the same version, each with hashes."""
    text = lock.read_text()
    locked = pins(text.splitlines())
    problems = [
        f"{lock.name}: {name}=={version} is locked as {locked.get(name)}"
        for name, version in inputs.items()
        if locked.get(name) != version
    ]
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if _PIN.match(block) and "--hash=sha256:" not in block:
            problems.append(f"{lock.name}: {block.splitlines()[0]} has no hash")
        elif block.strip() and not block.startswith("#") and not _PIN.match(block):
            problems.append(f"{lock.name}: not a pinned requirement: {block.splitlines()[0]}")
    return problems


def test_each_layer_lock_is_exactly_its_requirements_with_hashes() -> None:
    for folder in layer_folders():
        lock = folder / "requirements.lock"
        required = pins_of(folder / "requirements.txt")
        assert pins_of(lock) == required, f"{lock} is stale: run `make lock`"
        assert _lock_problems(lock, required) == []


def test_the_venv_locks_lock_their_inputs_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev_inputs = {
        **pins(line for extra in project["optional-dependencies"].values() for line in extra),
        **pins_of(ROOT / "requirements-dev.txt"),
    }
    for folder in layer_folders():
        dev_inputs |= pins_of(folder / "requirements.txt")
    assert _lock_problems(ROOT / "requirements-dev.lock", dev_inputs) == [], "run `make lock`"
    assert _lock_problems(ROOT / "requirements-tools.lock", pins_of(ROOT / "requirements-tools.txt")) == []
    assert (
        _lock_problems(ROOT / "requirements-checkov.lock", pins_of(ROOT / "requirements-checkov.txt")) == []
    )
    # the bootstrap: pip installs uv alone, from its own lock, before uv installs the rest
    uv = {"uv": pins_of(ROOT / "requirements-tools.txt")["uv"]}
    assert pins_of(ROOT / "requirements-uv.lock") == uv
    assert _lock_problems(ROOT / "requirements-uv.lock", uv) == []


def test_the_lock_check_notices_a_stale_pin_and_a_missing_hash(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("a==1.0 \\\n    --hash=sha256:00\nb==2.0\n    # via c\n")
    assert _lock_problems(lock, {"a": "1.1"}) == [
        "x.lock: a==1.1 is locked as 1.0",
        "x.lock: b==2.0 has no hash",
    ]


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def stub_problems(locked: Mapping[str, str]) -> list[str]:
    problems = []
    for name, version in sorted(locked.items()):
        if name in ("boto3-stubs", "botocore-stubs"):
            library = name.removesuffix("-stubs")
        elif name.startswith("mypy-boto3-"):
            library = "boto3"
        elif name.startswith("types-"):
            library = name.removeprefix("types-")
        else:
            continue
        if library not in locked:
            problems.append(f"{name} {version}: its library {library} is not locked")
        elif _release(version) != _release(locked[library]) and name not in STUB_LAG:
            problems.append(f"{name} {version} does not match {library} {locked[library]}")
    return problems


def test_stub_versions_match_their_libraries() -> None:
    locked = pins_of(ROOT / "requirements-dev.lock")
    assert stub_problems(locked) == []
    assert locked["boto3-stubs"] == locked["boto3"]  # the SDK and its stubs: one release
    assert stub_problems({**locked, "boto3": "1.44.8"})[0].startswith("boto3-stubs 1.43.126 does not match")
