"""Data-subject requests with in-memory fakes: lifecycle, confirmation, deadlines, workflows that
are killed and retried, erasure proof, restriction and correction."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callproof.accounts.model import Member
from callproof.contacts.model import ContactIn, ContactPatch, ContactType
from callproof.contacts.service import ContactService
from callproof.dsar.api import ExtendIn, PublicRequestIn, RequestIn, SubjectChoiceIn
from callproof.dsar.deadline_check import deadline_states
from callproof.dsar.deadlines import DeadlineState
from callproof.dsar.erasure_steps import ErasureIncomplete
from callproof.dsar.lifecycle import RequestLifecycle
from callproof.dsar.model import (
    CandidateKind,
    Cell,
    Erased,
    Proof,
    RequestType,
    Status,
    StepStatus,
    StoreProgress,
    Subject,
)
from callproof.dsar.public import PublicRequests
from callproof.dsar.service import DsarService
from callproof.dsar.subjects import SubjectResolver
from callproof.dsar.workflow import TaskEvent, WorkflowTasks
from callproof.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, TooManyRequests
from callproof.otp import CodeLocked, OneTimeCodes, WrongCode
from callproof.ratelimit import RateLimits
from callproof.sms.model import OrgSmsConfig
from callproof.sms.verification import PhoneVerification
from callproof.tenancy import Caller, Role
from tests.dsar_fakes import (
    FakeAudit,
    FakeExports,
    FakeMailer,
    FakeRequests,
    FakeStore,
    FakeSuppression,
    FakeWorkflows,
    Killed,
    OptOutStore,
    in_process,
    run_workflow,
)
from tests.fakes import (
    FakeSmsGateway,
    FixedOrgSettings,
    InMemoryCodeStore,
    InMemoryContactStore,
    InMemoryMemberStore,
    InMemoryRateCounter,
    InMemorySmsStore,
)

KEY = b"k" * 32
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
STAFF = Caller("org-a", "staff-1", frozenset({Role.COMPLIANCE}))
ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN, Role.REP}))
ADA = "ada@example.com"
ADA_PHONE = "+14155550100"
SENDER = "+15005550006"


@dataclass
class World:
    service: DsarService
    public: PublicRequests
    tasks: WorkflowTasks
    requests: FakeRequests
    audit: FakeAudit
    workflows: FakeWorkflows
    mailer: FakeMailer
    exports: FakeExports
    suppression: FakeSuppression
    contacts: ContactService
    store: InMemoryContactStore
    calls: FakeStore
    sms: OptOutStore
    clock: list[datetime]
    texts: FakeSmsGateway
    members: InMemoryMemberStore

    def run(self, request_id: str, kill_at: str | None = None, org: str = "org-a") -> str:
        request = self.requests.get(org, request_id)
        assert request is not None
        machine = "erasure" if request.type is RequestType.ERASURE else "export"
        return run_workflow(in_process(self.tasks), machine, org, request_id, request.attempt, kill_at)

    def link(self, to: str) -> str:
        text = next(text for who, _, text in reversed(self.mailer.sent) if who == to)
        return str(re.findall(r"token=(\S+)", text)[0])

    def code(self, to: str) -> str:
        text = next(str(sent["body"]) for sent in reversed(self.texts.sent) if sent["to"] == to)
        return str(re.findall(r"\b(\d{6})\b", text)[0])


@pytest.fixture
def world() -> World:
    clock = [NOW]
    requests, audit, workflows, mailer = FakeRequests(), FakeAudit(), FakeWorkflows(), FakeMailer()
    exports, suppression = FakeExports(), FakeSuppression()
    store, orgs = InMemoryContactStore(), FixedOrgSettings("US")
    contacts = ContactService(store, orgs, clock=lambda: clock[0])
    members = InMemoryMemberStore()
    resolver = SubjectResolver(store, members)
    calls = FakeStore("call_logs")
    sms = OptOutStore("sms")
    texts, gateway = InMemorySmsStore(), FakeSmsGateway()
    texts.configs["org-a"] = OrgSmsConfig(org_id="org-a", phone_numbers=(SENDER,))
    phones = PhoneVerification(
        OneTimeCodes(InMemoryCodeStore(), lambda: KEY, lambda: clock[0]),
        RateLimits(InMemoryRateCounter(), lambda: KEY, lambda: clock[0]),
        texts,
        lambda: gateway,
        suppression,
    )
    lifecycle = RequestLifecycle(
        requests=requests,
        audit=audit,
        workflows=workflows,
        machines=workflows,
        resolver=resolver,
        restrictions=store,
        downloads=exports,
        mailer=mailer,
        link_key=lambda: KEY,
        phone_region=orgs.default_phone_region,
        public_base_url="https://api.example/dev",
        clock=lambda: clock[0],
    )
    service = DsarService(lifecycle, resolver, corrections=contacts)
    public = PublicRequests(
        lifecycle,
        link_key=lambda: KEY,
        limits=RateLimits(InMemoryRateCounter(), lambda: KEY, lambda: clock[0]),
        phones=phones,
        public_rate_per_hour=3,
    )
    tasks = WorkflowTasks(
        requests=requests,
        audit=audit,
        stores={"call_logs": calls, "sms": sms},
        suppression=suppression,
        exports=exports,
        mailer=mailer,
        link_key=lambda: KEY,
        public_base_url="https://api.example/dev",
        clock=lambda: clock[0],
        settle=lambda attempt: None,
    )
    world = World(
        service,
        public,
        tasks,
        requests,
        audit,
        workflows,
        mailer,
        exports,
        suppression,
        contacts,
        store,
        calls,
        sms,
        clock,
        gateway,
        members,
    )
    contacts.create(ADMIN, ContactIn(name="Ada", type=ContactType.CUSTOMER, emails=[ADA], phones=[ADA_PHONE]))
    contacts.create(
        ADMIN,
        ContactIn(name="Bob", type=ContactType.CUSTOMER, emails=["bob@example.com"], phones=["+14155550199"]),
    )
    calls.rows_by_key = {
        ADA_PHONE: [{"key": ADA_PHONE, "value": "call 1"}, {"key": ADA_PHONE, "value": "call 2"}],
        "+14155550199": [{"key": "bob", "value": "call"}],
    }
    sms.rows_by_key = {ADA_PHONE: [{"key": ADA_PHONE, "value": "STOP"}]}
    sms.opt_outs = {ADA_PHONE}
    return world


def request_in(kind: RequestType = RequestType.ACCESS, **overrides: object) -> RequestIn:
    data: dict[str, object] = {
        "type": kind,
        "subject": {"email": ADA},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "verification": "ID checked on a call",
        **overrides,
    }
    return RequestIn.model_validate(data)


# ------------------------------------------------------------------------------------ access / export
def test_access_exports_every_store_and_emails_one_link(world: World) -> None:
    request = world.service.create(STAFF, request_in())
    assert request.status is Status.IN_PROGRESS
    assert world.run(request.id) == "Finish"
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert done.stores["call_logs"].rows == 2
    assert done.stores["sms"].rows == 1
    assert done.export_key is not None
    assert done.export_key in world.exports.objects
    assert world.exports.objects[done.export_key][:2] == b"PK"
    assert [to for to, _, _ in world.mailer.sent] == [ADA]
    assert "/privacy/download?token=" in world.mailer.sent[0][2]
    url = world.public.public_download(world.link(ADA))
    assert url.startswith("https://exports.example/")
    assert world.service.download_url(STAFF, request.id)[0] == url


@pytest.mark.parametrize("kill_at", ["Begin", "Collect", "Assemble", "Deliver", "Finish"])
def test_a_killed_export_resumes_on_retry_without_duplicates(world: World, kill_at: str) -> None:
    request = world.service.create(STAFF, request_in())
    with pytest.raises(Killed):
        world.run(request.id, kill_at=kill_at)
    stuck = world.requests.get("org-a", request.id)
    assert stuck is not None
    # The execution was stopped: staff see it stuck and the failure handler marks it.
    world.tasks.run(_event("needs_attention", stuck.attempt, error="States.Timeout", request_id=request.id))
    retried = world.service.retry(STAFF, request.id)
    assert retried.attempt == 2
    assert world.run(request.id) == "Finish"
    assert world.requests.get("org-a", request.id).status is Status.COMPLETED  # type: ignore[union-attr]
    assert len(world.mailer.sent) == 1
    keys = [entry[0] for entry in world.audit.entries_by_org["org-a"]]
    assert len(keys) == len(set(keys))
    assert world.audit.actions("org-a").count("export.delivered") == 1


def test_a_crash_after_the_email_never_sends_it_twice(world: World) -> None:
    """The deliver step sends, then dies before recording it; the state machine's retry runs the
    step again: the once-marker keeps the second email from leaving."""
    request = world.service.create(STAFF, request_in())
    world.requests.fail_saves_after_claim = 1
    assert world.run(request.id) == "Finish"
    assert len(world.mailer.sent) == 1
    assert world.requests.get("org-a", request.id).status is Status.COMPLETED  # type: ignore[union-attr]


def test_a_failed_send_is_retried(world: World) -> None:
    request = world.service.create(STAFF, request_in())
    world.mailer.fail_next = 1
    assert world.run(request.id) == "Finish"
    assert len(world.mailer.sent) == 1


def test_a_store_that_keeps_failing_leaves_the_request_needing_attention(world: World) -> None:
    world.calls.failures = 4  # more than the task's retries
    request = world.service.create(STAFF, request_in())
    assert world.run(request.id) == "Stopped"
    stuck = world.requests.get("org-a", request.id)
    assert stuck is not None
    assert stuck.status is Status.NEEDS_ATTENTION
    assert stuck.stores["call_logs"].status is StepStatus.FAILED
    assert stuck.stores["sms"].status is StepStatus.DONE
    world.service.retry(STAFF, request.id)
    assert world.run(request.id) == "Finish"
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert done.stores["sms"].attempts == 1  # finished steps are not redone


def test_identifiers_that_match_nothing_complete_with_zero_rows(world: World) -> None:
    request = world.service.create(STAFF, request_in(subject={"email": "nobody@example.com"}))
    assert world.run(request.id) == "Finish"
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert {name: p.rows for name, p in done.stores.items()} == {"call_logs": 0, "sms": 0}


def test_portability_sends_the_link_to_the_third_party_and_records_a_receipt(world: World) -> None:
    request = world.service.create(
        STAFF, request_in(RequestType.PORTABILITY, recipient_email="dpo@newcrm.example")
    )
    world.run(request.id)
    assert [to for to, _, _ in world.mailer.sent] == ["dpo@newcrm.example"]
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert any(e.detail == "delivered to the named third party" for e in done.timeline)
    assert "export.transferred" in world.audit.actions("org-a")


# ------------------------------------------------------------------------------------ erasure
def test_erasure_waits_for_the_emailed_confirmation(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    assert request.status is Status.PENDING_CONFIRMATION
    assert world.workflows.started == {}
    token = world.link(ADA)
    assert world.public.pending(token).id == request.id
    confirmed = world.public.confirm(token)
    assert confirmed.status is Status.IN_PROGRESS
    assert next(iter(world.workflows.started.values()))[0] == "erasure"
    with pytest.raises(Gone):
        world.public.confirm(token)  # single use


def test_erasure_deletes_proves_and_keeps_the_opt_out_under_a_hash(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    assert world.run(request.id) == "Finish"
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert {name: (p.deleted, p.residue) for name, p in done.stores.items()} == {
        "call_logs": (2, 0),
        "sms": (1, 0),
    }
    assert world.suppression.entries[("org-a", ADA_PHONE)] is True  # the SMS opt-out survives
    assert world.suppression.entries[("org-a", ADA)] is False
    assert world.calls.rows_by_key.keys() == {"+14155550199"}  # Bob untouched
    assert done.identifiers.email is None
    assert done.subject is not None
    assert not done.subject.phones
    verified = [e for e in world.audit.entries_by_org["org-a"] if e[2] == "erasure.verified"]
    assert verified[0][4]["call_logs.deleted"] == 2
    assert verified[0][4]["sms.residue"] == 0


def test_residue_that_clears_on_a_second_look_is_none(world: World) -> None:
    """An index that still lists a deleted item for a moment does not fail the proof."""

    class Lagging(FakeStore):
        looks = 0

        def residue(self, subject: object) -> int:
            self.looks += 1
            return 1 if self.looks == 1 else 0

    world.tasks._stores = {"lagging": Lagging("lagging")}
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    assert world.run(request.id) == "Finish"


def test_stores_erased_last_wait_for_the_others(world: World) -> None:
    order: list[str] = []

    class Recording(FakeStore):
        def erase(self, subject: Subject) -> Erased:
            order.append(self.name)
            return super().erase(subject)

    world.tasks._stores = {name: Recording(name) for name in ("contacts", "call_logs", "sms")}
    world.tasks._erased_last = frozenset({"contacts"})
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    assert world.run(request.id) == "Finish"
    assert order == ["call_logs", "sms", "contacts"]


def test_erasure_with_residue_needs_attention(world: World) -> None:
    class Leaky(FakeStore):
        def residue(self, subject: object) -> int:
            return 1

    world.tasks._stores = {"leaky": Leaky("leaky")}
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    assert world.run(request.id) == "Stopped"
    stuck = world.requests.get("org-a", request.id)
    assert stuck is not None
    assert stuck.status is Status.NEEDS_ATTENTION
    assert stuck.stores["leaky"].residue == 1


def test_one_leaky_store_among_clean_ones_fails_the_proof(world: World) -> None:
    """The proof holds only if every store is clean: one leaky store next to clean ones is enough
    to stop the request (a check of "all stores leak" would let this through)."""

    class Leaky(FakeStore):
        def residue(self, subject: object) -> int:
            return 3

    world.tasks._stores = {**world.tasks._stores, "leaky": Leaky("leaky")}
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    assert world.run(request.id) == "Stopped"
    stuck = world.requests.get("org-a", request.id)
    assert stuck is not None
    assert stuck.status is Status.NEEDS_ATTENTION
    assert {name: p.residue for name, p in stuck.stores.items()} == {"call_logs": 0, "sms": 0, "leaky": 3}
    assert stuck.stores["leaky"].status is StepStatus.FAILED
    assert stuck.stores["call_logs"].status is StepStatus.DONE
    assert "erasure.verified" not in world.audit.actions("org-a")


def test_verify_refuses_while_a_store_is_not_erased(world: World) -> None:
    """A store that failed (or never ran) cannot be proven clean: verify stops before scanning."""
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    with pytest.raises(Killed):
        world.run(request.id, kill_at="Verify")
    running = world.requests.get("org-a", request.id)
    assert running is not None
    world.requests.set_store(
        "org-a", request.id, "sms", StoreProgress(status=StepStatus.FAILED, error="Boom")
    )
    with pytest.raises(ErasureIncomplete, match="1 store"):
        world.tasks.run(_event("verify", running.attempt, request_id=request.id))
    after = world.requests.get("org-a", request.id)
    assert after is not None
    assert after.stores["call_logs"].residue is None  # nothing was scanned
    assert "erasure.verified" not in world.audit.actions("org-a")


def _tasks(
    world: World, stores: dict[str, FakeStore], suppression: FakeSuppression | None = None
) -> WorkflowTasks:
    """The world's task function with other stores (or without a suppression list), waiting between
    residue looks as deployed (``time.sleep``)."""
    return WorkflowTasks(
        requests=world.requests,
        audit=world.audit,
        stores=stores,
        suppression=suppression,
        exports=world.exports,
        mailer=world.mailer,
        link_key=lambda: KEY,
        public_base_url="https://api.example/dev",
        clock=lambda: world.clock[0],
    )


def _confirmed_erasure(world: World) -> tuple[str, Callable[..., dict[str, object]]]:
    """Ada's erasure, confirmed and started; and a way to run its steps one by one."""
    request_id = world.service.create(STAFF, request_in(RequestType.ERASURE)).id
    attempt = world.public.confirm(world.link(ADA)).attempt

    def step(name: str, **fields: object) -> dict[str, object]:
        return world.tasks.run(_event(name, attempt, request_id=request_id, **fields))

    return request_id, step


