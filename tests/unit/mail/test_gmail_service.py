"""The Gmail sync service with fakes: connect, push, sync of contact mail only, cursor, removal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.mail.model import EmailQuery, GmailConfig, IntegrationStatus
from callproof.mail.service import GmailService
from callproof.mail.sync import MailSync
from callproof.tenancy import Caller, Role
from tests.gmail_fakes import (
    FakeBlobs,
    FakeGmail,
    FakeIndex,
    FakeIntegrations,
    FakeMatcher,
    FakeOAuth,
    FakeQueue,
    FakeStates,
    FakeVault,
)

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))


def eml(sender: str, to: str = "rep@callproof.test", cc: str = "", subject: str = "Hi") -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", "Content-Type: text/plain", ""]
    if cc:
        lines.insert(2, f"Cc: {cc}")
    return ("\r\n".join(lines) + "\r\nbody text\r\n").encode()


@dataclass
class World:
    service: GmailService
    sync: MailSync
    gmail: FakeGmail
    integrations: FakeIntegrations
    index: FakeIndex
    blobs: FakeBlobs
    matcher: FakeMatcher
    oauth: FakeOAuth
    states: FakeStates
    queue: FakeQueue
    now: list[float]

    def connect(self) -> None:
        url = self.service.authorize(REP)
        state = url.split("state=")[1].split("&")[0]
        self.service.complete(state, "good-code")


@pytest.fixture
def world() -> World:
    gmail = FakeGmail()
    now = [1000.0]
    parts = dict(
        integrations=FakeIntegrations(),
        index=FakeIndex(),
        blobs=FakeBlobs(),
        matcher=FakeMatcher({"ada@customer.example": "c-ada", "bob@customer.example": "c-bob"}),
        oauth=FakeOAuth(),
        states=FakeStates(),
        queue=FakeQueue(),
    )
    vault = FakeVault()
    config = GmailConfig("projects/p/topics/t", "https://api/oauth/google/callback", 30)
    service = GmailService(
        integrations=parts["integrations"],  # type: ignore[arg-type]
        index=parts["index"],  # type: ignore[arg-type]
        blobs=parts["blobs"],  # type: ignore[arg-type]
        contacts=parts["matcher"],  # type: ignore[arg-type]
        oauth=parts["oauth"],  # type: ignore[arg-type]
        states=parts["states"],  # type: ignore[arg-type]
        vault=vault,
        gmail=gmail.api,
        config=config,
        clock=lambda: now[0],
    )
    sync = MailSync(
        integrations=parts["integrations"],  # type: ignore[arg-type]
        index=parts["index"],  # type: ignore[arg-type]
        blobs=parts["blobs"],  # type: ignore[arg-type]
        contacts=parts["matcher"],  # type: ignore[arg-type]
        oauth=parts["oauth"],  # type: ignore[arg-type]
        vault=vault,
        gmail=gmail.api,
        queue=parts["queue"],  # type: ignore[arg-type]
        config=config,
        clock=lambda: now[0],
    )
    return World(service, sync, gmail, now=now, **parts)  # type: ignore[arg-type]


def test_connect_binds_the_state_to_org_and_user_and_watches(world: World) -> None:
    world.connect()
    integration = world.integrations.get("org-a", "rep-1")
    assert integration is not None
    assert (integration.mailbox, integration.status, integration.history_id) == (
        "rep@callproof.test",
        IntegrationStatus.ACTIVE,
        100,
    )
    assert world.gmail.watching
    with pytest.raises(InvalidInput):  # the state was single-use
        world.service.complete("org-a.state0", "good-code")


def test_connect_without_the_gmail_scope_is_refused_and_revoked(world: World) -> None:
    world.oauth.scopes = ()
    url = world.service.authorize(REP)
    with pytest.raises(InvalidInput):
        world.service.complete(url.split("state=")[1].split("&")[0], "good-code")
    assert world.oauth.revoked == ["refresh-1"]
    assert world.integrations.get("org-a", "rep-1") is None


def test_a_mailbox_connected_by_another_user_is_a_conflict(world: World) -> None:
    world.connect()
    other = Caller("org-b", "rep-9", frozenset({Role.REP}))
    url = world.service.authorize(other)
    with pytest.raises(Conflict):
        world.service.complete(url.split("state=")[1].split("&")[0], "good-code")


def test_only_contact_mail_is_fetched_in_full_and_stored(world: World) -> None:
    world.connect()
    world.gmail.add(eml("friend@personal.example"))
    world.gmail.add(eml("Ada <ADA@customer.example>", subject="Quote"))
    world.gmail.add(eml("rep@callproof.test", to="someone@else.example", cc="bob@customer.example"))
    result = world.sync.sync("org-a", "rep-1")
    assert (result.listed, result.matched, result.stored, result.cursor_moved) == (3, 2, 2, True)
    assert "raw:2" in world.gmail.calls  # only the two contact messages in full
    records = sorted(world.index.records.values(), key=lambda r: r.gmail_id)
    assert [r.contact_ids for r in records] == [("c-ada",), ("c-bob",)]
    assert world.integrations.get("org-a", "rep-1").history_id == 103  # type: ignore[union-attr]
    assert len(world.blobs.objects) == 2
    assert all(key.startswith("orgs/org-a/mail/messages/") for key in world.blobs.objects)


def test_restricted_contacts_are_not_synced(world: World) -> None:
    world.connect()
    world.matcher.restricted.add("c-ada")
    world.gmail.add(eml("ada@customer.example"))
    assert world.sync.sync("org-a", "rep-1").stored == 0
    assert world.index.records == {}


def test_replays_and_out_of_order_pushes_store_once_and_never_move_the_cursor_back(world: World) -> None:
    world.connect()
    first = world.gmail.add(eml("ada@customer.example"))
    second = world.gmail.add(eml("bob@customer.example"))
    assert world.sync.push("rep@callproof.test", second.history_id)
    for _ in range(3):
        world.sync.sync("org-a", "rep-1")
    assert len(world.index.records) == 2
    assert world.blobs.puts == 2
    # an older push arrives late: acknowledged, nothing queued, the cursor stays
    assert not world.sync.push("REP@callproof.test", first.history_id)
    assert world.queue.jobs == [("org-a", "rep-1", second.history_id)]
    assert world.integrations.get("org-a", "rep-1").history_id == second.history_id  # type: ignore[union-attr]
    assert all(h >= second.history_id for h in world.integrations.advance_calls)


def test_unknown_mailboxes_are_acknowledged_and_ignored(world: World) -> None:
    assert not world.sync.push("nobody@else.example", 5)
    assert world.queue.jobs == []


def test_a_crash_between_storing_and_advancing_resyncs_without_duplicates(world: World) -> None:
    world.connect()
    world.gmail.add(eml("ada@customer.example"))
    world.gmail.add(eml("bob@customer.example"))
    world.index.fail_next_put = True
    with pytest.raises(RuntimeError):
        world.sync.sync("org-a", "rep-1")
    assert world.integrations.get("org-a", "rep-1").history_id == 100  # type: ignore[union-attr]
    world.sync.sync("org-a", "rep-1")
    world.sync.sync("org-a", "rep-1")
    assert len(world.index.records) == 2
    assert world.integrations.get("org-a", "rep-1").history_id == 102  # type: ignore[union-attr]


def test_history_too_old_falls_back_to_a_bounded_full_sync(world: World) -> None:
    world.connect()
    world.gmail.add(eml("ada@customer.example"))
    world.gmail.oldest_history = 101  # the stored cursor (100) is now too old
    result = world.sync.sync("org-a", "rep-1")
    assert result.full_sync
    assert result.stored == 1
    assert {"list:30:INBOX", "list:30:SENT"} <= set(world.gmail.calls)  # one list per chosen label
    assert world.integrations.get("org-a", "rep-1").history_id == 101  # type: ignore[union-attr]


def test_expired_access_tokens_are_refreshed_and_persisted(world: World) -> None:
    world.connect()
    world.now[0] = 20_000.0  # past the first token's expiry
    world.sync.sync("org-a", "rep-1")
    assert world.oauth.refreshes == 1
    assert "token:access-2" in world.gmail.calls
    world.sync.sync("org-a", "rep-1")
    assert world.oauth.refreshes == 1  # the refreshed token was stored


def test_invalid_grant_disconnects_and_stops_syncing(world: World) -> None:
    world.connect()
    world.now[0] = 20_000.0
    world.oauth.grant_revoked = True
    assert world.sync.sync("org-a", "rep-1").skipped == "disconnected"
    status = world.service.status(REP)
    assert status.status is IntegrationStatus.DISCONNECTED
    assert status.status_reason
    calls = len(world.gmail.calls)
    assert not world.sync.push("rep@callproof.test", 500)
    assert world.sync.sync("org-a", "rep-1").skipped == "disconnected"
    assert len(world.gmail.calls) == calls


def test_a_lapsed_watch_shows_in_the_status(world: World) -> None:
    world.connect()
    world.now[0] = 5_000_000_000.0  # after the watch's expiration
    assert world.service.status(REP).status is IntegrationStatus.LAPSED


def test_addresses_are_looked_up_in_batches_of_100(world: World) -> None:
    world.connect()
    to = ", ".join(f"p{i}@many.example" for i in range(250))
    world.gmail.add(eml("ada@customer.example", to=to))
    world.sync.sync("org-a", "rep-1")
    assert world.matcher.lookups == [100, 100, 51]


def test_reading_needs_the_orgs_contact_and_email(world: World) -> None:
    world.connect()
    world.gmail.add(eml("ada@customer.example", subject="Quote"))
    world.sync.sync("org-a", "rep-1")
    page = world.service.reader.search(REP, EmailQuery(contact_id="c-ada"), 50, None)
    assert [e.subject for e in page.emails] == ["Quote"]
    record, document = world.service.reader.email(REP, page.emails[0].email_id)
    assert document["subject"] == "Quote"
    assert "body text" in document["text"]
    other = Caller("org-b", "rep-9", frozenset({Role.REP}))
    with pytest.raises(NotFound):
        world.service.reader.email(other, record.email_id)
    with pytest.raises(NotFound):
        world.service.reader.search(other, EmailQuery(contact_id="c-ada"), 50, None)
    with pytest.raises(NotFound):
        world.service.reader.email(REP, "../../etc")


def test_removal_stops_revokes_and_purges_only_with_purge(world: World) -> None:
    world.connect()
    world.gmail.add(eml("ada@customer.example"))
    world.sync.sync("org-a", "rep-1")
    result = world.service.remove(REP, purge=False)
    assert (result.stopped, result.revoked, result.purged_emails) == (True, True, 0)
    assert not world.gmail.watching
    assert world.integrations.get("org-a", "rep-1") is None
    assert world.integrations.token("org-a", "rep-1") is None
    assert len(world.index.records) == 1  # kept without purge
    world.connect()
    result = world.service.remove(REP, purge=True)
    assert (result.purged_emails, result.purged_objects) == (1, 1)
    assert world.index.records == {}
    assert world.blobs.objects == {}
    with pytest.raises(NotFound):
        world.service.remove(REP, purge=True)


def test_connecting_needs_a_configured_redirect(world: World) -> None:
    service = GmailService(
        *(getattr(world.service, f"_{name}") for name in ("integrations", "index", "blobs", "contacts")),
        world.oauth,  # type: ignore[arg-type]
        world.states,  # type: ignore[arg-type]
        FakeVault(),
        world.gmail.api,
        GmailConfig("projects/p/topics/t", None),
    )
    with pytest.raises(Conflict):
        service.authorize(REP)


def test_maintenance_renews_watches_daily_and_polls_silent_mailboxes(world: World) -> None:
    world.gmail.watch_expiration = (1000 + 7 * 86_400) * 1000  # Google's 7 days
    world.connect()
    result = world.sync.maintain()
    assert (result.mailboxes, result.renewed, result.polled, result.lapsed) == (1, 0, 0, 0)  # fresh
    world.now[0] += 86_400 + 1  # a day later: under 6 days left, renewed; no push for a day: polled
    world.gmail.watch_expiration = int((world.now[0] + 7 * 86_400) * 1000)
    result = world.sync.maintain()
    assert (result.renewed, result.polled) == (1, 1)
    assert world.queue.jobs == [("org-a", "rep-1", 100)]
    integration = world.integrations.get("org-a", "rep-1")
    assert integration is not None
    assert integration.watch_expiration == world.gmail.watch_expiration
    world.sync.push("rep@callproof.test", 200)  # a push now: no fallback poll next hour
    world.now[0] += 600
    assert world.sync.maintain().polled == 0


def test_maintenance_counts_lapsed_watches_and_disconnects_revoked_grants(world: World) -> None:
    world.gmail.watch_expiration = 2_000_000
    world.connect()
    world.now[0] = 10_000.0  # the watch expired at 2,000 s; the access token too
    world.oauth.grant_revoked = True
    result = world.sync.maintain()
    assert (result.lapsed, result.disconnected, result.renewed) == (1, 1, 0)
    assert world.service.status(REP).status is IntegrationStatus.DISCONNECTED
    assert world.sync.maintain().mailboxes == 1
    assert world.sync.maintain().lapsed == 0  # disconnected ones are left alone
