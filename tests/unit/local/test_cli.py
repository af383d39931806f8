"""The ``callproof`` command's help, version and banner (issue 18, point 5): every example in every
``--help`` parses, the schedules it names are the template's, ``--policy-url`` is the policy text's
URL, and the start-up banner prints the demo token once, as ``TOKEN=...``."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from callproof_local import auth, cli
from callproof_local.template import DEFAULT_TEMPLATE, load_template


def leaf_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command that runs something (``dsar create``, ``token``...), not the groups above them."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield parser
    for group in groups:
        for child in dict.fromkeys(group.choices.values()):  # aliases would repeat a parser
            yield from leaf_parsers(child)


def examples_of(parser: argparse.ArgumentParser) -> list[str]:
    text = parser.format_help()
    _, found, tail = text.partition("\nexamples:\n")
    assert found, f"`{parser.prog} --help` shows no examples"
    return [line.strip() for line in tail.splitlines() if line.strip()]


def test_every_command_shows_examples_that_parse() -> None:
    root = cli.parser()
    leaves = list(leaf_parsers(root))
    assert {leaf.prog for leaf in leaves} >= {
        "callproof run-schedule",
        "callproof publish-policy",
        "callproof admin create",
        "callproof dsar create",
        "callproof outbox",
    }
    for leaf in leaves:
        for example in examples_of(leaf):
            words = shlex.split(example)
            assert words[0] == "callproof", example
            parsed = cli.parser().parse_args(words[1:])  # a wrong example exits 2 here
            assert example.startswith(leaf.prog), f"{leaf.prog} shows another command's example: {example}"
            assert parsed.command == leaf.prog.split()[1]


def template_schedules() -> set[str]:
    resources = load_template(DEFAULT_TEMPLATE)["Resources"]
    return {
        name
        for resource in resources.values()
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items()
        if event["Type"] in ("Schedule", "ScheduleV2")
    }


def test_run_schedule_names_the_templates_schedules_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(cli.SCHEDULES) == template_schedules()
    with pytest.raises(SystemExit):
        cli.main(["run-schedule", "--help"])
    help_text = capsys.readouterr().out
    assert "RetentionSweep" not in help_text
    assert all(name in help_text for name in cli.SCHEDULES)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"callproof {version('callproof')}"


def test_policy_url_is_the_policy_texts_and_url_the_gateway() -> None:
    args = cli.parser().parse_args(
        ["publish-policy", "--version", "v2", "--policy-url", "https://callproof.example/terms/v2"]
    )
    assert (args.policy_url, args.url) == ("https://callproof.example/terms/v2", None)
    args = cli.parser().parse_args(["publish-policy", "--version", "v2", "--url", "http://127.0.0.1:3000"])
    assert (args.policy_url, args.url) == (None, "http://127.0.0.1:3000")


@pytest.mark.parametrize(
    "bad", ["callproof.example/terms", "ftp://callproof.example/t", "https://", "https://a b"]
)
def test_a_policy_url_that_is_not_an_absolute_http_url_is_refused(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.parser().parse_args(["publish-policy", "--version", "v2", "--policy-url", bad])
    assert refused.value.code == 2
    assert "expected an absolute http(s) URL" in capsys.readouterr().err


def test_banner_prints_the_token_once_as_a_shell_assignment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLPROOF_LOCAL_HOME", str(tmp_path))
    banner = cli._banner("http://127.0.0.1:3000", 812.0, "http://127.0.0.1:5000", "demo-org")
    assignments = [line for line in banner.splitlines() if line.startswith("TOKEN=")]
    assert len(assignments) == 1
    token = assignments[0].removeprefix("TOKEN=")
    assert banner.count(token) == 1
    assert auth.verify(token)["custom:org_id"] == "demo-org"
    curls = [line.strip() for line in banner.splitlines() if line.strip().startswith("curl")]
    assert len(curls) == 4
    assert all('"Authorization: Bearer $TOKEN"' in line for line in curls if "/v1/" in line)