def _audited(world: World, action: str) -> list[tuple[str, str, dict[str, object]]]:
    return [
        (key, actor, detail)
        for key, actor, act, _, detail in world.audit.entries_by_org["org-a"]
        if act == action
    ]


def test_the_audit_records_each_erasure_step_with_its_counts_and_legal_basis(world: World) -> None:
    request_id, _ = _confirmed_erasure(world)
    assert world.run(request_id) == "Finish"
    assert _audited(world, "erasure.suppressed") == [
        (
            f"{request_id}:erasure.suppressed",
            "system",
            {
                "entries": 2,
                "sms_opt_outs_kept": 1,
                "basis": "legal obligation: SMS opt-out kept as a keyed hash",
            },
        )
    ]
    assert _audited(world, "erasure.erased") == [
        (f"{request_id}:erasure.erased:call_logs", "system", {"store": "call_logs", "deleted": 2, "kept": 0}),
        (f"{request_id}:erasure.erased:sms", "system", {"store": "sms", "deleted": 1, "kept": 0}),
    ]
    done = world.requests.get("org-a", request_id)
    assert done is not None
    assert done.steps == {"suppress": StepStatus.DONE, "verify": StepStatus.DONE}  # the console shows these


def test_what_a_store_keeps_is_counted_with_its_reasons_and_notes(world: World) -> None:
    class Keeping(FakeStore):
        def erase(self, subject: Subject) -> Erased:
            deleted = super().erase(subject).deleted
            reasons = ("calls a rep logged: the employer's record", "consent ledger: evidence")
            return Erased(
                deleted, kept=3, kept_reasons=reasons, notes=("Gmail: not revoked", "calendar: not revoked")
            )

    world.tasks = _tasks(
        world, {"keeping": Keeping("keeping", {ADA: [{"key": ADA, "value": "x"}]})}, world.suppression
    )
    request_id, _ = _confirmed_erasure(world)
    assert world.run(request_id) == "Finish"
    done = world.requests.get("org-a", request_id)
    assert done is not None
    assert done.stores == {
        "keeping": StoreProgress(
            status=StepStatus.DONE,
            deleted=1,
            kept=3,
            kept_because="calls a rep logged: the employer's record; consent ledger: evidence",
            residue=0,
            attempts=1,
        )
    }
    assert _audited(world, "erasure.erased")[0][2] == {
        "store": "keeping",
        "deleted": 1,
        "kept": 3,
        "kept_because": "calls a rep logged: the employer's record; consent ledger: evidence",
        "notes": "Gmail: not revoked; calendar: not revoked",
    }
    verified = _audited(world, "erasure.verified")[0][2]
    assert verified == {"keeping.deleted": 1, "keeping.kept": 3, "keeping.residue": 0}


