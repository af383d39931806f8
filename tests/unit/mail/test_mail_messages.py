"""Issue 17, points 1-3 with fakes: the labels a mailbox syncs, one message once per org whatever the
mailboxes that saw it, and the web mail client's reads (filters, threads, sanitised HTML)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.mail.html import sanitise
from callproof.mail.labels import MailboxLabels
from callproof.mail.model import EmailQuery, GmailConfig, Integration, IntegrationStatus, message_key
from callproof.mail.reading import MailReader
from callproof.mail.sync import MailSync
from callproof.oauth.model import GMAIL_READONLY, OAuthToken
from callproof.tenancy import Caller, Role
from tests.gmail_fakes import (
    FakeBlobs,
    FakeGmail,
    FakeIndex,
    FakeIntegrations,
    FakeMatcher,
    FakeOAuth,
    FakeQueue,
    FakeVault,
)

ORG = "org-a"
CONFIG = GmailConfig("projects/p/topics/t", "https://api/oauth/google/callback", 30)
ANN = Caller(ORG, "rep-ann", frozenset({Role.REP}))
BEN = Caller(ORG, "rep-ben", frozenset({Role.REP}))


def eml(
    sender: str,
    to: str,
    subject: str = "Quote",
    message_id: str | None = "<q1@customer.example>",
    reply_to: str | None = None,
    html: str | None = None,
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", "Date: Mon, 30 Nov 2026 10:00:00 +0000"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if reply_to:
        lines += [f"In-Reply-To: {reply_to}", f"References: {reply_to}"]
    lines += [f"Content-Type: text/{'html' if html else 'plain'}", ""]
    return ("\r\n".join(lines) + "\r\n" + (html or "body text") + "\r\n").encode()


@dataclass
class Team:
    """Two reps of one org, each with a connected mailbox; one index, one bucket."""

    boxes: dict[str, FakeGmail]
    integrations: FakeIntegrations
    index: FakeIndex
    blobs: FakeBlobs

    def sync(self, user: str) -> MailSync:
        return MailSync(
            self.integrations,  # type: ignore[arg-type]
            self.index,  # type: ignore[arg-type]
            self.blobs,
            FakeMatcher({"ada@customer.example": "c-ada", "bob@customer.example": "c-bob"}),
            FakeOAuth(),
            FakeVault(),
            self.boxes[user].api,
            FakeQueue(),
            CONFIG,
            clock=lambda: 1000.0,
        )

    def labels(self, user: str) -> MailboxLabels:
        return MailboxLabels(
            self.integrations,  # type: ignore[arg-type]
            self.index,  # type: ignore[arg-type]
            self.blobs,
            FakeOAuth(),
            FakeVault(),
            self.boxes[user].api,
            CONFIG,
            clock=lambda: 1000.0,
        )

    def reader(self) -> MailReader:
        matcher = FakeMatcher({"ada@customer.example": "c-ada", "bob@customer.example": "c-bob"})
        return MailReader(self.index, self.blobs, matcher)  # type: ignore[arg-type]


@pytest.fixture
def team() -> Team:
    integrations, vault = FakeIntegrations(), FakeVault()
    boxes = {}
    for user in ("rep-ann", "rep-ben"):
        address = f"{user.removeprefix('rep-')}@callproof.test"
        boxes[user] = FakeGmail(address=address)
        token = OAuthToken("access", "refresh", 1e12, (GMAIL_READONLY,))
        integration = Integration(ORG, user, address, IntegrationStatus.ACTIVE, 100, 4_000_000_000_000, "t")
        integrations.connect(integration, vault.seal(token, ORG, user, "gmail"))
    return Team(boxes, integrations, FakeIndex(), FakeBlobs())


# --- point 2: one message once per org --------------------------------------------------------------


def test_two_reps_on_one_message_store_one_body_listed_once_with_both_mailboxes(team: Team) -> None:
    team.boxes["rep-ann"].add(eml("ada@customer.example", "ann@callproof.test, ben@callproof.test"))
    team.boxes["rep-ben"].add(eml("ada@customer.example", "ann@callproof.test, ben@callproof.test"))
    assert team.sync("rep-ann").sync(ORG, "rep-ann").stored == 1
    result = team.sync("rep-ben").sync(ORG, "rep-ben")
    assert (result.stored, result.linked) == (0, 1)
    assert len(team.blobs.objects) == 1
    assert team.blobs.puts == 1
    page = team.reader().search(ANN, EmailQuery(contact_id="c-ada"), 50, None)
    assert [(e.subject, e.mailboxes) for e in page.emails] == [("Quote", ("rep-ann", "rep-ben"))]


def test_the_same_message_id_under_a_new_gmail_id_is_not_stored_again(team: Team) -> None:
    box = team.boxes["rep-ann"]
    box.add(eml("ada@customer.example", "ann@callproof.test"))
    team.sync("rep-ann").sync(ORG, "rep-ann")
    box.add(eml("ada@customer.example", "ann@callproof.test"))  # the same .eml delivered again
    result = team.sync("rep-ann").sync(ORG, "rep-ann")
    assert (result.stored, result.linked) == (0, 1)
    assert len(team.reader().search(ANN, EmailQuery(contact_id="c-ada"), 50, None).emails) == 1
    assert len(team.blobs.objects) == 1


def test_without_a_message_id_sender_date_and_subject_identify_the_message(team: Team) -> None:
    for user in ("rep-ann", "rep-ben"):
        team.boxes[user].add(
            eml("ada@customer.example", "ann@callproof.test, ben@callproof.test", message_id=None)
        )
        team.sync(user).sync(ORG, user)
    team.boxes["rep-ann"].add(
        eml("ada@customer.example", "ann@callproof.test", subject="Other", message_id=None)
    )
    team.sync("rep-ann").sync(ORG, "rep-ann")
    subjects = [e.subject for e in team.reader().search(ANN, EmailQuery(), 50, None).emails]
    assert sorted(subjects) == ["Other", "Quote"]
    assert message_key("", "ada@customer.example", "d", "s") != message_key(
        "", "bob@customer.example", "d", "s"
    )


def test_purging_one_mailbox_keeps_the_message_for_the_other_and_the_last_takes_the_body(team: Team) -> None:
    for user in ("rep-ann", "rep-ben"):
        team.boxes[user].add(eml("ada@customer.example", "ann@callproof.test, ben@callproof.test"))
        team.sync(user).sync(ORG, user)
    from callproof.mail.labels import purge_copies

    assert purge_copies(team.index, team.blobs, ORG, "rep-ann", lambda _: True) == (1, 0)  # type: ignore[arg-type]
    (record,) = team.reader().search(BEN, EmailQuery(), 50, None).emails
    assert record.mailboxes == ("rep-ben",)
    assert len(team.blobs.objects) == 1
    assert purge_copies(team.index, team.blobs, ORG, "rep-ben", lambda _: True) == (1, 1)  # type: ignore[arg-type]
    assert team.index.records == {}
    assert team.blobs.objects == {}


# --- point 1: chosen labels -------------------------------------------------------------------------


def test_only_the_chosen_labels_are_synced_and_the_watch_covers_exactly_them(team: Team) -> None:
    box = team.boxes["rep-ann"]
    box.user_labels["Label_1"] = "Customers"
    labels, selected = team.labels("rep-ann").labels(ANN)
    assert selected == ("INBOX", "SENT")
    assert "Label_1" in {label.id for label in labels}
    choice = team.labels("rep-ann").select(ANN, ["Label_1"], purge=False)
    assert choice.labels == ("Label_1",)
    assert box.watched_labels == ("Label_1",)
    box.add(eml("ada@customer.example", "ann@callproof.test", subject="inbox", message_id="<a@x>"))
    box.add(
        eml("ada@customer.example", "ann@callproof.test", subject="chosen", message_id="<b@x>"), ("Label_1",)
    )
    result = team.sync("rep-ann").sync(ORG, "rep-ann")
    assert (result.listed, result.stored) == (1, 1)
    assert [e.subject for e in team.reader().search(ANN, EmailQuery(), 50, None).emails] == ["chosen"]


def test_taking_a_label_out_with_purge_removes_only_what_that_label_alone_brought(team: Team) -> None:
    box = team.boxes["rep-ann"]
    box.user_labels["Label_1"] = "Customers"
    team.labels("rep-ann").select(ANN, ["INBOX", "Label_1"], purge=False)
    box.add(
        eml("ada@customer.example", "ann@callproof.test", subject="only label", message_id="<a@x>"),
        ("Label_1",),
    )
    box.add(
        eml("ada@customer.example", "ann@callproof.test", subject="both", message_id="<b@x>"),
        ("INBOX", "Label_1"),
    )
    box.add(
        eml("ada@customer.example", "ann@callproof.test", subject="inbox", message_id="<c@x>"), ("INBOX",)
    )
    team.sync("rep-ann").sync(ORG, "rep-ann")
    choice = team.labels("rep-ann").select(ANN, ["INBOX"], purge=True)
    assert (choice.purged_emails, choice.purged_objects) == (1, 1)
    subjects = sorted(e.subject for e in team.reader().search(ANN, EmailQuery(), 50, None).emails)
    assert subjects == ["both", "inbox"]


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ([], "labels"),
        (["SPAM"], "labels"),
        (["Label_404"], "labels"),
        ([f"L{i}" for i in range(51)], "labels"),
    ],
)
def test_bad_label_choices_are_refused_and_change_nothing(team: Team, labels: list[str], field: str) -> None:
    box = team.boxes["rep-ann"]
    with pytest.raises(InvalidInput) as refused:
        team.labels("rep-ann").select(ANN, labels, purge=True)
    assert refused.value.field == field
    assert team.integrations.get(ORG, "rep-ann").labels == ("INBOX", "SENT")  # type: ignore[union-attr]
    assert "watch" not in box.calls


def test_labels_need_a_connected_mailbox(team: Team) -> None:
    stranger = Caller(ORG, "rep-new", frozenset({Role.REP}))
    with pytest.raises(NotFound):
        team.labels("rep-ann").labels(stranger)
    team.integrations.set_status(ORG, "rep-ann", IntegrationStatus.DISCONNECTED, "revoked")
    with pytest.raises(Conflict):
        team.labels("rep-ann").select(ANN, ["INBOX"], purge=False)


# --- point 3: the web mail client's reads -----------------------------------------------------------


def test_filters_threads_and_another_org(team: Team) -> None:
    ann, ben = team.boxes["rep-ann"], team.boxes["rep-ben"]
    ann.add(eml("ada@customer.example", "ann@callproof.test, ben@callproof.test", message_id="<q1@x>"))
    ben.add(eml("ada@customer.example", "ann@callproof.test, ben@callproof.test", message_id="<q1@x>"))
    reply = eml("ben@callproof.test", "ada@customer.example", "Re: Quote", "<q2@x>", reply_to="<q1@x>")
    ben.add(reply, ("SENT",))
    ann.add(eml("bob@customer.example", "ann@callproof.test", "Invoice", "<i1@x>"))
    for user in ("rep-ann", "rep-ben"):
        team.sync(user).sync(ORG, user)
    reader = team.reader()

    def subjects(query: EmailQuery, caller: Caller = ANN) -> list[str]:
        return sorted(e.subject for e in reader.search(caller, query, 50, None).emails)

    assert subjects(EmailQuery()) == ["Invoice", "Quote", "Re: Quote"]
    assert subjects(EmailQuery(mailbox="rep-ben")) == ["Quote", "Re: Quote"]
    assert subjects(EmailQuery(sender="bob@customer.example")) == ["Invoice"]
    assert subjects(EmailQuery(recipient="ada@customer.example")) == ["Re: Quote"]
    assert subjects(EmailQuery(subject="quote")) == ["Quote", "Re: Quote"]
    first = reader.search(ANN, EmailQuery(subject="re:"), 50, None).emails[0]
    thread = reader.thread(ANN, first.thread_id)
    assert [record.subject for record, _ in thread] == ["Quote", "Re: Quote"]
    stranger = Caller("org-b", "rep-x", frozenset({Role.REP}))
    assert reader.search(stranger, EmailQuery(), 50, None).emails == []
    with pytest.raises(NotFound):
        reader.thread(stranger, first.thread_id)
    with pytest.raises(NotFound):
        reader.email(stranger, first.email_id)
    with pytest.raises(NotFound):
        reader.search(stranger, EmailQuery(contact_id="c-ada"), 50, None)
    with pytest.raises(InvalidInput):
        reader.search(ANN, EmailQuery(after=2000, before=1000), 50, None)


def test_html_is_served_sanitised(team: Team) -> None:
    html = (
        '<p onclick="steal()">Hi<script>alert(1)</script></p><a href="https://example.com/x">x</a>'
        '<a href="javascript:alert(1)">j</a><img src="https://tracker.example/p.gif"><img src="cid:logo">'
        '<div style="background:url(https://tracker.example/b)">s</div><iframe src="https://e"></iframe>'
    )
    team.boxes["rep-ann"].add(eml("ada@customer.example", "ann@callproof.test", html=html))
    team.sync("rep-ann").sync(ORG, "rep-ann")
    (record,) = team.reader().search(ANN, EmailQuery(), 50, None).emails
    _, document = team.reader().email(ANN, record.email_id)
    shown = document["html"]
    for gone in ("script", "onclick", "javascript:", "tracker.example", "iframe", "style="):
        assert gone not in shown
    assert 'rel="noopener noreferrer"' in shown
    assert 'src="cid:logo"' in shown
    _, asked = team.reader().email(ANN, record.email_id, remote_images=True)
    assert 'src="https://tracker.example/p.gif"' in asked["html"]
    assert "script" not in asked["html"]
    stored = json.loads(next(iter(team.blobs.objects.values())))
    assert "<script>" in stored["html"]  # kept as received; sanitised when served


def test_the_sanitiser_keeps_plain_formatting() -> None:
    assert sanitise("<p><b>Price</b>: <i>10</i></p>") == "<p><b>Price</b>: <i>10</i></p>"
