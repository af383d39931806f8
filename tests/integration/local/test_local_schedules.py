"""Schedules: the AWS cron matcher (pure), and firing a schedule on demand over HTTP and the CLI."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from callproof_local import cli, cron, model, schedules
from callproof_local.stack import LocalStack


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 3 * * ? *)", "2024-05-01T03:00", "2024-05-02T03:00"),
        ("cron(0 3 * * ? *)", "2024-12-31T05:00", "2025-01-01T03:00"),
        ("cron(0/15 8-17 ? * MON-FRI *)", "2024-06-01T12:00", "2024-06-03T08:00"),  # a Saturday
        ("cron(0/15 8-17 ? * MON-FRI *)", "2024-06-03T08:00", "2024-06-03T08:15"),
        ("cron(30 9 1,15 * ? *)", "2024-02-01T10:00", "2024-02-15T09:30"),
        ("cron(0 0 ? * 1 *)", "2024-06-03T00:00", "2024-06-09T00:00"),  # 1 = Sunday
        ("cron(0 12 29 FEB ? *)", "2024-03-01T00:00", "2028-02-29T12:00"),
        ("cron(5-10/5 * * JAN-MAR ? 2030)", "2024-01-01T00:00", "2030-01-01T00:05"),
    ],
)
def test_cron_next_after(expression: str, after: str, expected: str) -> None:
    parsed = cron.parse(expression)
    assert isinstance(parsed, cron.Cron)
    assert parsed.next_after(_at(after)) == _at(expected)


def test_cron_with_no_future_match() -> None:
    parsed = cron.parse("cron(0 0 1 1 ? 1999)")
    assert isinstance(parsed, cron.Cron)
    assert parsed.next_after(_at("2024-01-01T00:00")) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 0 L * ? *)", "unsupported locally"),
        ("cron(0 0 15W * ? *)", "unsupported locally"),
        ("cron(0 0 ? * 6#3 *)", "unsupported locally"),
        ("cron(0 0 ? * 6L *)", "unsupported locally"),
        ("cron(0 0 * * * *)", "exactly one"),
        ("cron(0 0 ? * ? *)", "exactly one"),
        ("cron(0 0 * *)", "6 fields"),
        ("cron(60 0 * * ? *)", "outside"),
        ("cron(0 0 * FOO ? *)", "not a number"),
        ("cron(? 0 * * ? *)", "only allowed"),
        ("cron(10-5 0 * * ? *)", "backwards"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 fortnights)", "neither"),
        ("every day", "neither"),
    ],
)
def test_invalid_or_unsupported_expressions(expression: str, message: str) -> None:
    with pytest.raises(cron.ScheduleExpressionError, match=message):
        cron.parse(expression)


def test_rates() -> None:
    assert cron.parse("rate(1 day)") == cron.Rate(86400)
    assert cron.parse("rate(5 minutes)") == cron.Rate(300)
    assert cron.parse("rate(1 hour)") == cron.Rate(3600)


MINUTE_FIELD = st.sampled_from(["*", "0", "*/5", "10-20", "0,30", "7/13"])
HOUR_FIELD = st.sampled_from(["*", "3", "8-17", "*/6", "0,12"])
DAY_FIELDS = st.sampled_from(
    [("*", "?"), ("1", "?"), ("1-10/3", "?"), ("?", "MON-FRI"), ("?", "1"), ("?", "SAT,SUN"), ("31", "?")]
)
MONTH_FIELD = st.sampled_from(["*", "JAN", "2-4", "*/2", "DEC"])


@settings(max_examples=150, deadline=None)
@given(
    minute=MINUTE_FIELD,
    hour=HOUR_FIELD,
    days=DAY_FIELDS,
    month=MONTH_FIELD,
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_next_after_is_the_first_match(
    minute: str, hour: str, days: tuple[str, str], month: str, start: datetime
) -> None:
    parsed = cron.parse(f"cron({minute} {hour} {days[0]} {month} {days[1]} *)")
    assert isinstance(parsed, cron.Cron)
    found = parsed.next_after(start)
    assert found is not None
    assert found > start
    assert parsed.matches(found)
    # no earlier minute matches: walk back from the answer over a bounded window
    probe = found - timedelta(minutes=1)
    floor = max(start, found - timedelta(days=3))
    while probe > floor:
        assert not parsed.matches(probe), probe
        probe -= timedelta(minutes=1)


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
def test_star_matches_every_minute(moment: datetime) -> None:
    every_minute = cron.parse("cron(* * * * ? *)")
    assert isinstance(every_minute, cron.Cron)
    assert every_minute.matches(moment)
    assert every_minute.next_after(moment) == moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


# ------------------------------------------------------------------------------------- on demand
def test_run_schedule_over_http_sends_a_scheduled_event(stack: LocalStack) -> None:
    response = requests.post(f"{stack.url}/_local/schedules/Nightly", timeout=10)
    assert response.status_code == 200
    event = response.json()["result"]["event"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["detail"] == {}
    assert event["resources"][0].endswith(":rule/callproof-local-Nightly")
    assert abs(datetime.fromisoformat(event["time"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_run_schedule_uses_input_when_set(stack: LocalStack) -> None:
    result = requests.post(f"{stack.url}/_local/schedules/Hourly", timeout=10).json()["result"]
    assert result["event"] == {"kind": "hourly"}


def test_cli_run_schedule_uses_the_state_file(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run-schedule", "Nightly"]) == 0
    assert json.loads(capsys.readouterr().out)["event"]["detail-type"] == "Scheduled Event"


def test_cli_unknown_schedule_exits_2(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run-schedule", "Nope", "--url", stack.url]) == 2
    error = capsys.readouterr().err
    assert "unknown schedule 'Nope'" in error
    assert "Hourly, Nightly" in error


def test_schedules_know_their_names(stack: LocalStack) -> None:
    assert stack.scheduler is not None
    assert stack.scheduler.names == ["Hourly", "Nightly"]


def test_timer_fires_due_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer thread sleeps until the next cron minute and fires it (clock frozen just before)."""
    just_before = datetime(2024, 6, 3, 12, 0, 59, 950000, tzinfo=UTC)

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FrozenClock:  # type: ignore[override]
            return cls.fromtimestamp(just_before.timestamp(), tz)

    monkeypatch.setattr(schedules, "datetime", FrozenClock)
    event = model.ScheduleEvent("EveryMinute", "cron(* * * * ? *)", None, enabled=True, timezone=None)
    disabled = model.ScheduleEvent("Off", "rate(1 minute)", None, enabled=False, timezone=None)
    function = model.Function(
        "Fn", "fn", "arn:fn", Path("."), "app.handler", {}, 3, 128, (), (event, disabled), ()
    )
    fired: list[Any] = []
    scheduler = schedules.Scheduler([function], invoker=lambda fn, evt: fired.append(evt))
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()
    assert len(fired) == 1
    assert fired[0]["time"] == "2024-06-03T12:01:00Z"
    assert fired[0]["resources"][0].endswith("/callproof-local-EveryMinute")


def test_cron_in_a_timezone() -> None:
    event = model.ScheduleEvent("Paris", "cron(0 9 * * ? *)", None, enabled=True, timezone="Europe/Paris")
    function = model.Function("Fn", "fn", "arn:fn", Path("."), "app.handler", {}, 3, 128, (), (event,), ())
    schedule = schedules.Schedule(function, event, cron.parse(event.expression))
    assert schedule.next_after(datetime(2024, 6, 3, 6, 0, tzinfo=UTC)) == datetime(
        2024, 6, 3, 7, 0, tzinfo=UTC
    )
