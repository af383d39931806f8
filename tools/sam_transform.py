"""Transform infra/template.yaml into plain CloudFormation offline, as `sam package` + CloudFormation would.

Usage::

    AWS_DEFAULT_REGION=us-east-1 .venv-tools/bin/python tools/sam_transform.py infra/template.yaml \
        [--parameter-overrides Stage=prod LogRetentionDays=90] [--strict-paths]

Prints the transformed template as JSON on stdout; on failure prints the translator's messages on
stderr and exits 1 (2 for an unreadable template or bad arguments).

Offline means three stand-ins for what `sam package` and the SAM service normally provide:

* local artifact paths (CodeUri, ContentUri, DefinitionUri) become ``s3://`` placeholder URIs, the
  way `sam package` rewrites them after uploading;
* the managed-policy loader (which calls IAM ListPolicies) is a fixed map of AWS managed policies;
* the region comes from AWS_DEFAULT_REGION (us-east-1 when unset).

Importable too: ``transform(path) -> dict``. Only this module's ``transform`` needs aws-sam-translator
(it lives in .venv-tools); ``load_template`` needs only PyYAML, so the main venv can import it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER_BUCKET = "callproof-sam-artifacts-placeholder"
DEFAULT_REGION = "us-east-1"

# Local-path properties that `sam package` uploads and replaces with an S3 location, per SAM type.
ARTIFACT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
}

# Stand-in for samtranslator's ManagedPolicyLoader (which asks IAM). SAM itself adds the first two
# (basic execution, X-Ray for Tracing: Active) by ARN; the rest resolve if a template names them.
MANAGED_POLICIES: dict[str, str] = {
    name: f"arn:aws:iam::aws:policy/{path}"
    for name, path in {
        "AWSLambdaBasicExecutionRole": "service-role/AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess": "AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess": "AWSXRayDaemonWriteAccess",
        "AWSLambdaVPCAccessExecutionRole": "service-role/AWSLambdaVPCAccessExecutionRole",
        "AWSLambdaRole": "service-role/AWSLambdaRole",
        "CloudWatchLambdaInsightsExecutionRolePolicy": "CloudWatchLambdaInsightsExecutionRolePolicy",
    }.items()
}


class TransformError(Exception):
    """The template could not be transformed; ``messages`` holds one line per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


class _StaticPolicyLoader:
    """Duck-typed ManagedPolicyLoader: returns a fixed name -> ARN map, never calls IAM."""

    def __init__(self, policies: Mapping[str, str] | None = None) -> None:
        self._policies = dict(MANAGED_POLICIES if policies is None else policies)

    def load(self) -> dict[str, str]:
        return dict(self._policies)


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short-form intrinsics (!Ref, !GetAtt, !Sub, ...)."""


def _construct_intrinsic(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML (or JSON) template with short-form intrinsics expanded."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise TransformError([f"{path}: not a template (top level is {type(data).__name__})"])
    return data


def _is_local_path(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")


def substitute_artifacts(
    template: dict[str, Any], template_dir: Path, *, strict_paths: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Return a copy with local artifact paths replaced by s3:// placeholders, and warnings.

    A local path that does not exist relative to the template is a warning (or, with
    ``strict_paths``, an error): `sam build` would fail on it.
    """
    out = copy.deepcopy(template)
    problems: list[str] = []

    def replace(owner: str, props: dict[str, Any], prop: str) -> None:
        value = props.get(prop)
        if not _is_local_path(value):
            return
        if not (template_dir / value).exists():
            problems.append(f"{owner}.{prop}: local path {value!r} does not exist")
        props[prop] = f"s3://{PLACEHOLDER_BUCKET}/{owner}/{prop}"

    for logical_id, resource in (out.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        for prop in ARTIFACT_PROPERTIES.get(str(resource.get("Type")), ()):
            replace(logical_id, props, prop)

    globals_ = out.get("Globals") or {}
    for section, type_name in (
        ("Function", "AWS::Serverless::Function"),
        ("Api", "AWS::Serverless::Api"),
        ("HttpApi", "AWS::Serverless::HttpApi"),
        ("StateMachine", "AWS::Serverless::StateMachine"),
    ):
        section_props = globals_.get(section)
        if isinstance(section_props, dict):
            for prop in ARTIFACT_PROPERTIES[type_name]:
                replace(f"Globals.{section}", section_props, prop)

    if strict_paths and problems:
        raise TransformError(problems)
    return out, problems


def transform(
    path: str | os.PathLike[str],
    parameter_overrides: Mapping[str, Any] | None = None,
    *,
    region: str | None = None,
    strict_paths: bool = False,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Transform the SAM template at ``path`` into a CloudFormation template (a dict).

    Raises TransformError with the translator's messages when the template is invalid.
    """
    # Imported here so that load_template() works without aws-sam-translator installed.
    from samtranslator.model.exceptions import (  # type: ignore[import-not-found]
        ExceptionWithMessage,
        InvalidDocumentException,
    )
    from samtranslator.translator.transform import (  # type: ignore[import-not-found]
        transform as sam_transform,
    )

    os.environ.setdefault("AWS_DEFAULT_REGION", region or DEFAULT_REGION)
    if region:
        os.environ["AWS_DEFAULT_REGION"] = region

    template_path = Path(path)
    template = load_template(template_path)
    packaged, problems = substitute_artifacts(template, template_path.parent, strict_paths=strict_paths)
    if warnings is not None:
        warnings.extend(problems)

    try:
        # passthrough_metadata copies each SAM resource's Metadata (checkov skips included) onto the
        # resources generated from it, so a scan of the output honours the same skips.
        return sam_transform(
            packaged, dict(parameter_overrides or {}), _StaticPolicyLoader(), passthrough_metadata=True
        )
    except InvalidDocumentException as exc:
        raise TransformError([cause.message for cause in exc.causes] or [str(exc)]) from exc
    except ExceptionWithMessage as exc:
        raise TransformError([exc.message]) from exc


def _parse_overrides(items: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"parameter override {item!r} is not Name=Value")
        overrides[name] = value
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Transform a SAM template to CloudFormation offline.")
    parser.add_argument("template", type=Path)
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="Name=Value")
    parser.add_argument("--region", default=None, help="overrides AWS_DEFAULT_REGION (default us-east-1)")
    parser.add_argument(
        "--strict-paths", action="store_true", help="fail when a CodeUri/ContentUri/DefinitionUri is missing"
    )
    parser.add_argument("--indent", type=int, default=2)
    args = parser.parse_args(argv)

    try:
        overrides = _parse_overrides(args.parameter_overrides)
    except argparse.ArgumentTypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    warnings: list[str] = []
    try:
        result = transform(
            args.template, overrides, region=args.region, strict_paths=args.strict_paths, warnings=warnings
        )
    except (OSError, yaml.YAMLError) as exc:
        print(f"error: cannot read {args.template}: {exc}", file=sys.stderr)
        return 2
    except TransformError as exc:
        print(f"error: {args.template} does not transform:", file=sys.stderr)
        for message in exc.messages:
            print(f"  - {message}", file=sys.stderr)
        return 1
    finally:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)

    json.dump(result, sys.stdout, indent=args.indent, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
