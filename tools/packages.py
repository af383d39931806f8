"""What each function's deployed package holds, computed offline from the template, the code and the venv.

ADR 0012. For every function of infra/template.yaml:

* ``needed_distributions``: the third-party distributions its modules can import. The handler's imports
  and, through grimp's import graph, everything those modules import (lazy imports included). The
  composition root (``callproof.wiring*``) is the exception: its module-level imports always load, but
  a builder's own imports only when the function uses that builder (``wiring.gmail()`` in its app.py,
  or another builder that calls it), so the call graph inside those modules is followed instead.
  Their requirements follow (markers evaluated for python3.12 on Linux aarch64), except the ones a
  layer leaves out on purpose (``# without:``);
* ``layer_files``: the files each layer holds as tools/layer_build.py builds it: our package, and
  each pinned distribution's files from its RECORD in this venv, pruned, each ``.py`` with its
  compiled ``.pyc`` estimated from this venv's one (python3.11; x ``PYC_MARGIN``);
* ``package_size``: function code plus its layers, unzipped.

Sizes are estimates (host wheels, python3.11 bytecode): ADR 0012 records the real aarch64 build.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import grimp
from packaging.markers import Marker
from packaging.requirements import Requirement

from tools.layer_build import LayerSpec, canonical
from tools.sam_transform import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
TARGET_ENVIRONMENT = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "os_name": "posix",
    "extra": "",
}
PYC_MARGIN = 1.05  # python3.12 bytecode against this venv's python3.11 bytecode, with room
PYC_WITHOUT_CACHE = 1.5  # a .py with no cached bytecode here: its .pyc, relative to the source
_WIRING = re.compile(r"^callproof\.wiring(?:_\w+)?$")


# ------------------------------------------------------------------------------------------- the template
@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    layers: tuple[str, ...]  # layer logical ids, Globals first (SAM appends the function's own)
    triggers: frozenset[str]  # event types: Api, Schedule, SQS, DynamoDB...


@dataclass(frozen=True)
class Layer:
    logical_id: str
    spec: LayerSpec


def _ref(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return str(value["Ref"])
    raise ValueError(f"a layer must be a !Ref to a layer of the template, not {value!r}")


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = load_template(TEMPLATE)
    return loaded


def layers() -> dict[str, Layer]:
    found = {}
    for logical_id, resource in template()["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::LayerVersion":
            folder = (TEMPLATE.parent / resource["Properties"]["ContentUri"]).resolve()
            found[logical_id] = Layer(logical_id, LayerSpec.read(folder))
    return found


def functions() -> dict[str, Function]:
    globals_layers = [_ref(v) for v in template().get("Globals", {}).get("Function", {}).get("Layers", [])]
    found = {}
    for logical_id, resource in template()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        own = [_ref(v) for v in props.get("Layers", [])]
        found[logical_id] = Function(
            logical_id,
            (TEMPLATE.parent / props["CodeUri"]).resolve(),
            tuple(globals_layers + own),
            frozenset(str(event["Type"]) for event in props.get("Events", {}).values()),
        )
    return found


# ------------------------------------------------------------------------------------ what code imports
def _imports(body: Iterable[ast.stmt], *, nested: bool) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(module, names) of each import in ``body``; into function bodies only when ``nested``.
    ``if TYPE_CHECKING:`` blocks are skipped: they never run."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _imports(node.orelse, nested=nested)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, tuple(alias.name for alias in node.names)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not nested:
            continue
        for child in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, child, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt | ast.excepthandler):
                statements = [s for h in inner for s in h.body] if child == "handlers" else inner
                yield from _imports(statements, nested=nested)


@dataclass
class _WiringModule:
    imports: list[tuple[str, tuple[str, ...]]]  # module level
    names: dict[str, tuple[str, str]]  # name imported at module level -> (module, attribute)
    # top-level functions, and module-level values (a registry of builders) followed like them
    builders: dict[str, ast.FunctionDef | ast.Assign | ast.AnnAssign] = field(default_factory=dict)


class ImportGraph:
    """The callproof import graph (grimp) with the composition root read builder by builder."""

    def __init__(self) -> None:
        self.graph = grimp.build_graph(
            "callproof", include_external_packages=True, exclude_type_checking_imports=True
        )
        self.modules = self.graph.modules
        self._wiring: dict[str, _WiringModule] = {}
        for module in self.modules:
            if _WIRING.match(module):
                tree = ast.parse(self._source(module).read_text())
                imports = list(_imports(tree.body, nested=False))
                names = {name: (mod, name) for mod, alias_names in imports for name in alias_names}
                parsed = _WiringModule(imports, names)
                for node in tree.body:
                    if isinstance(node, ast.FunctionDef):
                        parsed.builders[node.name] = node
                    elif isinstance(node, ast.Assign | ast.AnnAssign):
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        parsed.builders.update({t.id: node for t in targets if isinstance(t, ast.Name)})
                self._wiring[module] = parsed

    @staticmethod
    def _source(module: str) -> Path:
        base = ROOT / "layers" / "core" / Path(*module.split("."))
        return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")

    def _builder(self, module: str, name: str) -> tuple[str, str] | None:
        """The composition-root builder ``module.name`` is, following re-exports between its modules."""
        wiring = self._wiring.get(module)
        if wiring is None:
            return None
        if name in wiring.builders:
            return module, name
        if name in wiring.names:
            return self._builder(*wiring.names[name])
        return None

    def _module_of(self, module: str, name: str) -> str:
        return f"{module}.{name}" if f"{module}.{name}" in self.modules else module

    def reached(self, app: Path) -> set[str]:
        """Every module (ours, and external packages by top-level name) ``app`` can import."""
        tree = ast.parse(app.read_text())
        seen: set[str] = set()
        builders: set[tuple[str, str]] = set()
        pending: list[str] = []

        def add(module: str, names: tuple[str, ...] = ()) -> None:
            targets = [module]
            for name in names:
                builder = self._builder(module, name)
                if builder is not None:
                    use(*builder)
                elif f"{module}.{name}" in self.modules:
                    targets.append(f"{module}.{name}")
            for target in targets:
                if target not in seen:
                    seen.add(target)
                    pending.append(target)

        def use(module: str, builder: str) -> None:
            if (module, builder) in builders:
                return
            builders.add((module, builder))
            add(module)
            wiring = self._wiring[module]
            node = wiring.builders[builder]
            for imported, names in _imports(
                node.body if isinstance(node, ast.FunctionDef) else [], nested=True
            ):
                add(imported, names)
            for ref in ast.walk(node):
                if isinstance(ref, ast.Name) and (builder := self._builder(module, ref.id)) is not None:
                    use(*builder)

        for imported, names in _imports(tree.body, nested=True):
            add(imported, names)
        for ref in ast.walk(tree):
            if isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name):
                builder = self._builder(self._module_of("callproof", ref.value.id), ref.attr)
                if builder is not None:
                    use(*builder)
        while pending:
            module = pending.pop()
            if module in self._wiring:
                for imported, _names in self._wiring[module].imports:
                    add(imported)  # module level: loads with the module (its names: only when used)
            elif module in self.modules:
                for imported in self.graph.find_modules_directly_imported_by(module):
                    add(imported)
        return {m for m in seen if m.split(".")[0] != "__future__"}


# ------------------------------------------------------------------------------------------ distributions
@cache
def _top_level_distributions() -> dict[str, list[str]]:
    return {top: [canonical(d) for d in dists] for top, dists in metadata.packages_distributions().items()}


def requirements_of(distribution: str) -> set[str]:
    """What ``distribution`` requires on the target (python3.12, Linux aarch64), no extras."""
    found = set()
    for line in metadata.requires(distribution) or []:
        requirement = Requirement(line)
        marker: Marker | None = requirement.marker
        if marker is None or marker.evaluate(TARGET_ENVIRONMENT):
            found.add(canonical(requirement.name))
    return found


def shipped_without() -> dict[str, str]:
    return {name: why for layer in layers().values() for name, why in layer.spec.without.items()}


def requirement_closure(distributions: Iterable[str], without: Iterable[str] = ()) -> set[str]:
    skipped = set(without)
    closure: set[str] = set()
    pending = [d for d in distributions if d not in skipped]
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        pending.extend(r for r in requirements_of(name) if r not in skipped and r not in closure)
    return closure


def imported_distributions(modules: Iterable[str]) -> set[str]:
    """The distributions providing the external (non-callproof, non-stdlib) modules."""
    import sys

    found = set()
    for module in modules:
        top = module.split(".")[0]
        if top == "callproof" or top in sys.stdlib_module_names:
            continue
        distributions = _top_level_distributions().get(top)
        if not distributions:
            raise LookupError(f"no installed distribution provides {top!r} (imported as {module})")
        found.update(distributions)
    return found


def needed_distributions(function: Function, graph: ImportGraph) -> set[str]:
    imported = imported_distributions(graph.reached(function.code_dir / "app.py"))
    return requirement_closure(imported, shipped_without())


# ------------------------------------------------------------------------------------------------ sizes
def _with_bytecode(path: Path, relative: str) -> Iterator[tuple[str, int]]:
    size = path.stat().st_size
    yield relative, size
    if path.suffix == ".py":
        cached = path.parent / "__pycache__" / f"{path.stem}.cpython-311.pyc"
        compiled = cached.stat().st_size * PYC_MARGIN if cached.exists() else size * PYC_WITHOUT_CACHE
        yield f"{relative[:-3]}.pyc (compiled)", int(compiled)


def layer_files(layer: Layer) -> dict[str, int]:
    """Path inside ``python/`` -> size, as tools/layer_build.py would leave the layer."""
    files: dict[str, int] = {}
    for package in layer.spec.packages:
        root = layer.spec.folder / package
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                relative = path.relative_to(layer.spec.folder).as_posix()
                if not layer.spec.pruned(relative):
                    files.update(_with_bytecode(path, relative))
    for name in layer.spec.pins:
        distribution = metadata.distribution(name)
        for entry in distribution.files or []:
            relative = entry.as_posix()
            if relative.startswith("..") or "__pycache__" in relative or layer.spec.pruned(relative):
                continue
            path = Path(str(distribution.locate_file(entry)))
            if path.is_file():
                files.update(_with_bytecode(path, relative))
    return files


def function_files(function: Function) -> dict[str, int]:
    files: dict[str, int] = {}
    for path in function.code_dir.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            files.update(_with_bytecode(path, path.relative_to(function.code_dir).as_posix()))
    return files


def package_size(function: Function, layer_sizes: dict[str, int]) -> int:
    return sum(function_files(function).values()) + sum(layer_sizes[layer] for layer in function.layers)


def main() -> None:
    """Print each function's layers and estimated unzipped size (``python -m tools.packages``)."""
    all_layers = layers()
    sizes = {lid: sum(layer_files(layer).values()) for lid, layer in all_layers.items()}
    for lid, size in sizes.items():
        print(f"{lid:14} {size / 1e6:6.1f} MB")
    graph = ImportGraph()
    for function in functions().values():
        needed = needed_distributions(function, graph)
        holders = sorted(lid for lid in function.layers if needed & set(all_layers[lid].spec.pins))
        missing = needed - {d for lid in function.layers for d in all_layers[lid].spec.pins}
        print(
            f"{function.logical_id:26} {package_size(function, sizes) / 1e6:6.1f} MB  "
            f"layers {','.join(function.layers)}  used {','.join(holders)}  missing {','.join(sorted(missing))}"
        )


if __name__ == "__main__":
    main()