def test_each_erasure_task_reports_what_it_did_and_a_replayed_step_does_nothing_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task function's reply is the step's output in the execution history. Step Functions may
    run a task again (its reply was lost): a step that finds its work recorded does not redo it."""
    written: list[frozenset[str]] = []
    suppress = world.suppression.suppress

    def recording(org_id: str, emails: frozenset[str], phones: frozenset[str], opted: frozenset[str]) -> int:
        written.append(emails | phones)
        return suppress(org_id, emails, phones, opted)

    monkeypatch.setattr(world.suppression, "suppress", recording)
    request_id, step = _confirmed_erasure(world)
    step("begin")
    assert step("suppress") == {"entries": 2}
    step("suppress")
    assert written == [frozenset({ADA, ADA_PHONE})]  # written once
    assert step("erase", store="call_logs") == {"store": "call_logs", "deleted": 2}
    assert step("erase", store="call_logs") == {"store": "call_logs", "deleted": 2}  # as recorded
    assert step("erase", store="sms") == {"store": "sms", "deleted": 1}
    assert step("verify") == {"residue": 0}
    done = world.requests.get("org-a", request_id)
    assert done is not None
    assert {name: p.attempts for name, p in done.stores.items()} == {"call_logs": 1, "sms": 1}


def test_without_a_suppression_list_the_audit_counts_no_entries(world: World) -> None:
    world.tasks = _tasks(world, {"call_logs": world.calls, "sms": world.sms})
    request_id, _ = _confirmed_erasure(world)
    assert world.run(request_id) == "Finish"
    assert _audited(world, "erasure.suppressed")[0][2]["entries"] == 0
    assert world.suppression.entries == {}


def test_verify_refuses_before_any_store_was_erased(world: World) -> None:
    _, step = _confirmed_erasure(world)
    step("begin")
    step("suppress")
    with pytest.raises(ErasureIncomplete, match=r"^2 store\(s\) were not erased$"):
        step("verify")


class LaggingIndex(FakeStore):
    """Deletes the subject's rows, but its index still lists them for the first ``lag`` looks."""

    def __init__(self, lag: int) -> None:
        super().__init__("lagging", {ADA_PHONE: [{"key": ADA_PHONE, "value": "call"}] * 2})
        self.lag = lag
        self.looks = 0
        self.listed: dict[str, int] = {}

    def erase(self, subject: Subject) -> Erased:
        self.listed = {key: len(rows) for key, rows in self.rows_by_key.items()}
        return super().erase(subject)

    def residue(self, subject: Subject) -> int:
        self.looks += 1
        listed = sum(self.listed.get(key, 0) for key in subject.emails | subject.phones)
        return listed if self.looks <= self.lag else 0


