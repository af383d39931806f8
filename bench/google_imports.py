"""The Google Contacts import worker's memory and time per person, in the process doing the work
(`make bench`, or alone: `python -m bench.google_imports`).

The job service (``GoogleImportJobs``) runs over an address book that makes each People API page of
1,000 people when it is asked for (what Google's client hands the worker: one page), with the contact
store of the CSV bench that keeps nothing: what is measured is the worker's own memory and CPU. Peak
Python allocations (tracemalloc) for 10,000 and 100,000 people; flat means the larger run's peak
within 1.2x of the smaller one's.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bench.contact_imports import _DiskFiles, _Jobs, _NullContacts, _Orgs, _Queue
from bench.table import report_scaling
from callproof.contacts.google_imports import GoogleImportJobs
from callproof.contacts.importer import ContactImporter
from callproof.contacts.job_runs import RunOutcome
from callproof.contacts.model import ImportJob, ImportSource
from callproof.contacts.service import ContactService
from callproof.tenancy import Caller, Role

CALLER = Caller("bench-org", "rep-1", frozenset({Role.REP}))
PAGE = 1_000  # the People adapter's pageSize


@dataclass(frozen=True, slots=True)
class _Page:
    records: list[tuple[str, dict[str, object]]]
    deleted: list[str]
    next_page_token: str | None
    next_sync_token: str | None
    restarted: bool = False


class _AddressBook:
    """``PeopleSource`` over ``people`` generated people, one page made per call."""

    def __init__(self, people: int) -> None:
        self._people = people
        self.recorded = 0

    def check(self, caller: Caller) -> None: ...

    def sync_token(self, caller: Caller) -> str | None:
        return None

    def page(self, caller: Caller, sync_token: str | None, page_token: str | None) -> _Page:
        start = int(page_token or 0)
        end = min(start + PAGE, self._people)
        records: list[tuple[str, dict[str, object]]] = [
            (
                f"people/c{i}",
                {
                    "type": "prospect",
                    "name": f"Person {i}",
                    "emails": [f"p{i}@example.com"],
                    "phones": [f"+1 202 555 {i % 10000:04d}"],
                },
            )
            for i in range(start, end)
        ]
        more = end < self._people
        return _Page(records, [], str(end) if more else None, None if more else "sync-1")

    def record(self, caller: Caller, imported: Mapping[str, str], deleted: Sequence[str]) -> int:
        self.recorded += len(imported)
        return 0

    def finish(self, caller: Caller, sync_token: str | None) -> None: ...


class _CurrentJobs(_Jobs):
    def __init__(self) -> None:
        super().__init__()
        self.current_id: str | None = None

    def current(self, org_id: str, user_id: str, source: ImportSource) -> str | None:
        return self.current_id

    def create_current(self, job: ImportJob, replaces: str | None) -> bool:
        self.create(job)
        self.current_id = job.id
        return True


def measure(people: int, traced: bool) -> float:
    """Peak MiB (``traced``) or CPU seconds of importing ``people`` new people, page by page."""
    store, book = _NullContacts(), _AddressBook(people)
    importer = ContactImporter(store, _Orgs(), ContactService(store, _Orgs()))
    queue, jobs = _Queue(), _CurrentJobs()
    imports = GoogleImportJobs(jobs, _DiskFiles(None), queue, lambda: importer, book)  # type: ignore[arg-type]
    imports.start(CALLER)
    if traced:
        tracemalloc.start()
    started = time.process_time()
    outcome = None
    while queue.sent:
        org_id, import_id, token = queue.sent.pop()
        outcome = imports.run(org_id, import_id, token, lambda: 300.0).outcome
    seconds = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    if traced:
        tracemalloc.stop()
    assert outcome is RunOutcome.DONE
    assert jobs.job is not None
    assert (jobs.job.rows_done, book.recorded) == (people, people)
    return peak if traced else seconds


def bench_google_import_jobs(report: Callable[..., None], small: int = 10_000, large: int = 100_000) -> None:
    """Peak memory and CPU of the Google import worker at two sizes, and their ratios against the
    targets (memory within 1.2x, time within 1.3x of linear)."""
    measure(PAGE, traced=False)  # loads what is imported on first use, as the CSV bench does
    peaks = [measure(people, traced=True) for people in (small, large)]
    seconds = [measure(people, traced=False) for people in (small, large)]
    report_scaling(report, "Google import worker", "people", (small, large), peaks, seconds)


def main() -> None:
    figures: list[tuple[str, float, str, float | None]] = []

    def collect(name: str, value: float, unit: str, target: float | None = None) -> None:
        figures.append((name, value, unit, target))
        print(f"{name:<60} {value:>10.2f} {unit}" + (f"  (target <= {target:g})" if target else ""))

    sizes = [int(arg) for arg in sys.argv[1:3]]
    bench_google_import_jobs(collect, *sizes)
    held = all(target is None or value <= target for _, value, _, target in figures)
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
