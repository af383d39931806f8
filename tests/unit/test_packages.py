"""Per-function packages (ADR 0012): each function carries the layers its modules import, only those,
and its unzipped package stays under the size limits.

The file lists come from tools/packages.py (the venv's RECORD files, pruned as tools/layer_build.py
prunes, bytecode estimated); no network, no aarch64 download. The real aarch64 build's figures are in
ADR 0012 (`python -m tools.packages` prints these estimates).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tools import packages
from tools.layer_build import canonical

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000
# Issue 14: every function's package (code and layers, unzipped) under a quarter of Lambda's 250 MiB.
LIMIT = 250 * 2**20 // 4
# Scheduled and queue / stream functions with neither Google nor Twilio: DynamoDB, and little else.
SMALL_LIMIT = 30 * MB
SMALL_TRIGGERS = frozenset({"Schedule", "ScheduleV2", "SQS", "DynamoDB"})
PROVIDER_LAYERS = frozenset({"GoogleLayer", "OAuthLayer", "TwilioLayer"})
FUNCTIONS = packages.functions()
LAYERS = packages.layers()


@cache
def _graph() -> packages.ImportGraph:
    return packages.ImportGraph()


@cache
def _layer_sizes() -> dict[str, int]:
    return {lid: sum(packages.layer_files(layer).values()) for lid, layer in LAYERS.items()}


def _small(function: packages.Function) -> bool:
    return (
        bool(function.triggers)
        and function.triggers <= SMALL_TRIGGERS
        and not PROVIDER_LAYERS & set(function.layers)
    )


def test_every_function_has_the_core_layer_first() -> None:
    for function in FUNCTIONS.values():
        assert function.layers[0] == "CoreLayer", function.logical_id
        assert len(function.layers) == len(set(function.layers)) <= 5, function.logical_id  # Lambda: 5 layers


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_carries_exactly_the_layers_it_imports(logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    needed = packages.needed_distributions(function, _graph())
    provided: dict[str, list[str]] = {}
    for layer in function.layers:
        for distribution in LAYERS[layer].spec.pins:
            provided.setdefault(distribution, []).append(layer)
    missing = sorted(needed - set(provided))
    assert not missing, f"{logical_id} imports {missing}, which none of its layers {function.layers} ships"
    twice = {name: where for name, where in provided.items() if len(where) > 1}
    assert not twice, f"{logical_id}: distributions shipped by two of its layers: {twice}"
    unused = [layer for layer in function.layers[1:] if not needed & set(LAYERS[layer].spec.pins)]
    assert not unused, f"{logical_id} carries {unused}, which none of its modules imports: drop it"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_package_size(logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    size = packages.package_size(function, _layer_sizes())
    limit = SMALL_LIMIT if _small(function) else LIMIT
    print(f"{logical_id}: {size / MB:.1f} MB unzipped (limit {limit / MB:.0f} MB)")
    assert size <= limit, f"{logical_id}: {size / MB:.1f} MB unzipped, over {limit / MB:.0f} MB"


def test_the_small_set_is_the_dynamodb_only_schedules_and_workers() -> None:
    small = {lid for lid, function in FUNCTIONS.items() if _small(function)}
    assert {"DsarDeadlinesFunction", "CallRetentionFunction", "CallRematchFunction"} <= small


def test_pins_are_what_the_venv_runs() -> None:
    """The layers ship the versions the tests ran on, and a distribution two layers ship is one pin."""
    pins: dict[str, str] = {}
    for layer in LAYERS.values():
        for name, version in layer.spec.pins.items():
            assert metadata.version(name) == version, (
                f"{layer.logical_id}: {name}=={version}, venv has {metadata.version(name)}"
            )
            assert pins.setdefault(name, version) == version, name


def test_each_layer_ships_what_its_distributions_require() -> None:
    """Every requirement of a shipped distribution is in a layer every function with it has, or left
    out on purpose (``# without:``, checked by the smoke test below)."""
    without = packages.shipped_without()
    for function in FUNCTIONS.values():
        shipped = {name for layer in function.layers for name in LAYERS[layer].spec.pins}
        for name in shipped:
            lacking = packages.requirements_of(name) - shipped - set(without)
            assert not lacking, (
                f"{function.logical_id}: {name} requires {sorted(lacking)}, in none of its layers"
            )


def test_pyproject_installs_every_layer() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for layer in LAYERS.values():
        assert f"{layer.spec.folder.relative_to(ROOT).as_posix()}/requirements.txt" in text


def _string_calls(attribute: str) -> set[tuple[str, ...]]:
    found = set()
    for path in (ROOT / "layers" / "core" / "callproof").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == attribute
            ):
                strings = [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if strings:
                    found.add(tuple(strings))
    return found


def test_botocore_keeps_the_model_of_every_client_the_code_creates() -> None:
    services = {args[0] for args in _string_calls("client")}
    assert {"dynamodb", "s3", "kms"} <= services
    core = LAYERS["CoreLayer"].spec
    for service in services:
        assert not core.pruned(f"botocore/data/{service}/2000-01-01/service-2.json.gz"), service
    assert core.pruned("botocore/data/ec2/2016-11-15/service-2.json.gz")


def test_googleapiclient_keeps_the_documents_the_code_builds() -> None:
    built = {args[:2] for args in _string_calls("build") if len(args) >= 2}
    assert built == {("gmail", "v1"), ("people", "v1")}
    google = LAYERS["GoogleLayer"].spec
    for name, version in built:
        assert not google.pruned(f"googleapiclient/discovery_cache/documents/{name}.{version}.json")
    assert google.pruned("googleapiclient/discovery_cache/documents/drive.v3.json")


def _absent_files() -> list[str]:
    """Absolute paths, in this venv, of what no layer ships: left-out distributions, pruned files."""
    absent = []
    for name in packages.shipped_without():
        distribution = metadata.distribution(name)
        absent += [str(Path(str(distribution.locate_file(f))).resolve()) for f in distribution.files or []]
    for layer in LAYERS.values():
        for name in layer.spec.pins:
            distribution = metadata.distribution(name)
            for entry in distribution.files or []:
                if layer.spec.pruned(entry.as_posix()) and not entry.as_posix().startswith(".."):
                    path = Path(str(distribution.locate_file(entry))).resolve()
                    absent.append(str(path))
                    if path.suffix == ".py":
                        absent.append(str(path.parent / "__pycache__" / f"{path.stem}.cpython-311.pyc"))
    shipped = {canonical(n) for layer in LAYERS.values() for n in layer.spec.pins}
    assert not shipped & set(packages.shipped_without())
    return absent


def test_the_code_runs_without_what_the_layers_leave_out() -> None:
    """Every function's module, and what they build from the SDKs, loads with the left-out distributions
    and the pruned files made unreadable (tests/unit/packaging_smoke.py, in a fresh interpreter)."""
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, str(Path(__file__).with_name("packaging_smoke.py"))],
        input=json.dumps(_absent_files()),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok"), result.stdout


