"""Deploying (issue 18, point 3): samconfig.toml's environments hold valid parameters of the template,
the template outputs what docs/deploy.md and the CLI need, and `make deploy | destroy` insist on ENV.
(`make validate` runs `sam validate --lint` for each environment; it needs the tools venv.)"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from callproof_local.template import DEFAULT_TEMPLATE, load_template

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")
RUNBOOK = ROOT / "docs" / "deploy.md"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(DEFAULT_TEMPLATE)


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def overrides(samconfig: dict[str, Any], env: str) -> dict[str, str]:
    """``parameter_overrides`` as sam reads them: ``Key=Value`` items of a list (or one string)."""
    raw = samconfig[env]["deploy"]["parameters"]["parameter_overrides"]
    items = raw.split() if isinstance(raw, str) else raw
    pairs = [item.split("=", 1) for item in items]
    assert all(len(pair) == 2 and pair[1] for pair in pairs), f"{env}: an empty or malformed override"
    return dict(pairs)


def violations(parameter: dict[str, Any], value: str) -> list[str]:
    """What CloudFormation would refuse about ``value`` for ``parameter``."""
    found = []
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        found.append(f"does not match {parameter['AllowedPattern']}")
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        found.append(f"not one of {parameter['AllowedValues']}")
    if parameter["Type"] == "Number":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            return [*found, "not a number"]
        if "MinValue" in parameter and float(value) < parameter["MinValue"]:
            found.append(f"below {parameter['MinValue']}")
        if "MaxValue" in parameter and float(value) > parameter["MaxValue"]:
            found.append(f"above {parameter['MaxValue']}")
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_deploys_its_own_stack_with_valid_parameters(
    env: str, samconfig: dict[str, Any], template: dict[str, Any]
) -> None:
    config = samconfig[env]
    stack = config["global"]["parameters"]["stack_name"]
    assert stack == f"callproof-{env}"
    assert config["delete"]["parameters"]["stack_name"] == config["logs"]["parameters"]["stack_name"] == stack
    deploy = config["deploy"]["parameters"]
    assert deploy["s3_prefix"] == stack
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert config["validate"]["parameters"] == {"template_file": "infra/template.yaml", "lint": True}
    values = overrides(samconfig, env)
    assert values["Stage"] == env
    parameters = template["Parameters"]
    assert set(values) <= set(parameters), f"not parameters of the template: {set(values) - set(parameters)}"
    problems = {name: violations(parameters[name], value) for name, value in values.items()}
    assert {name: found for name, found in problems.items() if found} == {}


def test_production_asks_before_it_changes(samconfig: dict[str, Any]) -> None:
    assert samconfig["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert samconfig["staging"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_the_parameter_rules_are_checked() -> None:
    """The check above refuses what CloudFormation would."""
    stage = {"Type": "String", "AllowedPattern": "^[a-z][a-z0-9-]{1,15}$"}
    days = {"Type": "Number", "AllowedValues": [7, 14, 30]}
    cap = {"Type": "Number", "MinValue": 0, "MaxValue": 10}
    assert violations(stage, "prod") == []
    assert violations(stage, "Prod") != []
    assert (violations(days, "14"), violations(days, "13")) == ([], ["not one of [7, 14, 30]"])
    assert (violations(cap, "11"), violations(cap, "x")) == (["above 10"], ["not a number"])


CLI_OUTPUTS = {  # what `callproof ... --table / --user-pool-id` and the secrets steps read
    "UserPoolId", "UserPoolClientId", "AccountsTableName", "DsarTableName", "ApiUrl",
    "TwilioCredentialsSecretArn", "GoogleOAuthSecretArn", "MicrosoftOAuthSecretArn",
}  # fmt: skip


def test_outputs_hold_every_value_the_runbook_and_the_cli_need(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    read_by_runbook = set(re.findall(r"\$\(out ([A-Za-z0-9]+)\)", RUNBOOK.read_text(encoding="utf-8")))
    assert read_by_runbook >= CLI_OUTPUTS, "the runbook reads these outputs (`$(out Name)`)"
    assert read_by_runbook <= set(outputs), f"not outputs of the stack: {read_by_runbook - set(outputs)}"
    referenced = {
        str(output["Value"].get("Ref")) for output in outputs.values() if isinstance(output["Value"], dict)
    }
    operator_filled = {"TwilioCredentialsSecret", "GoogleOAuthSecret", "MicrosoftOAuthSecret"}
    assert operator_filled <= referenced  # the secrets an operator puts values in


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        ["make", "--no-print-directory", *args],  # noqa: S607 - make from PATH, as a developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("target", ["deploy", "destroy"])
@pytest.mark.parametrize("env", [None, "", "production", "dev staging", "dev|prod", "*"])
def test_deploy_and_destroy_refuse_anything_but_an_environment(target: str, env: str | None) -> None:
    # MAKE and SAM stand-ins: should the check let one through, nothing is built or deployed
    done = make(target, *([] if env is None else [f"ENV={env}"]), "MAKE=true", "SAM=true")
    assert done.returncode == 2
    assert f"make {target}: ENV must be one of dev staging prod" in done.stderr
    assert "sam" not in done.stdout  # nothing ran


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_and_destroy_use_the_environment(env: str) -> None:
    deploy = make("-n", "deploy", f"ENV={env}").stdout
    assert f"sam deploy --config-env {env}" in deploy
    assert deploy.index("sam build") < deploy.index("sam deploy")
    assert f"sam delete --config-env {env}" in make("-n", "destroy", f"ENV={env}").stdout


def test_the_runbooks_concurrency_figure_is_the_templates(template: dict[str, Any]) -> None:
    """The runbook computes the account's concurrency need from the template (functions come and go)."""
    reserved = sum(
        resource.get("Properties", {}).get("ReservedConcurrentExecutions", 0)
        for resource in template["Resources"].values()
    )
    (command,) = (line for line in RUNBOOK.read_text(encoding="utf-8").splitlines() if "awk" in line)
    printed = subprocess.run(  # noqa: S602 - the runbook's own shell line, on this repository
        command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert int(printed) == reserved + 100