@pytest.mark.parametrize(
    ("lag", "waits"),
    [(0, []), (1, [1]), (3, [1, 2, 4]), (4, [1, 2, 4])],
)
def test_residue_is_looked_at_again_after_1_2_and_4_seconds_before_it_counts(
    world: World, monkeypatch: pytest.MonkeyPatch, lag: int, waits: list[int]
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    store = LaggingIndex(lag)
    world.tasks = _tasks(world, {"lagging": store}, world.suppression)
    request_id, step = _confirmed_erasure(world)
    step("begin")
    step("suppress")
    step("erase", store="lagging")
    if lag < 4:  # cleared by the fourth look at the latest
        assert step("verify") == {"residue": 0}
    else:
        with pytest.raises(ErasureIncomplete, match=r"^the residue scan still finds data of the subject$"):
            step("verify")
    assert slept == waits
    assert store.looks == len(waits) + 1
    progress = world.requests.get("org-a", request_id).stores["lagging"]  # type: ignore[union-attr]
    if lag < 4:
        assert (progress.status, progress.residue, progress.error) == (StepStatus.DONE, 0, None)
    else:  # what staff see on the request: the store failed on residue, and how much
        assert (progress.status, progress.residue, progress.error) == (StepStatus.FAILED, 2, "Residue")
        assert progress.deleted == 2


@pytest.mark.parametrize("kill_at", ["Begin", "Suppress", "Erase", "Verify", "Finish"])
def test_a_killed_erasure_reaches_the_same_end_on_retry(world: World, kill_at: str) -> None:
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    with pytest.raises(Killed):
        world.run(request.id, kill_at=kill_at)
    stuck = world.requests.get("org-a", request.id)
    assert stuck is not None
    world.tasks.run(_event("needs_attention", stuck.attempt, error="States.Timeout", request_id=request.id))
    world.service.retry(STAFF, request.id)
    assert world.run(request.id) == "Finish"
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert {name: (p.deleted, p.residue) for name, p in done.stores.items()} == {
        "call_logs": (2, 0),
        "sms": (1, 0),
    }
    assert {p.attempts for p in done.stores.values()} == {1}  # an erased store is not erased again
    assert world.suppression.entries[("org-a", ADA_PHONE)] is True
    assert [subject for _, subject, _ in world.mailer.sent] == [  # one notice, whatever was replayed
        "Confirm your privacy request",
        "Your privacy request: erasure complete",
    ]
    keys = [entry[0] for entry in world.audit.entries_by_org["org-a"]]
    assert len(keys) == len(set(keys))


def test_a_cancelled_request_stops_its_workflow(world: World) -> None:
    request = world.service.create(STAFF, request_in())
    world.service.cancel(STAFF, request.id, "the person withdrew the request")
    assert world.run(request.id) == "Cancelled"
    assert world.mailer.sent == []


# ------------------------------------------------------------------------------------ public
def test_public_requests_are_rate_limited_and_change_nothing_when_refused(world: World) -> None:
    body = PublicRequestIn.model_validate(
        {"org_id": "org-a", "type": "access", "email": ADA, "jurisdiction": "ccpa"}
    )
    for _ in range(3):
        world.public.public_request(body, "203.0.113.9")
    before = len(world.requests.items)
    with pytest.raises(TooManyRequests):
        world.public.public_request(body, "203.0.113.9")
    assert len(world.requests.items) == before


def test_an_expired_confirmation_link_is_gone(world: World) -> None:
    body = PublicRequestIn.model_validate(
        {"org_id": "org-a", "type": "erasure", "email": ADA, "jurisdiction": "gdpr"}
    )
    world.public.public_request(body, "198.51.100.1")
    token = world.link(ADA)
    world.clock[0] = NOW + timedelta(days=7, seconds=1)
    with pytest.raises(Gone):
        world.public.confirm(token)
    with pytest.raises(InvalidInput):
        world.public.confirm(token[:-3] + "xyz")


# ------------------------------------------------------------------------------------ identity proof
MALLORY = "mallory@evil.example"


def public(kind: str = "access", **values: object) -> PublicRequestIn:
    return PublicRequestIn.model_validate(
        {"org_id": "org-a", "type": kind, "email": MALLORY, "jurisdiction": "gdpr", **values}
    )


@pytest.mark.parametrize("kind", ["access", "erasure"])
def test_a_stranger_with_someone_elses_phone_reaches_only_their_own_email(world: World, kind: str) -> None:
    world.public.public_request(public(kind, phone=ADA_PHONE), "203.0.113.9")
    assert [sent["to"] for sent in world.texts.sent] == [ADA_PHONE]  # the code goes to Ada, not Mallory
    assert world.texts.sent[0]["sender"] == SENDER
    confirmed = world.public.confirm(world.link(MALLORY))  # no code: the phone stays unverified
    assert confirmed.identifiers.unverified == {Proof.PHONE}
    assert confirmed.subject is not None
    assert confirmed.subject.emails == {MALLORY}
    assert confirmed.subject.phones == frozenset()
    assert confirmed.subject.contact_ids == frozenset()
    world.run(confirmed.id)
    assert world.calls.rows_by_key[ADA_PHONE]  # Ada's calls: neither exported nor erased
    assert world.sms.rows_by_key[ADA_PHONE]
    done = world.requests.get("org-a", confirmed.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert all(progress.rows == 0 and progress.deleted == 0 for progress in done.stores.values())


def test_a_wrong_code_confirms_nothing_and_five_lock_it(world: World) -> None:
    world.public.public_request(public(phone=ADA_PHONE), "203.0.113.9")
    token, code = world.link(MALLORY), world.code(ADA_PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(WrongCode):
            world.public.confirm(token, wrong)
    pending = world.public.pending(token)  # still waiting: nothing was confirmed
    assert pending.status is Status.PENDING_CONFIRMATION
    with pytest.raises(CodeLocked):
        world.public.confirm(token, wrong)
    with pytest.raises(CodeLocked):
        world.public.confirm(token, code)
    assert world.workflows.started == {}


def test_the_right_code_proves_the_phone_and_reaches_its_records(world: World) -> None:
    world.public.public_request(public(phone=ADA_PHONE), "203.0.113.9")
    confirmed = world.public.confirm(world.link(MALLORY), world.code(ADA_PHONE))
    assert confirmed.identifiers.proven == {Proof.EMAIL, Proof.PHONE}
    assert confirmed.subject is not None
    assert len(confirmed.subject.contact_ids) == 1
    assert ADA_PHONE in confirmed.subject.phones
    assert ADA in confirmed.subject.emails
    world.run(confirmed.id)
    done = world.requests.get("org-a", confirmed.id)
    assert done is not None
    assert done.stores["call_logs"].rows == 2
    assert "phone.proven" in world.audit.actions("org-a")


def test_a_new_code_replaces_the_old_and_a_used_code_is_refused(world: World) -> None:
    world.public.public_request(public(phone=ADA_PHONE), "203.0.113.9")
    token = world.link(MALLORY)
    first = world.code(ADA_PHONE)
    world.public.send_code(token, "203.0.113.9")
    second = world.code(ADA_PHONE)
    if first != second:
        with pytest.raises(WrongCode):
            world.public.confirm(token, first)
    world.public.confirm(token, second)
    with pytest.raises(Gone):  # the link and its code were used
        world.public.confirm(token, second)


def test_codes_are_limited_per_number_across_requests(world: World) -> None:
    for index in range(3):  # the filing texts one code each
        world.public.public_request(
            public(phone=ADA_PHONE, email=f"m{index}@evil.example"), f"203.0.113.{index}"
        )
    world.public.public_request(public(phone=ADA_PHONE, email="m9@evil.example"), "203.0.113.50")
    assert len(world.texts.sent) == 3  # the fourth request is recorded, but no fourth text
    with pytest.raises(TooManyRequests):
        world.public.send_code(world.link("m9@evil.example"), "203.0.113.51")


def test_no_code_to_a_number_that_opted_out_or_without_a_sender(world: World) -> None:
    world.public.public_request(public(phone="+14155550177"), "203.0.113.9")
    assert len(world.texts.sent) == 1
    world.suppression.suppress("org-a", frozenset(), frozenset({"+14155550178"}), frozenset())
    world.public.public_request(public(phone="+14155550178", email="x@evil.example"), "203.0.113.9")
    body = PublicRequestIn.model_validate(
        {
            "org_id": "org-z",
            "type": "access",
            "email": "y@evil.example",
            "phone": ADA_PHONE,
            "jurisdiction": "gdpr",
        }
    )
    world.public.public_request(body, "203.0.113.8")
    assert len(world.texts.sent) == 1


def test_public_filing_limits_count_across_orgs(world: World) -> None:
    for org in ("org-a", "org-b", "org-c"):
        world.public.public_request(public(org_id=org, email=f"p@{org}.example"), "203.0.113.9")
    with pytest.raises(TooManyRequests):
        world.public.public_request(public(org_id="org-d", email="p@org-d.example"), "203.0.113.9")
    for client in ("203.0.113.20", "203.0.113.21"):
        world.public.public_request(public(org_id="org-e", email="same@example.com"), client)
    world.public.public_request(public(org_id="org-f", email="same@example.com"), "203.0.113.22")
    with pytest.raises(TooManyRequests):
        world.public.public_request(public(org_id="org-g", email="same@example.com"), "203.0.113.23")


def _switchboard(world: World) -> list[str]:
    return sorted(
        world.contacts.create(
            ADMIN,
            ContactIn(
                name=name, type=ContactType.CUSTOMER, emails=[f"{name}@corp.example"], phones=[SWITCHBOARD]
            ),
        ).id
        for name in ("a", "b", "c")
    )


SWITCHBOARD = "+14155550150"


def test_a_switchboard_erasure_waits_for_staff_to_choose(world: World) -> None:
    ids = _switchboard(world)
    request = world.service.create(
        STAFF, request_in(RequestType.ERASURE, subject={"email": "a@corp.example", "phone": SWITCHBOARD})
    )
    review = world.public.confirm(world.link("a@corp.example"))
    assert review.status is Status.NEEDS_REVIEW
    assert review.subject is None
    assert sorted(c.id for c in review.candidates) == ids
    assert world.workflows.started == {}
    with pytest.raises(ValueError, match="at least one"):
        SubjectChoiceIn(contact_ids=[], reason="nobody")
    with pytest.raises(InvalidInput):  # only candidates can be chosen
        world.service.choose_subject(
            STAFF, request.id, SubjectChoiceIn(contact_ids=["other"], reason="checked")
        )
    chosen_id = next(c.id for c in review.candidates if "email" in c.via)
    with pytest.raises(Forbidden):
        world.service.choose_subject(
            ADMIN, request.id, SubjectChoiceIn(contact_ids=[chosen_id], reason="x y z")
        )
    started = world.service.choose_subject(
        STAFF, request.id, SubjectChoiceIn(contact_ids=[chosen_id], reason="ID checked; desk phone is shared")
    )
    assert started.status is Status.IN_PROGRESS
    assert started.subject is not None
    assert started.subject.contact_ids == {chosen_id}
    assert SWITCHBOARD not in started.subject.phones
    entry = next(e for e in world.audit.entries_by_org["org-a"] if e[2] == "subject.chosen")
    assert entry[4]["contacts"] == chosen_id
    assert "desk phone" not in str(entry[4])  # the reason is in the timeline, hashed in the audit
    assert any("desk phone" in (event.detail or "") for event in started.timeline)
    with pytest.raises(Conflict):  # once chosen, the subject is settled
        world.service.choose_subject(
            STAFF, request.id, SubjectChoiceIn(contact_ids=[chosen_id], reason="again")
        )


def test_a_restriction_of_an_ambiguous_subject_restricts_nothing_until_chosen(world: World) -> None:
    ids = _switchboard(world)
    review = world.service.create(STAFF, request_in(RequestType.RESTRICTION, subject={"phone": SWITCHBOARD}))
    assert review.status is Status.NEEDS_REVIEW
    assert not any(world.store.get("org-a", contact_id).restricted for contact_id in ids)  # type: ignore[union-attr]
    done = world.service.choose_subject(
        STAFF, review.id, SubjectChoiceIn(contact_ids=[ids[1]], reason="chosen")
    )
    assert done.status is Status.COMPLETED
    assert [world.store.get("org-a", i).restricted for i in ids] == [False, True, False]  # type: ignore[union-attr]


def test_a_members_own_request_goes_to_review_and_staff_may_include_the_account(world: World) -> None:
    world.members.put(None, Member("org-a", "user-7", "grace@callproof.example", "Grace"))
    review = world.service.create(STAFF, request_in(subject={"email": "grace@callproof.example"}))
    assert review.status is Status.NEEDS_REVIEW
    assert [(c.kind, c.id) for c in review.candidates] == [(CandidateKind.USER, "user-7")]
    started = world.service.choose_subject(
        STAFF, review.id, SubjectChoiceIn(user_ids=["user-7"], reason="own account")
    )
    assert started.subject is not None
    assert started.subject.user_ids == {"user-7"}


# ------------------------------------------------------------------------------------ staff rules
def test_only_compliance_staff_use_the_requests_api(world: World) -> None:
    with pytest.raises(Forbidden):
        world.service.create(ADMIN, request_in())
    request = world.service.create(STAFF, request_in())
    with pytest.raises(Forbidden):
        world.service.get(ADMIN, request.id)
    with pytest.raises(NotFound):
        world.service.get(Caller("org-b", "staff-2", frozenset({Role.COMPLIANCE})), request.id)


def test_extension_rules(world: World) -> None:
    request = world.service.create(STAFF, request_in(received="2026-11-20"))
    extended = world.service.extend(STAFF, request.id, _extend("complex request: 3 mailboxes"))
    assert extended.deadline.due == date(2027, 2, 20)
    assert any("more time" in subject for _, subject, _ in world.mailer.sent)
    ccpa = world.service.create(STAFF, request_in(jurisdiction="ccpa", received="2026-10-01"))
    world.clock[0] = datetime(2026, 11, 16, tzinfo=UTC)  # 46 days after receipt: past the original due date
    with pytest.raises(Conflict):
        world.service.extend(STAFF, ccpa.id, _extend("too late"))


def test_restriction_flags_and_lifts(world: World) -> None:
    world.service.create(STAFF, request_in(RequestType.RESTRICTION))
    ada = next(c for c in world.store.contacts.values() if ADA in c.emails)
    assert ada.restricted
    done = world.service.create(STAFF, request_in(RequestType.RESTRICTION, lift=True))
    assert done.status is Status.COMPLETED
    assert not world.store.contacts[("org-a", ada.id)].restricted


def test_correction_through_the_request_is_audited(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.CORRECTION))
    assert request.status is Status.AWAITING_CORRECTION
    ada = next(c for c in world.store.contacts.values() if ADA in c.emails)
    bob = next(c for c in world.store.contacts.values() if ADA not in c.emails)
    with pytest.raises(NotFound):  # not the subject's contact
        world.service.correct(STAFF, request.id, bob.id, ContactPatch(name="Robert"))
    corrected = world.service.correct(STAFF, request.id, ada.id, ContactPatch(name="Ada Lovelace"))
    assert corrected.name == "Ada Lovelace"
    assert world.requests.get("org-a", request.id).status is Status.COMPLETED  # type: ignore[union-attr]
    entry = next(e for e in world.audit.entries_by_org["org-a"] if e[2] == "correction.applied")
    assert entry[4] == {"fields": "name"}
    assert "Lovelace" not in str(entry)


def test_the_daily_check_flags_due_soon_and_overdue(world: World) -> None:
    soon = world.service.create(STAFF, request_in(RequestType.CORRECTION, received="2026-11-10"))
    late = world.service.create(STAFF, request_in(RequestType.CORRECTION, received="2026-10-01"))
    calm = world.service.create(STAFF, request_in(RequestType.CORRECTION, received="2026-11-27"))
    body = PublicRequestIn.model_validate(
        {"org_id": "org-a", "type": "access", "email": ADA, "jurisdiction": "gdpr", "details": "old address"}
    )
    unconfirmed = world.public.public_request(body, "192.0.2.1")
    assert unconfirmed.details == "old address"
    counts = deadline_states(world.requests, datetime(2026, 12, 6, tzinfo=UTC))
    assert counts == {"on_track": 1, "due_soon": 1, "overdue": 1, "expired": 1}
    assert world.requests.get("org-a", unconfirmed.id).status is Status.EXPIRED  # type: ignore[union-attr]
    states = {r.id: r.deadline_state for r in world.requests.items.values() if r.id != unconfirmed.id}
    assert states[soon.id] is DeadlineState.DUE_SOON
    assert states[late.id] is DeadlineState.OVERDUE
    assert states[calm.id] is DeadlineState.ON_TRACK
    listed = world.service.page(STAFF, None, None, 10, None)[0]
    assert [r.id for r in listed] == [late.id, soon.id, calm.id, unconfirmed.id]


def test_bad_input_is_refused_before_anything_changes(world: World) -> None:
    with pytest.raises(ValueError, match="type"):
        RequestIn.model_validate({**request_in().model_dump(mode="json"), "type": "delete-everything"})
    with pytest.raises(ValueError, match="recipient_email"):
        request_in(RequestType.PORTABILITY)
    with pytest.raises(InvalidInput):
        world.service.create(STAFF, request_in(received="2027-01-01"))
    with pytest.raises(InvalidInput):
        world.service.create(STAFF, request_in(subject={"phone": "12"}))
    assert world.requests.items == {}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["Begin", "Suppress", "Erase", "Verify", "Finish", None]), st.integers(0, 2))
