"""What the person is told when their request is done (issue 15, point 5): an erasure's outcome, a
restriction's effect and a correction's fields, and a complaint's written answer. Pure text: counts
per store, reasons and field names, never the data itself. Each goes out through the once-marker
(``callproof.dsar.once.send_once``) under the key named here, so a replayed step sends one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callproof.dsar.model import DsarRequest

ERASURE_KEY = "notice-erasure"
RESTRICTION_KEY = "notice-restriction"
COMPLAINT_KEY = "notice-answer"

SUPERVISORY_AUTHORITY = (
    "If you are not satisfied with this answer, you have the right to lodge a complaint with a "
    "supervisory authority, in particular in the country where you live or work or where you think "
    "the law was broken (in the EU and EEA, your national data protection authority; in California, "
    "the California Privacy Protection Agency)."
)

Notice = tuple[str, str]  # (subject line, text)


def erasure(request: DsarRequest) -> Notice:
    """What was erased and what was kept under which exception, store by store (counts only)."""
    erased = [f"- {name}: {progress.deleted} record(s)" for name, progress in sorted(request.stores.items())]
    kept = [
        f"- {name}: {progress.kept} record(s), kept because: {progress.kept_because or 'a legal duty'}"
        for name, progress in sorted(request.stores.items())
        if progress.kept
    ]
    subject = request.subject
    lines = [
        f"Your erasure request of {request.deadline.received.isoformat()} is complete.",
        "",
        "Erased, per store:",
        *(erased or ["- nothing was found"]),
        "",
        "Kept, per store, and why:",
        *(kept or ["- nothing"]),
        "",
    ]
    if subject is not None and (subject.emails or subject.phones):
        lines.append(
            "Your email address and phone numbers are kept only as keyed hashes on our suppression list, "
            "so that you are never imported or texted again (an SMS opt-out is kept because the law "
            "requires us to honour it). A keyed hash cannot be read back into the address or number."
        )
    if subject is not None and subject.user_ids:
        lines.append(
            "Your account is deleted. The contacts you owned and the calls you logged are your "
            "organisation's business records: they stay with it, reassigned to one of its admins."
        )
    lines.append("We checked every store afterwards: none still holds data found through your identifiers.")
    return "Your privacy request: erasure complete", "\n".join(lines)


def restriction(request: DsarRequest, contacts: int) -> Notice:
    """What a restriction changes and how to lift it (or that processing has resumed)."""
    if request.lift:
        text = (
            "The restriction of the processing of your data has been lifted "
            f"({contacts} record(s) concerned). We may again text you, sync email with you and match "
            "your calls, within the limits of your consents and opt-outs."
        )
        return "Your privacy request: restriction lifted", text
    text = "\n".join(
        [
            f"The processing of your data is now restricted ({contacts} record(s) concerned). What it changes:",
            "- we send you no text messages;",
            "- email with you is no longer synced from our team's mailboxes;",
            "- calls from or to your numbers are no longer matched to your record.",
            "We keep your data stored, but do not otherwise use it while the restriction lasts.",
            "",
            "To lift the restriction, file a restriction request asking to lift it (the same privacy "
            "request page or email address you used, or reply to this email): processing resumes once "
            "you confirm it.",
        ]
    )
    return "Your privacy request: processing restricted", text


def correction(fields: Iterable[str]) -> Notice:
    """The fields changed (their names, not their values)."""
    names = ", ".join(sorted(fields))
    text = (
        f"We corrected the data we hold about you. Fields changed: {names}.\n"
        "If anything is still wrong, reply to this email or file a new correction request."
    )
    return "Your privacy request: data corrected", text


def correction_key(contact_id: str, version: int) -> str:
    """One notice per corrected version of a contact: a replay finds it, a later correction sends."""
    return f"notice-correction-{contact_id}-{version}"


def answer(request: DsarRequest, outcome: str, steps: str) -> Notice:
    """A complaint's written answer: the outcome, the steps taken, and the supervisory authority."""
    lines = [
        f"We have looked into your complaint of {request.deadline.received.isoformat()}.",
        "",
        "Outcome:",
        outcome,
        "",
        "Steps we took:",
        steps,
        "",
        SUPERVISORY_AUTHORITY,
    ]
    return "Your complaint: our answer", "\n".join(lines)
