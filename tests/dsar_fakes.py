"""In-memory fakes of the DSAR ports, and a driver that runs the workflow steps in the order of
infra/statemachines/*.asl.json (with their Catch routes), for the unit tests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from callproof.dsar.audit import AuditEntry
from callproof.dsar.model import (
    OPEN_STATUSES,
    Cell,
    DsarRequest,
    Erased,
    RequestType,
    Status,
    StoreProgress,
    Subject,
)
from callproof.dsar.workflow import TaskEvent, WorkflowTasks
from callproof.errors import Conflict

ASL = Path(__file__).resolve().parent.parent / "infra" / "statemachines"


class FakeRequests:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], DsarRequest] = {}
        self.confirmations: dict[tuple[str, str], tuple[str, int]] = {}
        self.claims: set[tuple[str, str, str]] = set()
        self.fail_saves_after_claim = 0  # the next saves after a claim fail: a crash after an email

    def _crash_after_claim(self) -> None:
        if self.fail_saves_after_claim and self.claims:
            self.fail_saves_after_claim -= 1
            raise RuntimeError("the task died after sending")

    def create(self, request: DsarRequest, confirmation_hash: str | None, expires_at: int | None) -> None:
        key = (request.org_id, request.id)
        if key in self.items:
            raise Conflict("exists")
        self.items[key] = request
        if confirmation_hash is not None and expires_at is not None:
            self.confirmations[key] = (confirmation_hash, expires_at)

    def get(self, org_id: str, request_id: str) -> DsarRequest | None:
        return self.items.get((org_id, request_id))

    def save(self, old: DsarRequest, new: DsarRequest) -> None:
        self._crash_after_claim()
        current = self.items[(old.org_id, old.id)]
        if current.version != old.version:
            raise Conflict("changed")
        self.items[(old.org_id, old.id)] = replace(new, stores=current.stores)

    def set_store(self, org_id: str, request_id: str, store: str, progress: StoreProgress) -> None:
        current = self.items[(org_id, request_id)]
        self.items[(org_id, request_id)] = replace(current, stores={**current.stores, store: progress})

    def confirm(self, org_id: str, request_id: str, confirmation_hash: str, now: int) -> DsarRequest | None:
        key = (org_id, request_id)
        stored = self.confirmations.get(key)
        request = self.items.get(key)
        if stored is None or request is None or stored[0] != confirmation_hash or stored[1] <= now:
            return None
        if request.status is not Status.PENDING_CONFIRMATION:
            return None
        del self.confirmations[key]
        return request

    def page(
        self, org_id: str, status: Status | None, due_before: date | None, limit: int, cursor: str | None
    ) -> tuple[list[DsarRequest], str | None]:
        found = sorted(
            (r for (org, _), r in self.items.items() if org == org_id),
            key=lambda r: (r.deadline.due, r.id),
        )
        found = [r for r in found if (status is None or r.status is status)]
        found = [r for r in found if due_before is None or r.deadline.due < due_before]
        return found[:limit], None

    def open_requests(self) -> Iterator[tuple[str, str]]:
        for (org, request_id), request in sorted(self.items.items(), key=lambda kv: kv[1].deadline.due):
            if request.status in OPEN_STATUSES:
                yield org, request_id

    def claim(self, org_id: str, request_id: str, key: str) -> bool:
        marker = (org_id, request_id, key)
        if marker in self.claims:
            return False
        self.claims.add(marker)
        return True

    def release(self, org_id: str, request_id: str, key: str) -> None:
        self.claims.discard((org_id, request_id, key))


class FakeAudit:
    def __init__(self) -> None:
        self.entries_by_org: dict[str, list[tuple[str, str, str, str, dict[str, Any]]]] = {}
        self.keys: set[tuple[str, str]] = set()

    def append(
        self, org_id: str, event_key: str, actor: str, action: str, request_id: str, detail: Mapping[str, Any]
    ) -> bool:
        if (org_id, event_key) in self.keys:
            return False
        self.keys.add((org_id, event_key))
        self.entries_by_org.setdefault(org_id, []).append(
            (event_key, actor, action, request_id, dict(detail))
        )
        return True

    def actions(self, org_id: str) -> list[str]:
        return [entry[2] for entry in self.entries_by_org.get(org_id, [])]

    def entries(self, org_id: str) -> Iterator[AuditEntry]:
        raise NotImplementedError

    def head(self, org_id: str) -> None:
        return None


class FakeWorkflows:
    def __init__(self) -> None:
        self.started: dict[str, tuple[str, Mapping[str, object]]] = {}

    def machine_for(self, kind: RequestType) -> str:
        return "erasure" if kind is RequestType.ERASURE else "export"

    def start(self, machine: str, name: str, payload: Mapping[str, object]) -> None:
        self.started.setdefault(name, (machine, dict(payload)))


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail_next = 0

    def send(self, to: str, subject: str, text: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("SES is down")
        self.sent.append((to, subject, text))


class FakeExports:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    @contextmanager
    def writer(self, key: str) -> Iterator[io.BytesIO]:
        sink = io.BytesIO()
        yield sink
        self.objects[key] = sink.getvalue()

    def chunks(self, key: str) -> Iterator[bytes]:
        yield self.objects[key]

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def presign(self, key: str, seconds: int) -> str | None:
        return f"https://exports.example/{key}?expires={seconds}" if key in self.objects else None


@dataclass
class FakeStore:
    """Rows keyed by a phone or email of their subject; ``failures`` makes the next calls raise."""

    name: str
    rows_by_key: dict[str, list[dict[str, Cell]]] = field(default_factory=dict)
    failures: int = 0
    opt_outs: set[str] = field(default_factory=set)
    files_by_key: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return ("key", "value")

    def _keys(self, subject: Subject) -> set[str]:
        return set(subject.emails | subject.phones) & set(self.rows_by_key)

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("store unavailable")

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        self._maybe_fail()
        for key in sorted(self._keys(subject)):
            yield from self.rows_by_key[key]

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        for key in sorted(set(subject.emails | subject.phones) & set(self.files_by_key)):
            yield from self.files_by_key[key]

    def erase(self, subject: Subject) -> Erased:
        self._maybe_fail()
        deleted = 0
        for key in self._keys(subject):
            deleted += len(self.rows_by_key.pop(key))
        return Erased(deleted=deleted)

    def residue(self, subject: Subject) -> int:
        return sum(len(self.rows_by_key[key]) for key in self._keys(subject))


class OptOutStore(FakeStore):
    def opted_out(self, subject: Subject) -> frozenset[str]:
        return frozenset(subject.phones & self.opt_outs)


class FakeSuppression:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], bool] = {}

    def suppress(
        self, org_id: str, emails: frozenset[str], phones: frozenset[str], sms_opted_out: frozenset[str]
    ) -> int:
        for value in emails | phones:
            self.entries[(org_id, value)] = value in sms_opted_out
        return len(emails | phones)

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]:
        return frozenset(value for value in emails | phones if (org_id, value) in self.entries)


class Killed(Exception):
    """The test stops the execution here, as if the state machine were stopped."""


RunTask = Callable[[dict[str, Any]], Any]


def in_process(tasks: WorkflowTasks) -> RunTask:
    """Run a task payload on ``tasks`` the way the task Lambda does."""
    return lambda payload: tasks.run(TaskEvent.model_validate(payload))


def run_workflow(
    tasks: RunTask, machine: str, org_id: str, request_id: str, attempt: int, kill_at: str | None = None
) -> str:
    """Interpret the ASL file's top-level states (Task, Map over stores, Fail, Succeed) with its
    Retry (max attempts, no waiting) and Catch routes; returns the final state's name."""
    definition = json.loads((ASL / f"{machine}.asl.json").read_text())
    states = definition["States"]
    state_input: dict[str, Any] = {"org_id": org_id, "request_id": request_id, "attempt": attempt}
    name = definition["StartAt"]
    while True:
        if name == kill_at:
            raise Killed(name)
        state = states[name]
        if state["Type"] in ("Succeed", "Fail"):
            return str(name)
        try:
            if state["Type"] == "Map":
                stores = _payload({"items.$": state["ItemsPath"]}, state_input)["items"]
                for store in stores:
                    _run_store(tasks, state, {**state_input, "store": store})
                name = state["Next"]
                continue
            payload = _payload(state["Parameters"]["Payload"], state_input)
            result = _with_retry(tasks, state, payload)
            if state.get("ResultPath") == "$.plan":
                state_input["plan"] = {"result": result}
        except Exception as error:
            name = _catch(state, error, state_input)
            continue
        if state.get("End"):
            return str(name)
        name = state["Next"]


