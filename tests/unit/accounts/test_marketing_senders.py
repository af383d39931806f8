"""Issue 16, point 3: no marketing mail skips the consent check. Every mail sender of the code (every
call site of the mailer ports, of the once-only wrappers around them, and of SES itself) is found in the
syntax trees of the layer and the functions and must be classified here: a transactional kind (mail a
person needs whatever their marketing choice: a confirmation, a notice the law requires), or the
marketing path, which must be ``MarketingMailer.send_marketing`` given a ``MarketingRecipient``, and
that only ``ConsentService.marketing_recipient`` makes, after reading the current ``marketing_email``
consent. A new sender fails here until it is classified; a marketing send that skips the check fails
whatever it is called."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCANNED = (ROOT / "layers" / "core" / "callproof", ROOT / "functions")

# (file relative to the repository, enclosing function) -> the kind of mail it sends
TRANSACTIONAL = {
    ("layers/core/callproof/accounts/age.py", "AgeService.record"): "the guardian's consent request",
    ("layers/core/callproof/dsar/once.py", "mail_once"): "the once-only wrapper (its callers are below)",
    ("layers/core/callproof/dsar/once.py", "send_once"): "the same, for a data-subject request",
    ("layers/core/callproof/dsar/lifecycle.py", "RequestLifecycle.send_once"): "a request's notices",
    ("layers/core/callproof/dsar/lifecycle.py", "RequestLifecycle.proceed"): "a request's confirmation",
    ("layers/core/callproof/dsar/lifecycle.py", "RequestLifecycle.record_pending"): "its confirmation link",
    ("layers/core/callproof/dsar/export_steps.py", "ExportSteps.deliver"): "the export's download link",
    ("layers/core/callproof/dsar/service.py", "DsarService.answer"): "a complaint's written answer",
    ("layers/core/callproof/dsar/service.py", "DsarService.correct"): "a correction's notice",
    ("layers/core/callproof/dsar/service.py", "DsarService.extend"): "a deadline extension's notice",
    ("layers/core/callproof/dsar/workflow.py", "WorkflowTasks._finish"): "a request's outcome",
    ("layers/core/callproof/incidents/service.py", "IncidentService._notify_members"): "a breach notice",
    ("layers/core/callproof/store/mailer_ses.py", "SesMailer.send"): "the transactional SES adapter",
}
MARKETING = {
    ("layers/core/callproof/accounts/announcements.py", "Announcements.send"): "the org's product update",
    ("layers/core/callproof/store/mailer_ses.py", "SesMarketingMailer.send_marketing"): "its SES adapter",
}
PORT_METHODS = {"send", "send_once", "mail_once"}  # on a mailer, or the once wrappers
SES_CALLS = {
    "send_email",
    "send_raw_email",
    "send_templated_email",
    "send_bulk_templated_email",
    "send_bulk_email",
}


@dataclass(frozen=True)
class Sender:
    path: str
    function: str
    method: str
    marketing_recipient_checked: bool  # the function reads ConsentService.marketing_recipient


def senders(path: str, source: str) -> list[Sender]:
    found: list[Sender] = []

    def visit(node: ast.AST, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [*scope, child.name]
                if not isinstance(child, ast.ClassDef):
                    checked = any(
                        isinstance(n, ast.Attribute) and n.attr == "marketing_recipient"
                        for n in ast.walk(child)
                    )
                    for call in (n for n in ast.walk(child) if isinstance(n, ast.Call)):
                        if (name := _sender_method(call)) is not None:
                            found.append(Sender(path, ".".join(inner), name, checked))
                    continue
                visit(child, inner)

    visit(ast.parse(source), [])
    return sorted(set(found), key=lambda s: (s.path, s.function, s.method))


def _sender_method(call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in {"send_marketing", *SES_CALLS}:
        return name
    if name in {"send_once", "mail_once"}:
        return name
    if name == "send" and isinstance(func, ast.Attribute) and "mail" in ast.unparse(func.value).lower():
        return name
    return None


def all_senders() -> list[Sender]:
    return [
        sender
        for folder in SCANNED
        for file in sorted(folder.rglob("*.py"))
        for sender in senders(file.relative_to(ROOT).as_posix(), file.read_text())
    ]


def problems(found: list[Sender]) -> list[str]:
    wrong: list[str] = []
    for s in found:
        key = (s.path, s.function)
        if s.method == "send_marketing" or s.method == "send_raw_email":
            if key not in MARKETING:
                wrong.append(f"{s.path} {s.function}: a marketing send outside the consent-checked path")
            elif s.method == "send_marketing" and not s.marketing_recipient_checked:
                wrong.append(
                    f"{s.path} {s.function}: send_marketing without ConsentService.marketing_recipient"
                )
        elif key in MARKETING and s.method != "send_marketing":
            wrong.append(
                f"{s.path} {s.function}: the marketing path sends through {s.method}, not send_marketing"
            )
        elif key not in TRANSACTIONAL:
            wrong.append(
                f"{s.path} {s.function} calls {s.method}: classify it here (transactional, with its kind) or "
                "send it as marketing through MarketingMailer and ConsentService.marketing_recipient"
            )
    return wrong


def test_every_mail_sender_is_classified_and_marketing_goes_through_the_consent_check() -> None:
    found = all_senders()
    assert problems(found) == []
    marketing = {(s.path, s.function) for s in found if s.method == "send_marketing"}
    assert marketing == {("layers/core/callproof/accounts/announcements.py", "Announcements.send")}


def test_only_the_consent_check_makes_a_marketing_recipient() -> None:
    makers = {
        (file.relative_to(ROOT).as_posix(), node.lineno)
        for folder in SCANNED
        for file in folder.rglob("*.py")
        for node in ast.walk(ast.parse(file.read_text()))
        if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "MarketingRecipient"
    }
    assert [path for path, _ in makers] == ["layers/core/callproof/accounts/consent.py"]


BYPASSES = {
    "a new marketing mail on the transactional port": """
class Digest:
    def weekly(self, members):
        for m in members:
            self._mailer.send(m.email, "This week at CallProof", "news")
""",
    "send_marketing with a recipient made by hand": """
def blast(mailer, members):
    for m in members:
        mailer.send_marketing(MarketingRecipient(m.org_id, m.user_id, m.email, ""), "News", "text")
""",
    "SES raw mail called directly": """
def promo(client):
    client.send_raw_email(Source="a@b.c", Destinations=["x@y.z"], RawMessage={"Data": b""})
""",
}


def test_the_scan_catches_each_way_around_the_check() -> None:
    for why, source in BYPASSES.items():
        assert problems(senders("layers/core/callproof/accounts/promo.py", source)), why
    for path, function in MARKETING:  # and it sees the real senders (the scan is not blind)
        assert any((s.path, s.function) == (path, function) for s in all_senders()), (path, function)
