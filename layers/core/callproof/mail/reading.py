"""The web mail client's reads: the org's synced mail (team-visible) listed newest first with filters,
a conversation across mailboxes, one message; HTML bodies sanitised (``callproof.mail.html``). Pure:
the index and the bodies come in through ``callproof.mail.ports``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from callproof.errors import InvalidInput, NotFound
from callproof.mail.model import EmailPage, EmailQuery, EmailRecord, valid_email_id, valid_thread_id

if TYPE_CHECKING:
    from callproof.mail.ports import ContactMatcher, MailBlobs, MailIndex
    from callproof.tenancy import Caller

THREAD_LIMIT = 100  # messages a thread view returns


class MailReader:
    def __init__(self, index: MailIndex, blobs: MailBlobs, contacts: ContactMatcher) -> None:
        self._index = index
        self._blobs = blobs
        self._contacts = contacts

    def search(self, caller: Caller, query: EmailQuery, limit: int, cursor: str | None) -> EmailPage:
        """The org's synced mail, newest first, each message once with the mailboxes that hold it; a
        contact filter needs a contact of the caller's org (else 404, as for another org's)."""
        if query.contact_id is not None and not self._contacts.exists(caller.org_id, query.contact_id):
            raise NotFound("contact not found")
        if query.after is not None and query.before is not None and query.after >= query.before:
            raise InvalidInput("after must be earlier than before", field="after")
        return self._index.search(caller.org_id, query, limit, cursor)

    def _body(self, record: EmailRecord, remote_images: bool) -> dict[str, Any] | None:
        from callproof.mail.html import sanitise  # nh3: loaded by the reads only

        body = self._blobs.get(record.object_key)
        if body is None:
            return None
        document: dict[str, Any] = json.loads(body)
        if document.get("html"):
            document["html"] = sanitise(str(document["html"]), remote_images)
        return document

    def email(
        self, caller: Caller, identifier: str, remote_images: bool = False
    ) -> tuple[EmailRecord, dict[str, Any]]:
        if not valid_email_id(identifier):
            raise NotFound("email not found")
        record = self._index.get(caller.org_id, identifier)
        document = self._body(record, remote_images) if record else None
        if record is None or document is None:
            raise NotFound("email not found")
        return record, document

    def thread(
        self, caller: Caller, thread_id: str, remote_images: bool = False
    ) -> list[tuple[EmailRecord, dict[str, Any]]]:
        """A conversation's messages, oldest first, each once however many mailboxes hold it."""
        records = (
            self._index.thread(caller.org_id, thread_id, THREAD_LIMIT) if valid_thread_id(thread_id) else []
        )
        found = [(record, self._body(record, remote_images)) for record in records]
        messages = [(record, document) for record, document in found if document is not None]
        if not messages:
            raise NotFound("thread not found")
        return messages