def test_property_retries_converge(world: World, kill_at: str | None, failures: int) -> None:
    """Whatever step a run stops at and however often a store fails, retrying ends completed with
    no residue, one confirmation email and no repeated audit entry."""
    world.calls.failures = failures
    request = world.service.create(
        STAFF, request_in(RequestType.ERASURE, subject={"email": f"{failures}{kill_at}@x.example"})
    )
    world.public.confirm(world.link(f"{failures}{kill_at}@x.example".lower()))
    for _ in range(4):
        try:
            end = world.run(request.id, kill_at=kill_at)
        except Killed:
            end = "Killed"
            current = world.requests.get("org-a", request.id)
            assert current is not None
            world.tasks.run(_event("needs_attention", current.attempt, error="Killed", request_id=request.id))
        kill_at = None
        if end == "Finish":
            break
        world.service.retry(STAFF, request.id)
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    keys = [entry[0] for entry in world.audit.entries_by_org["org-a"]]
    assert len(keys) == len(set(keys))


def _event(step: str, attempt: int, **fields: object) -> TaskEvent:
    return TaskEvent.model_validate({"step": step, "org_id": "org-a", "attempt": attempt, **fields})


def _extend(reason: str) -> ExtendIn:
    return ExtendIn(reason=reason)


class InRounds(FakeStore):
    """Deletes one row per round and stops when its invocation has no time left (ErasesInRounds)."""

    rounds: int = 0

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased:
        self.rounds += 1
        for key in sorted(self._keys(subject)):
            rows = self.rows_by_key[key]
            while rows:
                rows.pop()
                if rows and not more_time():
                    return Erased(deleted=1, more=True)
                if not rows:
                    del self.rows_by_key[key]
                    return Erased(deleted=1, kept=2, kept_reasons=("ledger",))
        return Erased()


