"""The shape of the code (../shared/DESIGN.md section 2, ADR 0010), checked on the real import graph:
the import-linter contracts of pyproject.toml hold, each of them breaks when its rule is broken (an
import is added to a copy of the graph), no module takes part in an import cycle, the deployed layer
holds no local-stack code, files stay small, and each function loads with the garbage collector paused."""

from __future__ import annotations

import ast
import copy
import pathlib

import grimp
import pytest
from importlinter.application import use_cases
from importlinter.configuration import configure

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "core"

configure()


@pytest.fixture(scope="module")
def options() -> use_cases.UserOptions:
    read = use_cases.read_user_options(str(ROOT / "pyproject.toml"))
    use_cases._register_contract_types(read)
    return read


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "callproof", "callproof_local", include_external_packages=True, exclude_type_checking_imports=True
    )


def broken(graph: grimp.ImportGraph, options: use_cases.UserOptions) -> set[str]:
    report = use_cases._build_report(graph, 0, options, (), False, False)
    return {
        contract.contract_options["id"]
        for contract, check in report.get_contracts_and_checks()
        if not check.kept
    }


def test_every_contract_holds(graph: grimp.ImportGraph, options: use_cases.UserOptions) -> None:
    assert broken(graph, options) == set()


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        ("callproof.contacts.service", "callproof.store.contacts_dynamo", "domains-inward"),
        ("callproof.dsar.service", "callproof.wiring", "domains-inward"),
        ("callproof.sms.service", "boto3", "domains-no-sdk"),
        ("callproof.store.contacts_dynamo", "callproof.contacts.service", "adapters-no-service"),
        ("callproof.http", "callproof_local.gateway", "layer-no-local"),
        ("callproof.dsar.model", "callproof.dsar.api", "no-cycles"),
    ],
)
def test_each_contract_breaks_with_its_rule(
    graph: grimp.ImportGraph, options: use_cases.UserOptions, importer: str, imported: str, contract: str
) -> None:
    changed = copy.deepcopy(graph)
    changed.add_import(importer=importer, imported=imported)
    assert contract in broken(changed, options)


def _in_cycles(graph: grimp.ImportGraph, modules: set[str]) -> set[str]:
    """The modules that reach themselves through their imports (the graph is a few hundred modules:
    one walk per module is plenty)."""

    def imports(module: str) -> set[str]:
        return graph.find_modules_directly_imported_by(module) & modules

    looping = set()
    for start in modules:
        seen, todo = set(), list(imports(start))
        while todo:
            module = todo.pop()
            if module == start:
                looping.add(start)
                break
            if module not in seen:
                seen.add(module)
                todo.extend(imports(module))
    return looping


def test_no_module_takes_part_in_an_import_cycle(graph: grimp.ImportGraph) -> None:
    ours = {m for m in graph.modules if m.split(".")[0] in ("callproof", "callproof_local")}
    assert _in_cycles(graph, ours) == set()
    changed = copy.deepcopy(graph)
    changed.add_import(importer="callproof.dsar.model", imported="callproof.dsar.api")
    assert "callproof.dsar.model" in _in_cycles(changed, ours), "the walk must see a cycle it is given"


def test_the_layer_holds_only_cloud_code() -> None:
    """What `sam build` copies from ContentUri: no local stack, no moto, no test double."""
    files = [path.relative_to(LAYER).as_posix() for path in LAYER.rglob("*.py")]
    assert files, "the layer has no Python files"
    assert all(name.startswith("callproof/") for name in files), files
    suspicious = [n for n in files if any(part in n for part in ("local", "moto", "double", "fake", "test"))]
    assert suspicious == []
    text = "\n".join((LAYER / name).read_text() for name in files)
    assert "callproof_local" not in text
    assert "import moto" not in text
    assert "from moto" not in text


def test_files_stay_small() -> None:
    too_long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in (LAYER / "callproof").rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    }
    handlers = {
        path.relative_to(ROOT).as_posix(): lines
        for path in (ROOT / "functions").glob("*/app.py")
        if (lines := len(path.read_text().splitlines())) > 200
    }
    assert too_long == {}
    assert handlers == {}


@pytest.mark.parametrize(
    "handler", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name
)
def test_each_function_loads_with_the_garbage_collector_paused(handler: pathlib.Path) -> None:
    """ADR 0013: a function pauses the collector before its first import and resumes it as its module's
    last statement (collecting what loading makes, which lives as long as the environment, was about a
    sixth of a cold start)."""
    body = ast.parse(handler.read_text()).body
    code = [
        node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    code = [node for node in code if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
    assert [ast.unparse(node) for node in code[:2]] == ["import gc", "gc.disable()"]
    assert ast.unparse(code[-1]) == "gc.enable()"
