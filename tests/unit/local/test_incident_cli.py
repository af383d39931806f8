"""``callproof incident``'s pure parts: times, the table, and usage problems refused before any call."""

from __future__ import annotations

import argparse

import pytest

from callproof_local import incident_cli
from callproof_local.cli import main


def test_times_need_a_zone_and_now_is_now() -> None:
    assert incident_cli._when("2026-12-01T09:30:00Z") == "2026-12-01T09:30:00+00:00"
    assert incident_cli._when("now").endswith("+00:00")
    for bad in ("2026-12-01T09:30:00", "yesterday"):
        with pytest.raises(argparse.ArgumentTypeError):
            incident_cli._when(bad)


def test_the_table_marks_an_open_incident_past_its_clock() -> None:
    item = {
        "id": "i1",
        "status": "open",
        "authority_overdue": True,
        "detected_at": "2026-11-28T10:00:00Z",
        "authority_due": "2026-12-01T10:00:00Z",
        "affected": {"members": 3, "subjects": 40},
        "people": "undecided",
    }
    lines = incident_cli.incidents_table([item]).splitlines()
    assert lines[0].split() == [
        "ID",
        "STATUS",
        "DETECTED",
        "AUTHORITY",
        "DUE",
        "MEMBERS",
        "SUBJECTS",
        "PEOPLE",
    ]
    assert lines[1].split()[:3] == ["i1", "open", "(overdue)"]
    assert lines[1].split()[-3:] == ["3", "40", "undecided"]


def test_notify_without_advice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["incident", "notify", "i1", "--url", "http://127.0.0.1:9", "--token", "t"])
    assert code == 2
    assert "--what-to-do" in capsys.readouterr().err


def test_a_store_or_kind_outside_the_registry_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        main(["incident", "record", "--org", "o", "--detected-at", "now", "--description", "x" * 20,
              "--store", "nowhere", "--kind", "account"])  # fmt: skip
