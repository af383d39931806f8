"""In-memory fakes of the Gmail sync ports (kept apart from tests/fakes.py, which another feature is
editing concurrently)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from callproof.errors import Conflict, InvalidInput
from callproof.mail.model import (
    EmailPage,
    EmailQuery,
    EmailRecord,
    FullMessage,
    GmailLabel,
    GooglePerson,
    Integration,
    IntegrationStatus,
    MailboxCopy,
    MessageMeta,
    is_legacy_email_id,
)
from callproof.mail.parse import parse
from callproof.mail.ports import HistoryExpired, SyncTokenExpired
from callproof.oauth.model import GMAIL_READONLY, GrantRevoked, OAuthState, OAuthToken, SealedToken


@dataclass
class FakeMessage:
    gmail_id: str
    history_id: int
    raw: bytes
    internal_date: int = 1_700_000_000_000
    labels: tuple[str, ...] = ("INBOX",)


@dataclass
class FakeGmail:
    """One mailbox, shared by every access token."""

    address: str = "rep@callproof.test"
    history_id: int = 100
    oldest_history: int = 0
    messages: list[FakeMessage] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    watching: bool = False

    user_labels: dict[str, str] = field(default_factory=dict)
    watched_labels: tuple[str, ...] = ()

    def add(self, raw: bytes, labels: tuple[str, ...] = ("INBOX",)) -> FakeMessage:
        self.history_id += 1
        message = FakeMessage(f"{self.history_id:x}", self.history_id, raw, labels=labels)
        self.messages.append(message)
        return message

    def api(self, token: str) -> FakeGmail:
        self.calls.append(f"token:{token}")
        return self

    def profile(self) -> tuple[str, int]:
        self.calls.append("profile")
        return self.address, self.history_id

    def history(self, start_history_id: int) -> tuple[dict[str, tuple[str, ...]], int]:
        self.calls.append(f"history:{start_history_id}")
        if start_history_id < self.oldest_history:
            raise HistoryExpired
        added = {m.gmail_id: m.labels for m in self.messages if m.history_id > start_history_id}
        return added, self.history_id

    def list_message_ids(self, newer_than_days: int, label_id: str) -> list[str]:
        self.calls.append(f"list:{newer_than_days}:{label_id}")
        return [m.gmail_id for m in reversed(self.messages) if label_id in m.labels]

    def labels(self) -> list[GmailLabel]:
        self.calls.append("labels")
        system = [GmailLabel(name, name, "system") for name in ("INBOX", "SENT", "SPAM", "TRASH", "DRAFT")]
        return system + [GmailLabel(i, n, "user") for i, n in self.user_labels.items()]

    def metadata(self, gmail_ids: Sequence[str]) -> list[MessageMeta]:
        self.calls.append(f"metadata:{len(gmail_ids)}")
        by_id = {m.gmail_id: m for m in self.messages}
        return [MessageMeta(gid, parse(by_id[gid].raw).addresses) for gid in gmail_ids if gid in by_id]

    def raw(self, gmail_ids: Sequence[str]) -> dict[str, FullMessage]:
        self.calls.append(f"raw:{len(gmail_ids)}")
        by_id = {m.gmail_id: m for m in self.messages}
        return {
            gid: FullMessage(by_id[gid].raw, by_id[gid].internal_date) for gid in gmail_ids if gid in by_id
        }

    watch_expiration: int = 4_000_000_000_000

    def watch(self, topic: str, label_ids: Sequence[str]) -> tuple[int, int]:
        self.calls.append("watch")
        self.watching = True
        self.watched_labels = tuple(label_ids)
        return self.history_id, self.watch_expiration

    def stop(self) -> None:
        self.calls.append("stop")
        self.watching = False


class FakeIntegrations:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Integration] = {}
        self.tokens: dict[tuple[str, str], SealedToken] = {}
        self.advance_calls: list[int] = []

    def get(self, org_id: str, user_id: str) -> Integration | None:
        return self.items.get((org_id, user_id))

    def find_by_mailbox(self, mailbox: str) -> Integration | None:
        return next((i for i in self.items.values() if i.mailbox == mailbox), None)

    def connect(self, integration: Integration, token: SealedToken) -> None:
        other = self.find_by_mailbox(integration.mailbox)
        if other and (other.org_id, other.user_id) != (integration.org_id, integration.user_id):
            raise Conflict("mailbox connected by another user")
        self.items[(integration.org_id, integration.user_id)] = integration
        self.tokens[(integration.org_id, integration.user_id)] = token

    def token(self, org_id: str, user_id: str) -> SealedToken | None:
        return self.tokens.get((org_id, user_id))

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None:
        self.tokens[(org_id, user_id)] = token

    def advance(self, org_id: str, user_id: str, history_id: int, synced_at: str) -> bool:
        self.advance_calls.append(history_id)
        current = self.items.get((org_id, user_id))
        if current is None or current.history_id >= history_id:
            return False
        self.items[(org_id, user_id)] = replace(current, history_id=history_id, last_sync_at=synced_at)
        return True

    def set_status(self, org_id: str, user_id: str, status: IntegrationStatus, reason: str | None) -> None:
        current = self.items[(org_id, user_id)]
        self.items[(org_id, user_id)] = replace(current, status=status, status_reason=reason)

    def record_push(self, org_id: str, user_id: str, at: str) -> None:
        current = self.items[(org_id, user_id)]
        self.items[(org_id, user_id)] = replace(current, last_push_at=at)

    def set_watch(self, org_id: str, user_id: str, expiration: int) -> None:
        current = self.items[(org_id, user_id)]
        self.items[(org_id, user_id)] = replace(current, watch_expiration=expiration)

    def set_labels(self, org_id: str, user_id: str, labels: Sequence[str], expiration: int) -> None:
        current = self.items[(org_id, user_id)]
        self.items[(org_id, user_id)] = replace(current, labels=tuple(labels), watch_expiration=expiration)

    def all(self) -> Iterator[Integration]:
        yield from list(self.items.values())

    def delete(self, integration: Integration) -> None:
        self.items.pop((integration.org_id, integration.user_id), None)
        self.tokens.pop((integration.org_id, integration.user_id), None)


class FakeIndex:
    """Messages once per org with each mailbox's copies, as ``store/mail_index_dynamo.py`` keeps them."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], EmailRecord] = {}
        self.copies_by_key: dict[tuple[str, str], set[tuple[str, str, tuple[str, ...]]]] = {}
        self.fail_next_put = False

    def known(self, org_id: str, user_id: str, gmail_ids: Iterable[str]) -> set[str]:
        held = {g for copies in self._org_copies(org_id) for u, g, _ in copies if u == user_id}
        return {g for g in gmail_ids if g in held}

    def _org_copies(self, org_id: str) -> list[set[tuple[str, str, tuple[str, ...]]]]:
        return [c for (org, _), c in self.copies_by_key.items() if org == org_id]

    def stored(self, org_id: str, email_ids: Iterable[str]) -> set[str]:
        return {e for e in email_ids if (org_id, e) in self.records}

    def put(self, record: EmailRecord) -> bool:
        if self.fail_next_put:
            self.fail_next_put = False
            raise RuntimeError("crash while storing")
        if (record.org_id, record.email_id) in self.records:
            return False
        self.records[(record.org_id, record.email_id)] = record
        self.copies_by_key[(record.org_id, record.email_id)] = {
            (record.user_id, record.gmail_id, record.labels)
        }
        return True

    def link(self, org_id: str, copy: MailboxCopy) -> bool | None:
        copies = self.copies_by_key.get((org_id, copy.email_id))
        if copies is None:
            return None
        if any(u == copy.user_id and g == copy.gmail_id for u, g, _ in copies):
            return False
        copies.add((copy.user_id, copy.gmail_id, copy.labels))
        return True

    def _held(self, record: EmailRecord) -> EmailRecord:
        users = sorted({u for u, _, _ in self.copies_by_key.get((record.org_id, record.email_id), ())})
        return replace(record, mailboxes=tuple(users) or (record.user_id,))

    def get(self, org_id: str, email_id: str) -> EmailRecord | None:
        record = self.records.get((org_id, email_id))
        return self._held(record) if record else None

    def search(self, org_id: str, query: EmailQuery, limit: int, cursor: str | None) -> EmailPage:
        found = [
            self._held(r)
            for (org, _), r in self.records.items()
            if org == org_id
            and (query.contact_id is None or query.contact_id in r.contact_ids)
            and (query.mailbox is None or query.mailbox in self._held(r).mailboxes)
            and (query.sender is None or r.from_address == query.sender)
            and (query.recipient is None or query.recipient in r.to_addresses)
            and (query.subject is None or query.subject in r.subject.lower())
            and (query.after is None or r.internal_date >= query.after)
            and (query.before is None or r.internal_date < query.before)
        ]
        return EmailPage(sorted(found, key=lambda r: -r.internal_date)[:limit], None)

    def thread(self, org_id: str, thread_id: str, limit: int) -> list[EmailRecord]:
        found = [
            self._held(r)
            for (org, _), r in self.records.items()
            if org == org_id and r.thread_id == thread_id
        ]
        return sorted(found, key=lambda r: r.internal_date)[:limit]

    def copies(self, org_id: str, user_id: str) -> Iterator[MailboxCopy]:
        for (org, email_id), copies in list(self.copies_by_key.items()):
            if org == org_id:
                for u, g, labels in sorted(copies):
                    if u == user_id:
                        yield MailboxCopy(u, g, email_id, 0, labels)

    def unlink(
        self, org_id: str, user_id: str, email_id: str, gmail_ids: Sequence[str], last: bool
    ) -> EmailRecord | None:
        copies = self.copies_by_key.get((org_id, email_id))
        if copies is None:
            return None
        copies -= {c for c in copies if c[0] == user_id and c[1] in gmail_ids}
        if is_legacy_email_id(email_id) or not copies:
            return self.records.get((org_id, email_id))
        return None

    def delete(self, records: Sequence[EmailRecord]) -> None:
        for record in records:
            self.records.pop((record.org_id, record.email_id), None)
            self.copies_by_key.pop((record.org_id, record.email_id), None)


class FakeBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    def put(self, key: str, body: bytes) -> None:
        self.puts += 1
        self.objects[key] = body

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def delete_all_versions(self, keys: Sequence[str]) -> int:
        return sum(1 for key in keys if self.objects.pop(key, None) is not None)


class FakeMatcher:
    def __init__(self, contacts: Mapping[str, str], restricted: Iterable[str] = ()) -> None:
        self.contacts = dict(contacts)  # email -> contact id
        self.restricted = set(restricted)
        self.lookups: list[int] = []

    def match(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        emails = list(emails)
        assert len(emails) <= 100
        self.lookups.append(len(emails))
        return {
            e: frozenset({self.contacts[e]})
            for e in emails
            if e in self.contacts and self.contacts[e] not in self.restricted
        }

    def exists(self, org_id: str, contact_id: str) -> bool:
        return org_id == "org-a" and contact_id in self.contacts.values()


class FakeOAuth:
    def __init__(self) -> None:
        self.revoked: list[str] = []
        self.refreshes = 0
        self.grant_revoked = False
        self.scopes: tuple[str, ...] = (GMAIL_READONLY,)
        self.asked: list[tuple[tuple[str, ...], str | None, bool]] = []  # scopes, login hint, incremental

    def authorization_url(
        self,
        scopes: Sequence[str],
        state: str,
        code_challenge: str,
        redirect_uri: str,
        *,
        login_hint: str | None = None,
        include_granted_scopes: bool = False,
    ) -> str:
        self.asked.append((tuple(scopes), login_hint, include_granted_scopes))
        return f"https://accounts.example/auth?state={state}&challenge={code_challenge}"

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> OAuthToken:
        if code != "good-code":
            raise InvalidInput("bad code", field="code")
        return OAuthToken("access-1", "refresh-1", 10_000.0, self.scopes)

    def refresh(self, token: OAuthToken) -> OAuthToken:
        self.refreshes += 1
        if self.grant_revoked:
            raise GrantRevoked("invalid_grant")
        return OAuthToken(f"access-{self.refreshes + 1}", token.refresh_token, 1e12, token.scopes)

    def revoke(self, token: OAuthToken) -> bool:
        self.revoked.append(token.refresh_token or token.access_token)
        return True


class FakeStates:
    def __init__(self) -> None:
        self.states: dict[str, OAuthState] = {}

    def issue(self, state: OAuthState) -> str:
        value = f"{state.org_id}.state{len(self.states)}"
        self.states[value] = state
        return value

    def consume(self, value: str, *purposes: str) -> OAuthState:
        state = self.states.pop(value, None)
        if state is None or state.purpose not in purposes:
            raise InvalidInput("bad state", field="state")
        return state


class FakeVault:
    """Seals by tagging with the context: opening with another org or user fails."""

    def seal(self, token: OAuthToken, org_id: str, user_id: str, purpose: str) -> SealedToken:
        return SealedToken(token.to_json().encode(), f"{org_id}|{user_id}|{purpose}".encode(), b"key")

    def open(self, sealed: SealedToken, org_id: str, user_id: str, purpose: str) -> OAuthToken:
        assert sealed.nonce == f"{org_id}|{user_id}|{purpose}".encode()
        return OAuthToken.from_json(sealed.ciphertext.decode())


class FakeQueue:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, str, int]] = []

    def enqueue(self, org_id: str, user_id: str, history_id: int) -> None:
        self.jobs.append((org_id, user_id, history_id))