def test_the_smoke_test_notices_a_missing_file() -> None:
    google = LAYERS["GoogleLayer"].spec
    document = Path(str(metadata.distribution("google-api-python-client").locate_file(
        "googleapiclient/discovery_cache/documents/gmail.v1.json"
    ))).resolve()  # fmt: skip
    assert not google.pruned("googleapiclient/discovery_cache/documents/gmail.v1.json")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, str(Path(__file__).with_name("packaging_smoke.py"))],
        input=json.dumps([str(document)]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "gmail.v1.json" in result.stderr


def _needs(tmp_path: Path, source: str) -> set[str]:
    app = tmp_path / "app.py"
    app.write_text(source)
    function = packages.Function("Probe", tmp_path, ("CoreLayer",), frozenset())
    return packages.needed_distributions(function, _graph())


def test_the_analysis_follows_the_builders_a_handler_calls(tmp_path: Path) -> None:
    """A builder's lazy imports count only for the handlers that call it (directly or through others)."""
    assert "twilio" in _needs(tmp_path, "from callproof import wiring\nwiring.sms()\n")
    assert "google-api-python-client" in _needs(
        tmp_path, "from callproof import wiring\nwiring.dsar_tasks()\n"
    )
    quiet = _needs(tmp_path, "from callproof import wiring\nwiring.dsar_requests()\n")
    assert not quiet & {"twilio", "google-api-python-client", "requests-oauthlib", "cryptography"}
    assert "cryptography" in _needs(tmp_path, "import callproof.store.token_vault_kms\n")
