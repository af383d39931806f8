"""Fire the template's Schedule / ScheduleV2 events locally (moto never fires EventBridge rules).

One timer thread sleeps until the next due schedule and invokes its handler with an EventBridge
"Scheduled Event" (or the event's ``Input``). Every schedule, even a disabled one, can also be run on
demand by name: ``callproof run-schedule CallLogRetention``. Expressions are parsed at startup, so an
unsupported one fails the stack immediately rather than at 3 a.m.
"""

from __future__ import annotations

import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from callproof_local import cron
from callproof_local.gateway import UnknownScheduleError
from callproof_local.invoke import invoke
from callproof_local.model import Function, ScheduleEvent
from callproof_local.template import ACCOUNT_ID, REGION

Invoker = Callable[[Function, Any], Any]


def scheduled_event(name: str, moment: datetime) -> dict[str, Any]:
    """The event EventBridge sends a Lambda target of a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/callproof-local-{name}"],
        "detail": {},
    }


@dataclass(frozen=True)
class Schedule:
    function: Function
    event: ScheduleEvent
    expression: cron.Rate | cron.Cron

    def next_after(self, moment: datetime) -> datetime | None:
        """The next firing in UTC; cron expressions are read in the event's timezone (UTC default)."""
        if isinstance(self.expression, cron.Rate):
            return self.expression.next_after(moment)
        zone = ZoneInfo(self.event.timezone) if self.event.timezone else UTC
        wall = moment.astimezone(zone).replace(tzinfo=None)
        following = self.expression.next_after(wall)
        return following.replace(tzinfo=zone).astimezone(UTC) if following else None


class Scheduler:
    """Owns the timer thread; ``run(name)`` fires one schedule now and returns the handler's result."""

    def __init__(self, functions: Iterable[Function], invoker: Invoker = invoke) -> None:
        self._schedules: dict[str, Schedule] = {}
        for function in functions:
            for event in function.schedules:
                if event.name in self._schedules:
                    raise cron.ScheduleExpressionError(f"two schedules are named {event.name}")
                try:
                    expression = cron.parse(event.expression)
                except cron.ScheduleExpressionError as exc:
                    raise cron.ScheduleExpressionError(f"{function.logical_id}.{event.name}: {exc}") from None
                self._schedules[event.name] = Schedule(function, event, expression)
        self._invoker = invoker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def names(self) -> list[str]:
        return sorted(self._schedules)

    def run(self, name: str, moment: datetime | None = None) -> Any:
        schedule = self._schedules.get(name)
        if schedule is None:
            known = ", ".join(self.names) or "none"
            raise UnknownScheduleError(f"unknown schedule {name!r} (known: {known})")
        event = schedule.event.input
        if event is None:
            event = scheduled_event(name, moment or datetime.now(UTC))
        return self._invoker(schedule.function, event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="schedules", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        now = datetime.now(UTC)
        due = {name: s.next_after(now) for name, s in self._schedules.items() if s.event.enabled}
        while not self._stop.is_set():
            pending = {name: moment for name, moment in due.items() if moment is not None}
            if not pending:
                self._stop.wait()
                return
            name = min(pending, key=lambda key: pending[key])
            wait = (pending[name] - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(min(wait, 60)):
                return
            if wait > 60:
                continue  # re-check the clock at least every minute (laptops sleep)
            try:
                self.run(name, pending[name])
            except Exception:  # a failing schedule must not stop the others
                print(f"schedule {name} failed:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
            due[name] = self._schedules[name].next_after(max(pending[name], datetime.now(UTC)))