class FakePeople:
    """``PeopleApi`` in memory, paged as Google pages ``people.connections.list``: the page token is
    the offset into the changes since the sync token; the last page carries the next sync token."""

    def __init__(self, page_size: int = 1000) -> None:
        self.people: list[tuple[int, GooglePerson]] = []
        self.changes = 0
        self.expired_before = 0
        self.page_size = page_size
        self.calls: list[tuple[str | None, str | None]] = []  # (sync token, page token) per page read

    def add(self, person: GooglePerson) -> None:
        self.changes += 1
        self.people.append((self.changes, person))

    def delete(self, resource_name: str) -> None:
        """The person deleted in Google: the next change, listed deleted to a later sync."""
        self.changes += 1
        for index, (_, person) in enumerate(self.people):
            if person.resource_name == resource_name:
                self.people[index] = (self.changes, replace(person, deleted=True))

    def api(self, token: str) -> FakePeople:
        return self

    def connections_page(
        self, sync_token: str | None, page_token: str | None
    ) -> tuple[list[GooglePerson], str | None, str | None]:
        self.calls.append((sync_token, page_token))
        since = int(sync_token) if sync_token else 0
        if sync_token and since < self.expired_before:
            raise SyncTokenExpired
        changed = [p for n, p in self.people if n > since and not (p.deleted and not sync_token)]
        offset = int(page_token or 0)
        end = offset + self.page_size
        if end < len(changed):
            return changed[offset:end], str(end), None
        return changed[offset:end], None, str(self.changes)


