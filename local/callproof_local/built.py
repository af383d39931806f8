"""What `make build-host` wrote (ADR 0015): each function's code folder and its layers' ``python/``
folders, as Lambda's python3.12 runtime puts them on ``sys.path`` (``/var/task``, then ``/opt/python``).
Used by the built-function tests and by the bench's cold start of the built packages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callproof_local.model import function_properties
from callproof_local.template import DEFAULT_TEMPLATE, load_template

BUILD_HOST = DEFAULT_TEMPLATE.parents[1] / ".aws-sam" / "build-host"


@dataclass(frozen=True)
class Built:
    """The code folder and layer folders `sam build` wrote for each function."""

    template: dict[str, Any]
    root: Path = BUILD_HOST

    @classmethod
    def load(cls, root: Path = BUILD_HOST) -> Built:
        template = root / "template.yaml"
        if not template.is_file():
            raise FileNotFoundError(f"{template} is missing: run `make build-host`")
        return cls(load_template(template), root)

    def artifacts(self, logical_id: str) -> tuple[Path, list[Path]]:
        props = function_properties(self.template, logical_id)  # Globals.Function applied
        own = self.template["Resources"][logical_id]["Properties"].get("Layers", [])
        shared = self._shared()
        layers = [*shared, *own] if "Layers" in props else shared  # SAM appends a function's layers
        return self.root / props["CodeUri"], self._folders(layers)

    def shared_layers(self) -> list[Path]:
        """The folders of the layers every function gets (``Globals.Function.Layers``)."""
        return self._folders(self._shared())

    def _shared(self) -> list[dict[str, Any]]:
        return list(self.template.get("Globals", {}).get("Function", {}).get("Layers", []))

    def _folders(self, layers: list[dict[str, Any]]) -> list[Path]:
        resources = self.template["Resources"]
        return [
            self.root / resources[layer["Ref"]]["Properties"]["ContentUri"] / "python" for layer in layers
        ]