def _payload(template: Mapping[str, Any], state_input: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$") and value == "$$.Map.Item.Value":
            payload[key[:-2]] = state_input["store"]
        elif key.endswith(".$"):
            path = value.removeprefix("$.").split(".")
            found: Any = state_input
            for part in path:
                found = found[part]
            payload[key[:-2]] = found
        else:
            payload[key] = value
    return payload


def _with_retry(tasks: RunTask, state: Mapping[str, Any], payload: dict[str, Any]) -> Any:
    attempts = 0
    while True:
        try:
            return tasks(payload)
        except Exception as error:
            retry = _matching(state.get("Retry", []), error)
            attempts += 1
            if retry is None or attempts > retry.get("MaxAttempts", 3):
                raise


def _matching(rules: Sequence[Mapping[str, Any]], error: Exception) -> Mapping[str, Any] | None:
    for rule in rules:
        if type(error).__name__ in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]:
            return rule
    return None


def _catch(state: Mapping[str, Any], error: Exception, state_input: dict[str, Any]) -> str:
    rule = _matching(state.get("Catch", []), error)
    if rule is None:
        raise error
    state_input["error"] = {"Error": type(error).__name__}
    return str(rule["Next"])


def _run_store(tasks: RunTask, state: Mapping[str, Any], item: dict[str, Any]) -> None:
    """One Map item: its task, again while the task's Choice sends it back (``more``), else done."""
    processor = state["ItemProcessor"]
    states = processor["States"]
    payload = _payload(state["ItemSelector"], item)
    name = processor["StartAt"]
    while True:
        inner = states[name]
        try:
            result = _with_retry(tasks, inner, payload)
        except Exception as error:
            failed = states["StoreFailed"]
            _with_retry(
                tasks,
                failed,
                _payload(
                    failed["Parameters"]["Payload"], {**payload, "error": {"Error": type(error).__name__}}
                ),
            )
            return
        if inner.get("End"):
            return
        choice = states[inner["Next"]]
        assert choice["Type"] == "Choice", choice
        more = isinstance(result, Mapping) and result.get("more") is True
        name = choice["Choices"][0]["Next"] if more else choice["Default"]
        if states[name]["Type"] == "Succeed":
            return
