"""The export state machine's own steps (access and portability): each store's rows collected into
a staged CSV, the archive assembled from them, and its download link delivered by email."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import chain

from callproof.dsar import links
from callproof.dsar.export import ExportPart, assemble, write_csv
from callproof.dsar.model import DsarRequest, RequestType, StoreProgress
from callproof.dsar.once import digest, send_once
from callproof.dsar.ports import ExportStorage, Mailer, PersonalDataStore
from callproof.dsar.step_journal import DONE, StepJournal


class StoresFailed(Exception):
    """Some stores did not finish: the request waits in needs_attention for a retry."""


def staging_key(request: DsarRequest, store: str) -> str:
    return f"exports/{request.org_id}/{request.id}/staging/{store}.csv"


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

    def collect(self, request: DsarRequest, store: PersonalDataStore) -> dict[str, object]:
        progress = request.stores.get(store.name, StoreProgress())
        if progress.status is DONE:
            return {"store": store.name, "rows": progress.rows}
        with self._exports.writer(staging_key(request, store.name)) as sink:
            rows = write_csv(store.rows(self._journal.subject(request)), store.columns, sink)
        done = StoreProgress(status=DONE, rows=rows, attempts=progress.attempts + 1)
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
                name,
                store.columns,
                request.stores[name].rows,
                self._exports.chunks(staging_key(request, name)),
            )
            for name, store in stores.items()
        ]
        files = chain.from_iterable(store.files(subject) for store in stores.values())
        key = archive_key(request)
        with self._exports.writer(key) as sink:
            manifest = assemble(
                sink, parts, files, self._journal.clock(), {"id": request.id, "type": request.type.value}
            )
        self._exports.delete([staging_key(request, name) for name in stores])
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