def test_a_store_that_runs_out_of_time_is_erased_again_until_done_and_audited_once(world: World) -> None:
    rows: list[dict[str, Cell]] = [{"key": ADA, "value": str(n)} for n in range(3)]
    store = InRounds("mail", {ADA: rows})
    world.tasks = _tasks(world, {"mail": store}, world.suppression)
    request_id, step = _confirmed_erasure(world)
    request = world.requests.get("org-a", request_id)
    assert request is not None

    def short_of_time(payload: dict[str, object]) -> object:
        return world.tasks.run(TaskEvent.model_validate(payload), lambda: False)

    assert run_workflow(short_of_time, "erasure", "org-a", request_id, request.attempt) == "Finish"

    assert store.rounds == 3  # the state machine's Choice sent the store back twice
    done = world.requests.get("org-a", request_id)
    assert done is not None
    assert done.stores == {
        "mail": StoreProgress(
            status=StepStatus.DONE, deleted=3, kept=2, kept_because="ledger", residue=0, attempts=1
        )
    }
    assert _audited(world, "erasure.erased") == [
        (
            f"{request_id}:erasure.erased:mail",
            "system",
            {"store": "mail", "deleted": 3, "kept": 2, "kept_because": "ledger"},
        )
    ]


def test_a_round_that_stops_early_records_its_deletions_and_asks_for_more(world: World) -> None:
    store = InRounds("mail", {ADA: [{"key": ADA, "value": "1"}, {"key": ADA, "value": "2"}]})
    world.tasks = _tasks(world, {"mail": store}, world.suppression)
    request_id, step = _confirmed_erasure(world)
    step("begin")
    step("suppress")
    request = world.requests.get("org-a", request_id)
    assert request is not None

    first = world.tasks.run(
        _event("erase", request.attempt, request_id=request_id, store="mail"), lambda: False
    )

    assert first == {"store": "mail", "deleted": 1, "more": True}
    ongoing = world.requests.get("org-a", request_id)
    assert ongoing is not None
    assert ongoing.stores["mail"] == StoreProgress(status=StepStatus.PENDING, deleted=1)
    assert _audited(world, "erasure.erased") == []
    assert step("erase", store="mail") == {"store": "mail", "deleted": 2}
    assert step("erase", store="mail") == {"store": "mail", "deleted": 2}  # as recorded


