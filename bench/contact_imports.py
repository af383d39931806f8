"""The import worker's memory and time per row, in the process doing the work (`make bench`, or alone:
`python -m bench.contact_imports`).

The job service runs over a file streamed from disk in the S3 adapter's chunks with a contact store
that keeps nothing (every row is new, no lookup finds anything): what is measured is the worker's own
memory and CPU, not a database's. Peak Python allocations (tracemalloc) for 10,000 and 100,000 rows;
flat means the larger run's peak within 1.2x of the smaller one's.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

from bench.table import report_scaling
from callproof.contacts.importer import ContactImporter
from callproof.contacts.jobs import ImportJobs, RunOutcome
from callproof.contacts.model import Contact, ImportJob, ImportSource
from callproof.contacts.ports import Page
from callproof.contacts.service import ContactService
from callproof.store.import_files_s3 import READ_CHUNK
from callproof.tenancy import Caller, Role

CALLER = Caller("bench-org", "rep-1", frozenset({Role.REP}))


class _NullContacts:
    def get(self, org_id: str, contact_id: str) -> Contact | None:
        return None

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]:
        return []

    def list_page(self, org_id: str, limit: int, cursor: str | None) -> Page:
        return Page([], None)

    def create(self, contacts: Sequence[Contact]) -> list[bool]:
        return [True] * len(contacts)

    def replace(self, old: Contact, new: Contact) -> None: ...

    def delete(self, contact: Contact) -> None: ...

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return {}

    def lookup_by_emails(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return {}


class _Orgs:
    def default_phone_region(self, org_id: str) -> str:
        return "US"


class _Jobs:
    def __init__(self) -> None:
        self.job: ImportJob | None = None

    def create(self, job: ImportJob) -> None:
        self.job = job

    def get(self, org_id: str, import_id: str) -> ImportJob | None:
        return self.job

    def save(self, job: ImportJob, held_token: str | None) -> bool:
        assert self.job is not None
        assert self.job.lease_token == held_token
        self.job = job
        return True

    def current(self, org_id: str, user_id: str, source: ImportSource) -> str | None:
        return None  # a CSV job is never a user's current one

    def create_current(self, job: ImportJob, replaces: str | None) -> bool:
        raise AssertionError("only Google imports have a current job")


class _DiskFiles:
    def __init__(self, path: Path) -> None:
        self.path = path

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]:
        return "file://", {}

    def size(self, key: str) -> int | None:
        return self.path.stat().st_size

    def read(self, key: str, offset: int) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            file.seek(offset)
            while chunk := file.read(READ_CHUNK):  # as the S3 adapter streams it
                yield chunk

    def write(self, key: str, data: bytes, content_type: str) -> None: ...

    def concatenate(self, prefix: str, key: str, head: bytes) -> None: ...

    def presign_get(self, key: str, expires_in: timedelta) -> str:
        return ""

    def delete(self, key: str) -> None: ...


class _Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, org_id: str, import_id: str, token: str, source: ImportSource = ImportSource.CSV) -> None:
        self.sent.append((org_id, import_id, token))


def measure(rows: int, directory: Path, traced: bool) -> float:
    """Peak MiB (``traced``) or CPU seconds of importing ``rows`` new rows from a file: tracemalloc
    slows the run, so a timing is never traced."""
    path = directory / f"{rows}.csv"
    if not path.exists():
        with path.open("w") as out:
            out.write("name,email,phone\n")
            for i in range(rows):
                out.write(f"Person {i},p{i}@example.com,+1 202 555 {i % 10000:04d}\n")
    store = _NullContacts()
    queue, jobs = _Queue(), _Jobs()
    imports = ImportJobs(
        jobs, _DiskFiles(path), queue, ContactImporter(store, _Orgs(), ContactService(store, _Orgs()))
    )
    job, _, _ = imports.create(CALLER)
    imports.start(CALLER, job.id)
    if traced:
        tracemalloc.start()
    started = time.process_time()
    while queue.sent:
        org_id, import_id, token = queue.sent.pop()
        outcome = imports.run(org_id, import_id, token, lambda: 300.0).outcome
    seconds = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    if traced:
        tracemalloc.stop()
    assert outcome is RunOutcome.DONE
    assert jobs.job is not None
    assert jobs.job.rows_done == rows
    return peak if traced else seconds


def bench_import_jobs(report: Callable[..., None], small: int = 10_000, large: int = 100_000) -> None:
    """Peak memory and CPU of the import worker at two sizes, and their ratios against the targets
    (memory within 1.2x, time within 1.3x of linear)."""
    with tempfile.TemporaryDirectory() as directory:
        # A first run loads what is imported on first use (phonenumbers' metadata, the email grammar),
        # so neither measured run counts a library's one-time load.
        measure(1_000, Path(directory), traced=False)
        peaks = [measure(rows, Path(directory), traced=True) for rows in (small, large)]
        seconds = [measure(rows, Path(directory), traced=False) for rows in (small, large)]
    report_scaling(report, "import worker", "rows", (small, large), peaks, seconds)


def main() -> None:
    figures: list[tuple[str, float, str, float | None]] = []

    def collect(name: str, value: float, unit: str, target: float | None = None) -> None:
        figures.append((name, value, unit, target))
        print(f"{name:<60} {value:>10.2f} {unit}" + (f"  (target <= {target:g})" if target else ""))

    bench_import_jobs(collect)
    held = all(target is None or value <= target for _, value, _, target in figures)
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
