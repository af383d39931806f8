"""Reading infra/template.yaml: CloudFormation short tags and the intrinsic functions we need locally.

The template is the single source of truth, so the local stack reads it rather than restating it. YAML
short tags (``!Ref``, ``!Sub`` ...) become their long JSON forms at load time; ``Resolver`` evaluates
the intrinsics against the parameters' defaults, fixed pseudo parameters and the physical names the
local stack gave its resources.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"  # the SAM template

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
STACK_NAME = "callproof-local"
URL_SUFFIX = "amazonaws.com"

Template = dict[str, Any]


class TemplateError(ValueError):
    """The template uses something the local stack cannot evaluate."""


# ------------------------------------------------------------------------------------------ loading
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long forms."""


_FN_TAGS = (
    "Sub", "Join", "If", "Select", "Split", "Equals", "Not", "And", "Or", "FindInMap",
    "Base64", "GetAZs", "ImportValue", "Cidr", "Length", "ToJsonString",
)  # fmt: skip


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unexpected YAML node {node!r}")  # pragma: no cover


def _fn(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _construct(node, loader)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(node, loader)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CfnLoader.add_constructor("!Ref", _fn("Ref"))
CfnLoader.add_constructor("!Condition", _fn("Condition"))
CfnLoader.add_constructor("!GetAtt", _get_att)
for _tag in _FN_TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _fn(f"Fn::{_tag}"))


def load_template(path: Path) -> Template:
    """Parse a CloudFormation / SAM template file into plain dicts (long-form intrinsics)."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


# ---------------------------------------------------------------------------------------- resolving
@dataclass
class Physical:
    """What a created resource resolves to: its ``Ref`` value and its ``Fn::GetAtt`` attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class PhysicalLookup(Protocol):
    def __getitem__(self, logical_id: str, /) -> Physical: ...
    def __contains__(self, logical_id: object, /) -> bool: ...


_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions for the local stack."""

    def __init__(self, template: Template, physical: PhysicalLookup) -> None:
        self._template = template
        self._physical = physical
        self._pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::URLSuffix": URL_SUFFIX,
        }

    def parameter(self, name: str) -> str:
        """A parameter's local value: its Default (the local stack takes no overrides)."""
        spec = self._template.get("Parameters", {}).get(name)
        if spec is None:
            raise TemplateError(f"unknown parameter {name}")
        if "Default" not in spec:
            raise TemplateError(f"parameter {name} has no Default, which the local stack needs")
        default = spec["Default"]
        return ",".join(map(str, default)) if isinstance(default, list) else str(default)

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value``; ``AWS::NoValue`` entries disappear."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def resolve_str(self, value: Any) -> str:
        result = self.resolve(value)
        if not isinstance(result, str | int | float | bool):
            raise TemplateError(f"expected a scalar, got {result!r}")
        return str(result).lower() if isinstance(result, bool) else str(result)

    def condition(self, name: str) -> bool:
        spec = self._template.get("Conditions", {}).get(name)
        if spec is None:
            raise TemplateError(f"unknown condition {name}")
        return bool(self.resolve(spec))

    # -- internals
    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item) for item in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()  # fmt: skip
            handler = self._functions.get(key)
            if handler is not None:
                return handler(self, argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._template.get("Parameters", {}):
            return self.parameter(name)
        if name in self._physical:
            return self._physical[name].ref
        raise TemplateError(f"!Ref {name}: not a parameter or a resource the local stack created")

    def _get_att(self, argument: Any) -> str:
        resource, attribute = (self._resolve(part) for part in argument)
        if resource not in self._physical:
            raise TemplateError(f"!GetAtt {resource}.{attribute}: resource not created locally")
        physical = self._physical[resource]
        if attribute not in physical.attributes:
            raise TemplateError(f"!GetAtt {resource}.{attribute}: attribute not available locally")
        return physical.attributes[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: self.resolve_str(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return local[name]
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return self._get_att([resource, attribute])
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(self.resolve_str(item) for item in self._resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self._resolve(items)[int(self._resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return self.resolve_str(text).split(delimiter)

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(name) else when_false)

    def _find_in_map(self, argument: Any) -> Any:
        name, first, second = (self._resolve(part) for part in argument)
        try:
            return self._template["Mappings"][name][first][second]
        except KeyError:
            raise TemplateError(f"!FindInMap [{name}, {first}, {second}]: no such entry") from None

    def _unsupported(self, name: str) -> Any:
        def fail(_: Resolver, __: Any) -> Any:
            raise TemplateError(f"{name} cannot be evaluated by the local stack")

        return fail

    _functions: Mapping[str, Any] = {
        "Ref": lambda self, arg: self._ref(arg),
        "Condition": lambda self, arg: self.condition(arg),
        "Fn::GetAtt": lambda self, arg: self._get_att(arg),
        "Fn::Sub": lambda self, arg: self._sub(arg),
        "Fn::Join": lambda self, arg: self._join(arg),
        "Fn::Select": lambda self, arg: self._select(arg),
        "Fn::Split": lambda self, arg: self._split(arg),
        "Fn::If": lambda self, arg: self._if(arg),
        "Fn::Equals": lambda self, arg: self._resolve(arg[0]) == self._resolve(arg[1]),
        "Fn::Not": lambda self, arg: not self._resolve(arg[0]),
        "Fn::And": lambda self, arg: all(self._resolve(item) for item in arg),
        "Fn::Or": lambda self, arg: any(self._resolve(item) for item in arg),
        "Fn::FindInMap": lambda self, arg: self._find_in_map(arg),
        "Fn::Base64": lambda self, arg: base64.b64encode(self.resolve_str(arg).encode()).decode(),
        "Fn::GetAZs": lambda self, arg: [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
        "Fn::ImportValue": lambda self, arg: self._unsupported("Fn::ImportValue")(self, arg),
    }


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) that ``value`` refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt" and isinstance(item, list) and isinstance(item[0], str):
                found.add(item[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                local = set() if isinstance(item, str) else set(item[1])
                for name in _SUB_VARIABLE.findall(text):
                    base = name.split(".", 1)[0]
                    if not name.startswith("!") and base not in local:
                        found.add(base)
                found |= references(item if isinstance(item, str) else item[1])
            else:
                found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}