class Paged(FakeStore):
    """Collects and erases in rounds (``CollectsInRounds``, ``ErasesInRounds``): its cursor is the
    place of the row in the subject's list; ``crash_after`` rows listed, the next listing raises once
    (the task dies half-way through a part)."""

    collect_rounds: int = 0
    erase_rounds: int = 0
    crash_after: int | None = None

    def rows_after(self, subject: Subject, cursor: str | None) -> Iterator[tuple[Mapping[str, Cell], str]]:
        self.collect_rounds += 1
        listed = [row for key in sorted(self._keys(subject)) for row in self.rows_by_key[key]]
        for place in range(0 if cursor is None else int(cursor) + 1, len(listed)):
            if self.crash_after is not None and place == self.crash_after:
                self.crash_after = None
                raise RuntimeError("the task died")
            yield listed[place], str(place)

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased:
        self.erase_rounds += 1
        deleted = 0
        for key in sorted(self._keys(subject)):
            rows = self.rows_by_key[key]
            while rows:
                rows.pop(0)
                deleted += 1
                if rows and not more_time():
                    return Erased(deleted=deleted, more=True)
            del self.rows_by_key[key]
        return Erased(deleted=deleted)


def _short_of_time(world: World) -> Callable[[dict[str, object]], object]:
    """The task function of an invocation that is always short of time: one part, one batch a round."""
    return lambda payload: world.tasks.run(TaskEvent.model_validate(payload), lambda: False)


