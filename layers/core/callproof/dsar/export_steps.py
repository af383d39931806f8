"""The export state machine's own steps (access and portability): each store's rows collected into
a staged CSV, the archive assembled from them, and its download link delivered by email."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from itertools import chain

from callproof.dsar import links
from callproof.dsar.export import ExportPart, assemble, csv_header, write_csv
from callproof.dsar.model import Cell, DsarRequest, RequestType, StepStatus, StoreProgress
from callproof.dsar.once import digest, send_once
from callproof.dsar.ports import CollectsInRounds, ExportStorage, Mailer, PersonalDataStore
from callproof.dsar.step_journal import DONE, StepJournal

PART_ROWS = 1000  # rows of one staged part (some 300 KB): progress and cursor are recorded after each


class StoresFailed(Exception):
    """Some stores did not finish: the request waits in needs_attention for a retry."""


def staging_key(request: DsarRequest, store: str, part: int) -> str:
    """One staged part of a store's CSV (its rows, without the header); a retried round writes its
    part again under the same key."""
    return f"exports/{request.org_id}/{request.id}/staging/{store}/{part}.csv"


def archive_key(request: DsarRequest) -> str:
    return f"exports/{request.org_id}/{request.id}/{request.id}.zip"


class ExportSteps:
    def __init__(
        self,
        journal: StepJournal,
        exports: ExportStorage,
        mailer: Mailer,
        link_key: Callable[[], bytes],
        public_base_url: str | None,
    ) -> None:
        self._journal = journal
        self._exports = exports
        self._mailer = mailer
        self._link_key = link_key
        self._base_url = public_base_url.rstrip("/") if public_base_url else None

    def collect(
        self, request: DsarRequest, store: PersonalDataStore, more_time: Callable[[], bool] = lambda: True
    ) -> dict[str, object]:
        """Stage one store's rows as numbered CSV parts. A store that ``CollectsInRounds`` writes part
        after part (``PART_ROWS`` rows at most, fewer when ``more_time()`` turns false) from the cursor
        recorded on the request, records each finished part with the cursor after its last row, and
        stops with ``more`` when the invocation runs short of time: the state machine runs the step
        again, which starts after the last recorded part (a part cut short by a crash is written again
        under the same key, so no row is staged twice). Other stores write one part. The audit entry
        comes once, after the last round, with the total."""
        progress = request.stores.get(store.name, StoreProgress())
        if progress.status is DONE:
            return {"store": store.name, "rows": progress.rows}
        subject = self._journal.subject(request)
        if isinstance(store, CollectsInRounds):
            staged = _Staged(store.rows_after(subject, progress.cursor), PART_ROWS, more_time)
        else:  # bounded (one item per person, a few per user): one part, whatever the time
            staged = _Staged(((row, None) for row in store.rows(subject)), None, lambda: True)
        rows, parts = progress.rows, progress.parts
        while staged.pending:
            with self._exports.writer(staging_key(request, store.name, parts)) as sink:
                rows += write_csv(staged.part(), store.columns, sink, header=False)
            parts += 1
            if not staged.pending:
                break
            ongoing = replace(
                progress, status=StepStatus.PENDING, rows=rows, parts=parts, cursor=staged.cursor, error=None
            )
            self._journal.requests.set_store(request.org_id, request.id, store.name, ongoing)
            if not more_time():
                return {"store": store.name, "rows": rows, "more": True}
        done = StoreProgress(status=DONE, rows=rows, parts=parts, attempts=progress.attempts + 1)
        self._journal.requests.set_store(request.org_id, request.id, store.name, done)
        self._journal.log(request, "export.collected", {"store": store.name, "rows": rows}, per=store.name)
        return {"store": store.name, "rows": rows}

    def assemble(self, request: DsarRequest, stores: Mapping[str, PersonalDataStore]) -> dict[str, object]:
        if request.steps.get("assemble") is DONE:
            return {"key": request.export_key}
        unfinished = [name for name in stores if request.stores.get(name, StoreProgress()).status is not DONE]
        if unfinished:
            raise StoresFailed(f"{len(unfinished)} store(s) did not finish")
        subject = self._journal.subject(request)
        parts = [
            ExportPart(
                name, store.columns, request.stores[name].rows, self._staged(request, name, store.columns)
            )
            for name, store in stores.items()
        ]
        files = chain.from_iterable(store.files(subject) for store in stores.values())
        key = archive_key(request)
        with self._exports.writer(key) as sink:
            manifest = assemble(
                sink, parts, files, self._journal.clock(), {"id": request.id, "type": request.type.value}
            )
        self._exports.delete(
            [staging_key(request, name, n) for name in stores for n in range(request.stores[name].parts)]
        )
        self._journal.step_done(request, "assemble", export_key=key)
        self._journal.log(
            request,
            "export.assembled",
            {
                "stores": len(manifest.stores),
                "rows": sum(entry.rows for entry in manifest.stores),
                "files": sum(manifest.files.values()),
            },
        )
        return {"key": key}

    def _staged(self, request: DsarRequest, store: str, columns: tuple[str, ...]) -> Iterator[bytes]:
        """A store's CSV as it goes into the zip: the header once, then each staged part's chunks, one
        part open at a time."""
        yield csv_header(columns)
        for part in range(request.stores[store].parts):
            yield from self._exports.chunks(staging_key(request, store, part))

    def deliver(self, request: DsarRequest) -> dict[str, object]:
        if request.steps.get("deliver") is DONE:
            return {"delivered": True}
        if request.export_key is None:
            raise StoresFailed("no export to deliver")
        portability = request.type is RequestType.PORTABILITY
        to = request.recipient_email if portability else request.identifiers.email
        if to is None or self._base_url is None:
            self._journal.step_done(
                request,
                "deliver",
                event="export ready: no email on file, staff deliver it from the console",
            )
            return {"delivered": False}
        link = links.download_token(
            self._link_key(), request.org_id, request.id, request.export_key, self._journal.clock()
        )
        url = f"{self._base_url}/privacy/download?token={link.token}"
        expires = link.expires_at.date().isoformat()
        if portability:
            text = (
                "A person asked us to transfer a copy of their data to you (data portability).\n"
                f"Download it (a ZIP of CSV files and a manifest) until {expires}:\n{url}\n"
            )
        else:
            text = f"The copy of your data you asked for is ready.\nDownload it (a ZIP of CSV files) until {expires}:\n{url}\n"
        send_once(
            self._journal.requests,
            self._mailer,
            request,
            "export-link",
            to,
            "Your data export is ready" if not portability else "Data transferred to you",
            text,
        )
        receipt = (
            "delivered to the named third party" if portability else "download link emailed to the subject"
        )
        self._journal.step_done(request, "deliver", event=receipt)
        detail: dict[str, str | int] = {"recipient": digest(to.lower())[:16], "expires": expires}
        self._journal.log(request, "export.transferred" if portability else "export.delivered", detail)
        return {"delivered": True}


class _Staged:
    """A store's rows with their cursors, cut into parts: ``part()`` yields the rows of the next part
    (at most ``part_rows``, and at least one; it ends early once ``more_time()`` turns false) and
    ``cursor`` is then the position after its last row. One row is read ahead, so ``pending`` tells
    whether anything is left without writing an empty part."""

    def __init__(
        self,
        rows: Iterator[tuple[Mapping[str, Cell], str | None]],
        part_rows: int | None,
        more_time: Callable[[], bool],
    ) -> None:
        self._rows = rows
        self._part_rows = part_rows
        self._more_time = more_time
        self._next = next(rows, None)
        self.cursor: str | None = None

    @property
    def pending(self) -> bool:
        return self._next is not None

    def part(self) -> Iterator[Mapping[str, Cell]]:
        count = 0
        while self._next is not None:
            row, self.cursor = self._next
            yield row
            count += 1
            self._next = next(self._rows, None)
            if count == self._part_rows or not self._more_time():
                return
