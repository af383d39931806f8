"""Large CSV imports with fakes: chunked reading from checkpoints, the job's lease, resume after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callproof.contacts.csv_stream import Checkpoint, CsvChunks
from callproof.contacts.importer import ContactImporter
from callproof.contacts.jobs import ImportJobs, RunOutcome, errors_key, upload_key
from callproof.contacts.model import ImportStatus
from callproof.contacts.service import ContactService
from callproof.errors import Conflict, Forbidden, InvalidInput, NotFound
from callproof.tenancy import Caller, Role
from tests.fakes import (
    FakeImportQueue,
    FixedOrgSettings,
    InMemoryContactStore,
    InMemoryImportFiles,
    InMemoryImportJobStore,
)

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_ORG = Caller("org-b", "rep-9", frozenset({Role.REP, Role.ADMIN}))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def people_csv(count: int, start: int = 0) -> bytes:
    rows = "".join(f"Person {i},p{i}@example.com,+1 202 555 {i:04d}\n" for i in range(start, start + count))
    return ("name,email,phone\n" + rows).encode()


@pytest.fixture
def parts(store: InMemoryContactStore, orgs: FixedOrgSettings, service: ContactService):  # type: ignore[no-untyped-def]
    jobs, files, queue, clock = InMemoryImportJobStore(), InMemoryImportFiles(), FakeImportQueue(), Clock()
    imports = ImportJobs(
        jobs, files, queue, ContactImporter(store, orgs, service), clock=clock, chunk_rows=10
    )
    return imports, jobs, files, queue, clock


def uploaded(parts, data: bytes) -> str:  # type: ignore[no-untyped-def]
    imports, _, files, queue, _ = parts
    job, _, fields = imports.create(REP)
    files.objects[fields["key"]] = data
    imports.start(REP, job.id)
    return job.id


def drain(parts, seconds: float = 1000.0) -> list[RunOutcome]:  # type: ignore[no-untyped-def]
    """Run queued messages until none is left, as the queue and worker would."""
    imports, _, _, queue, _ = parts
    outcomes = []
    while queue.sent:
        org_id, import_id, token = queue.sent.pop(0)
        outcomes.append(imports.run(org_id, import_id, token, lambda: seconds).outcome)
    return outcomes


# ------------------------------------------------------------------ reading
def test_chunks_resume_at_the_checkpoint_with_the_right_line_numbers() -> None:
    data = '\ufeffName,Email,Notes\nA,a@x.io,"two\nlines"\n\r\nB,b@x.io,\nC,c@x.io,x'.encode()
    first = CsvChunks([data], Checkpoint(), None)
    assert (first.header, first.ignored) == (["Name", "Email", "Notes"], ["Notes"])
    assert [line for line, _ in first.read(1)] == [3]
    at = first.checkpoint
    assert at == Checkpoint(data.index(b"\n\r\n") + 1, 3)
    rest = CsvChunks([data[at.offset :]], at, first.header)
    assert [(line, record["name"]) for line, record in rest.read(10)] == [(5, "B"), (6, "C")]
    assert rest.checkpoint == Checkpoint(len(data), 6)
    assert rest.read(10) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(1, 9))
def test_reading_in_chunks_from_any_checkpoint_yields_each_row_once(rows: int, chunk: int, size: int) -> None:
    data = people_csv(rows)
    seen: list[int] = []
    at, header = Checkpoint(), None
    while True:
        pieces = [data[at.offset :][i : i + size] for i in range(0, len(data) - at.offset, size)]
        reader = CsvChunks(pieces, at, header)
        header = reader.header
        records = reader.read(chunk)
        if not records:
            break
        seen += [line for line, _ in records]
        at = reader.checkpoint
    assert seen == list(range(2, rows + 2))


def test_unreadable_files_are_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        CsvChunks([b""], Checkpoint(), None)
    with pytest.raises(InvalidInput, match="name"):
        CsvChunks([b"email\na@x.io\n"], Checkpoint(), None)
    with pytest.raises(InvalidInput, match="line 3 is not UTF-8"):
        CsvChunks([b"name\nA\n\xff\n"], Checkpoint(), None).read(10)


# ---------------------------------------------------------------- the jobs
def test_a_file_imports_in_chunks_with_progress_and_rejected_rows(parts, store: InMemoryContactStore) -> None:  # type: ignore[no-untyped-def]
    imports, jobs, files, queue, _ = parts
    data = people_csv(25) + b"Bad,,12\nNo contact,,\n" + people_csv(3)[len(b"name,email,phone\n") :]
    import_id = uploaded(parts, data)
    assert imports.get(REP, import_id)[0].status is ImportStatus.RUNNING
    assert drain(parts) == [RunOutcome.DONE]
    job, url = imports.get(REP, import_id)
    assert job.status is ImportStatus.DONE
    assert job.rows_done == 30
    assert job.counts == {"created": 25, "updated": 0, "duplicate": 3, "rejected": 2, "suppressed": 0}
    assert len(store.contacts) == 25
    assert url == f"https://downloads.example/{errors_key('org-a', import_id)}"
    assert files.objects[errors_key("org-a", import_id)].decode().splitlines() == [
        "line,status,field,reason",
        "27,rejected,phones[0],invalid phone number: too short",
        "28,rejected,emails,needs an email or a phone",
    ]
    assert upload_key("org-a", import_id) not in files.objects  # the upload (personal data) is gone
    assert [offset for _, offset in files.reads] == [0]


def test_a_run_out_of_time_continues_through_the_queue_from_its_checkpoint(parts, store) -> None:  # type: ignore[no-untyped-def]
    imports, _, files, queue, _ = parts
    import_id = uploaded(parts, people_csv(45))
    org_id, _, token = queue.sent.pop()
    left = iter([100.0, 100.0, 100.0, 1.0])  # claim, two chunks, then too little time
    assert imports.run(org_id, import_id, token, lambda: next(left)).outcome is RunOutcome.CONTINUED
    job = imports.get(REP, import_id)[0]
    assert (job.rows_done, job.line, job.status) == (20, 21, ImportStatus.RUNNING)
    assert drain(parts) == [RunOutcome.DONE]
    assert [offset for _, offset in files.reads] == [0, job.offset]
    assert imports.get(REP, import_id)[0].counts["created"] == 45 == len(store.contacts)


def test_a_crash_mid_chunk_resumes_and_imports_no_row_twice(parts, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    imports, jobs, files, queue, clock = parts
    import_id = uploaded(parts, people_csv(35))
    org_id, _, token = queue.sent.pop()
    original = InMemoryImportJobStore.save
    saves = {"n": 0}

    def crash_on_third_progress(self, job, held):  # type: ignore[no-untyped-def]
        saves["n"] += 1
        if saves["n"] >= 4:  # the claim, two chunks; from the third chunk's progress on, the process is dead
            raise RuntimeError("worker killed")
        return original(self, job, held)

    monkeypatch.setattr(InMemoryImportJobStore, "save", crash_on_third_progress)
    with pytest.raises(RuntimeError):
        imports.run(org_id, import_id, token, lambda: 100.0)
    monkeypatch.setattr(InMemoryImportJobStore, "save", original)
    assert len(store.contacts) == 30  # the third chunk's contacts were stored, its checkpoint not
    assert imports.get(REP, import_id)[0].rows_done == 20
    # The queue redelivers the same message; the lease was not released (a hard crash): only after it
    # expires may the redelivery take over.
    assert imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.SKIPPED
    clock.now += timedelta(seconds=200)
    assert imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.DONE
    job = imports.get(REP, import_id)[0]
    assert len(store.contacts) == 35  # nothing created twice
    assert job.rows_done == 35
    assert job.counts == {"created": 25, "updated": 0, "duplicate": 10, "rejected": 0, "suppressed": 0}


def test_an_exception_releases_the_lease_for_the_redelivery(parts, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    imports, _, _, queue, _ = parts
    import_id = uploaded(parts, people_csv(15))
    org_id, _, token = queue.sent.pop()
    importer = imports._importer
    monkeypatch.setattr(importer, "apply", lambda *args: (_ for _ in ()).throw(RuntimeError("throttled")))
    with pytest.raises(RuntimeError):
        imports.run(org_id, import_id, token, lambda: 100.0)
    monkeypatch.undo()
    assert imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.DONE
    assert len(store.contacts) == 15


def test_only_one_run_holds_a_job(parts) -> None:  # type: ignore[no-untyped-def]
    imports, jobs, _, queue, _ = parts
    import_id = uploaded(parts, people_csv(30))
    org_id, _, token = queue.sent.pop()
    left = iter([100.0, 100.0, 1.0])
    assert imports.run(org_id, import_id, token, lambda: next(left)).outcome is RunOutcome.CONTINUED
    continuation = queue.sent[0][2]
    # A duplicate of the first message arrives while the run's lease holds: dropped.
    assert imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.SKIPPED
    assert drain(parts) == [RunOutcome.DONE]
    # The continuation delivered twice: the second finds the job done.
    assert imports.run(org_id, import_id, continuation, lambda: 100.0).outcome is RunOutcome.SKIPPED


def test_a_bad_file_fails_the_job_with_a_message(parts) -> None:  # type: ignore[no-untyped-def]
    imports, _, files, _, _ = parts
    import_id = uploaded(parts, b"email\na@x.io\n")
    assert drain(parts) == [RunOutcome.FAILED]
    job, url = imports.get(REP, import_id)
    assert (job.status, job.message, url) == (
        ImportStatus.FAILED,
        "the header row needs a 'name' column",
        None,
    )
    assert files.objects == {}


def test_start_needs_the_upload_and_is_idempotent(parts) -> None:  # type: ignore[no-untyped-def]
    imports, _, files, queue, _ = parts
    job, url, fields = imports.create(REP)
    assert (job.status, fields["key"]) == (ImportStatus.AWAITING_UPLOAD, f"orgs/org-a/imports/{job.id}.csv")
    with pytest.raises(Conflict):
        imports.start(REP, job.id)
    files.objects[fields["key"]] = people_csv(1)
    assert imports.start(REP, job.id).status is ImportStatus.RUNNING
    # Started again before any run took it (its first message may be lost): queued again, same token.
    assert imports.start(REP, job.id).status is ImportStatus.RUNNING
    assert len(queue.sent) == 2
    assert queue.sent[0] == queue.sent[1]
    assert drain(parts) == [RunOutcome.DONE, RunOutcome.SKIPPED]
    assert imports.start(REP, job.id).status is ImportStatus.DONE
    assert queue.sent == []


def test_another_orgs_import_is_not_found_and_roles_are_checked(parts) -> None:  # type: ignore[no-untyped-def]
    imports, *_ = parts
    import_id = uploaded(parts, people_csv(1))
    with pytest.raises(NotFound):
        imports.get(OTHER_ORG, import_id)
    with pytest.raises(NotFound):
        imports.start(OTHER_ORG, import_id)
    for made_up in ("x" * 3000, import_id.upper(), import_id + "0", "../" + import_id):
        with pytest.raises(NotFound):
            imports.get(REP, made_up)
    compliance = Caller("org-a", "c-1", frozenset({Role.COMPLIANCE}))
    with pytest.raises(Forbidden):
        imports.create(compliance)
    with pytest.raises(Forbidden):
        imports.get(compliance, import_id)