class FakeContactsGrants:
    """``ContactsGrantStore`` in memory."""

    def __init__(self) -> None:
        self.grants: dict[tuple[str, str], dict[str, object]] = {}
        self.links: dict[tuple[str, str, str], str] = {}

    def token(self, org_id: str, user_id: str) -> SealedToken | None:
        grant = self.grants.get((org_id, user_id))
        return grant["token"] if grant else None  # type: ignore[return-value]

    def save(self, org_id: str, user_id: str, token: SealedToken, granted_at: str) -> None:
        self.grants[(org_id, user_id)] = {"token": token, "granted_at": granted_at}

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None:
        if (org_id, user_id) in self.grants:
            self.grants[(org_id, user_id)]["token"] = token

    def sync_token(self, org_id: str, user_id: str) -> str | None:
        return self.grants.get((org_id, user_id), {}).get("sync")  # type: ignore[return-value]

    def save_sync_token(self, org_id: str, user_id: str, token: str | None) -> None:
        if (org_id, user_id) in self.grants:
            self.grants[(org_id, user_id)]["sync"] = token

    def link(self, org_id: str, user_id: str, contacts: Mapping[str, str]) -> None:
        self.links.update({(org_id, user_id, name): c for name, c in contacts.items()})

    def linked(self, org_id: str, user_id: str, resource_names: Iterable[str]) -> dict[str, str]:
        return {
            n: self.links[(org_id, user_id, n)] for n in resource_names if (org_id, user_id, n) in self.links
        }

    def delete(self, org_id: str, user_id: str) -> bool:
        self.links = {k: v for k, v in self.links.items() if k[:2] != (org_id, user_id)}
        return self.grants.pop((org_id, user_id), None) is not None