def _export_csv(world: World, request_id: str, store: str) -> list[list[str]]:
    request = world.requests.get("org-a", request_id)
    assert request is not None
    assert request.export_key is not None
    with zipfile.ZipFile(io.BytesIO(world.exports.objects[request.export_key])) as archive:
        return list(csv.reader(io.StringIO(archive.read(f"{store}.csv").decode())))


def test_a_store_that_needs_three_rounds_to_collect_exports_each_row_once_and_is_audited_once(
    world: World,
) -> None:
    store = Paged("mail", {ADA: [{"key": ADA, "value": str(n)} for n in range(3)]})
    world.tasks = _tasks(world, {"mail": store, "call_logs": world.calls})
    request = world.service.create(STAFF, request_in())

    assert run_workflow(_short_of_time(world), "export", "org-a", request.id, request.attempt) == "Finish"

    assert store.collect_rounds == 3  # the state machine's Choice sent the store back twice
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.status is Status.COMPLETED
    assert done.stores["mail"] == StoreProgress(status=StepStatus.DONE, rows=3, parts=3, attempts=1)
    assert _export_csv(world, request.id, "mail") == [["key", "value"], [ADA, "0"], [ADA, "1"], [ADA, "2"]]
    assert _export_csv(world, request.id, "call_logs") == [
        ["key", "value"], [ADA_PHONE, "call 1"], [ADA_PHONE, "call 2"],
    ]  # fmt: skip
    assert _audited(world, "export.collected")[0] == (
        f"{request.id}:export.collected:mail", "system", {"store": "mail", "rows": 3},
    )  # fmt: skip
    assert [key for key in world.exports.objects if "/staging/" in key] == []  # the parts are gone


def test_a_round_that_stops_early_records_its_part_and_cursor_and_asks_for_more(world: World) -> None:
    store = Paged("mail", {ADA: [{"key": ADA, "value": str(n)} for n in range(2)]})
    world.tasks = _tasks(world, {"mail": store})
    request = world.service.create(STAFF, request_in())
    world.tasks.run(_event("begin", request.attempt, request_id=request.id))

    first = world.tasks.run(
        _event("collect", request.attempt, request_id=request.id, store="mail"), lambda: False
    )

    assert first == {"store": "mail", "rows": 1, "more": True}
    ongoing = world.requests.get("org-a", request.id)
    assert ongoing is not None
    assert ongoing.stores["mail"] == StoreProgress(status=StepStatus.PENDING, rows=1, parts=1, cursor="0")
    assert world.exports.objects[f"exports/org-a/{request.id}/staging/mail/0.csv"] == f"{ADA},0\r\n".encode()
    assert _audited(world, "export.collected") == []
    second = world.tasks.run(_event("collect", request.attempt, request_id=request.id, store="mail"))
    assert second == {"store": "mail", "rows": 2}
    again = world.tasks.run(_event("collect", request.attempt, request_id=request.id, store="mail"))
    assert again == {"store": "mail", "rows": 2}  # as recorded


def test_a_round_retried_after_a_crash_rewrites_its_part_and_duplicates_no_row(world: World) -> None:
    """The task dies while it writes its second part: the state machine's retry starts again after
    the first part's cursor and writes the second part under the same key."""
    store = Paged("mail", {ADA: [{"key": ADA, "value": str(n)} for n in range(3)]})
    store.crash_after = 2  # read ahead after the second part's row
    world.tasks = _tasks(world, {"mail": store})
    request = world.service.create(STAFF, request_in())

    assert run_workflow(_short_of_time(world), "export", "org-a", request.id, request.attempt) == "Finish"

    assert _export_csv(world, request.id, "mail") == [["key", "value"], [ADA, "0"], [ADA, "1"], [ADA, "2"]]
    done = world.requests.get("org-a", request.id)
    assert done is not None
    assert done.stores["mail"].rows == 3
    assert world.audit.actions("org-a").count("export.collected") == 1


def test_a_killed_export_retried_by_staff_resumes_from_the_recorded_cursor(world: World) -> None:
    store = Paged("mail", {ADA: [{"key": ADA, "value": str(n)} for n in range(3)]})
    world.tasks = _tasks(world, {"mail": store})
    request = world.service.create(STAFF, request_in())
    world.tasks.run(_event("begin", request.attempt, request_id=request.id))
    world.tasks.run(_event("collect", request.attempt, request_id=request.id, store="mail"), lambda: False)
    world.tasks.run(_event("needs_attention", request.attempt, error="States.Timeout", request_id=request.id))

    retried = world.service.retry(STAFF, request.id)
    assert world.run(request.id) == "Finish"

    assert retried.attempt == 2
    assert _export_csv(world, request.id, "mail") == [["key", "value"], [ADA, "0"], [ADA, "1"], [ADA, "2"]]


def test_a_store_that_needs_three_rounds_to_erase_reports_its_total_once(world: World) -> None:
    store = Paged("mail", {ADA: [{"key": ADA, "value": str(n)} for n in range(3)]})
    world.tasks = _tasks(world, {"mail": store}, world.suppression)
    request_id, _ = _confirmed_erasure(world)
    request = world.requests.get("org-a", request_id)
    assert request is not None

    assert run_workflow(_short_of_time(world), "erasure", "org-a", request_id, request.attempt) == "Finish"

    assert store.erase_rounds == 3
    assert store.rows_by_key == {}
    assert _audited(world, "erasure.erased") == [
        (f"{request_id}:erasure.erased:mail", "system", {"store": "mail", "deleted": 3, "kept": 0})
    ]
