"""Staff tools on the command line: ``callproof dsar create | list | show | choose | investigate | answer | wait`` (the DSAR
API over HTTP) and ``callproof outbox`` (the mail the local stack sent through SES).

``dsar`` talks to the running local stack by default (its URL from the state file) and mints a
``compliance`` token for ``--org``; ``--url`` and ``--token`` (or ``$CALLPROOF_TOKEN``) point it at a
deployment. An API refusal prints its error code and message and exits 1; a usage problem (no running
stack, no org and no token) exits 2. ``wait`` exits 0 once the request completed, 1 when it stopped
anywhere else (needs_review, needs_attention, cancelled, expired, waiting for a confirmation or a
correction) or the timeout passed. ``choose`` answers a request in needs_review: staff pick its
subject among the candidates it lists. ``show`` says "identifiers removed at completion" for a
closed request. ``dsar scrub-closed`` (registered here, run by ``callproof_local.cli`` on the table,
like ``audit verify``) is the one-off for requests closed before closing removed the identifiers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any, TextIO

from callproof_local import auth
from callproof_local.usage import UsageError, examples, stack_state

CLI_USER = "cli-staff"
TOKEN_ENV = "CALLPROOF_TOKEN"  # noqa: S105 - the name of an environment variable
POLL_SECONDS = 0.5
RUNNING = frozenset({"in_progress", "verified"})
REVIEW = "needs_review"  # the identifiers reach several people: staff choose the subject
STATUSES = (
    "pending_confirmation", "verified", "in_progress", "awaiting_correction", REVIEW, "needs_attention",
    "completed", "cancelled", "expired", "received", "investigating", "answered",
)  # fmt: skip
TYPES = ("access", "erasure", "correction", "restriction", "portability", "complaint")
FINISHED = frozenset({"done", "failed"})


class ApiError(Exception):
    """The API refused a call: its status and ``{"error": {"code", "message"}}`` (or gateway message)."""

    def __init__(self, status: int, payload: Any) -> None:
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            code, message = str(error.get("code", status)), str(error.get("message", ""))
            fields = [d.get("field") for d in error.get("details") or [] if isinstance(d, dict)]
            if fields:
                message += f" ({', '.join(str(f) for f in fields if f)})"
        else:
            code = str(status)
            message = str(payload.get("message", "")) if isinstance(payload, dict) else str(payload)
        super().__init__(f"{code}: {message}")
        self.status = status


def http(method: str, url: str, token: str | None = None, body: Any = None, timeout: float = 30) -> Any:
    """One JSON call; ``ApiError`` for an HTTP error answer, ``UsageError`` when nothing answers."""
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - staff-given URL
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")[:200]
        raise ApiError(exc.code, payload) from None
    except urllib.error.URLError as exc:
        raise UsageError(f"cannot reach {url}: {exc.reason}") from None


@dataclass(frozen=True)
class Api:
    url: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return http(method, self.url.rstrip("/") + path, self.token, body)


def connect(url: str | None, token: str | None, org: str | None) -> Api:
    """The API to talk to: ``url`` or the running local stack; ``token`` or one minted for ``org``.

    Every gated route answers 428 ``age_confirmation_required`` until the caller has answered the
    age question (ADR 0008). The staff member a token is minted for answers it ("16 or over") the
    first time; a token given with ``--token`` is a real person's, who answers for themselves."""
    base = url or str(stack_state()["url"])
    token = token or os.environ.get(TOKEN_ENV)
    if token:
        return Api(base, token)
    if not org:
        raise UsageError(f"give --org (a compliance token is minted locally), or --token / ${TOKEN_ENV}")
    try:
        api = Api(base, auth.mint(org, CLI_USER, ["compliance"]))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        _answer_age(api)
    except ApiError as exc:
        raise UsageError(f"the minted token cannot answer the age question: {exc}") from None
    return api


def _answer_age(api: Api) -> None:
    try:
        api.call("GET", "/v1/me/age")
        return  # answered before
    except ApiError as exc:
        if exc.status != HTTPStatus.NOT_FOUND:
            raise
    api.call("PUT", "/v1/me/age", {"attests_16_or_over": True})


# ------------------------------------------------------------------------------------ formatting
def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; ``-`` for None."""
    cells = [list(headers)] + [["-" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells)


def days_left(item: Mapping[str, Any]) -> str:
    """``12``, ``3 (due soon)``, ``-2 (overdue)``; only open requests carry a deadline state."""
    state = item.get("deadline_state")
    flag = {"due_soon": " (due soon)", "overdue": " (overdue)"}.get(str(state), "")
    return f"{item['days_left']}{flag}"


def requests_table(items: Iterable[Mapping[str, Any]]) -> str:
    """The request list: those that need review first (nothing moves until staff choose), then by
    due date (then id)."""
    ordered = sorted(items, key=lambda item: (item["status"] != REVIEW, str(item["due"]), str(item["id"])))
    return table(
        ("ID", "TYPE", "STATUS", "DUE", "DAYS LEFT"),
        [(i["id"], i["type"], i["status"], i["due"], days_left(i)) for i in ordered],
    )


def detail_text(request: Mapping[str, Any]) -> str:
    """A request's detail: the facts, the per-store table, the steps and the timeline."""
    subject = request.get("subject") or {}
    identifiers = ", ".join(f"{k}={subject[k]}" for k in ("email", "phone", "contact_id") if subject.get(k))
    if subject.get("removed_at"):  # a closed request keeps no identifier of the person (ADR 0022)
        identifiers = f"{identifiers + '; ' if identifiers else ''}identifiers removed at completion"
    facts = [
        ("Request", request["id"]),
        ("Type", request["type"] + (" (lift)" if request.get("lift") else "")),
        ("Status", request["status"]),
        ("Jurisdiction", request["jurisdiction"]),
        ("Received", request["received"]),
        ("Due", f"{request['due']}{' (extended)' if request.get('extended') else ''}"),
        ("Days left", days_left(request)),
        ("Subject", identifiers or "-"),
        ("Proven", kinds(subject.get("proven"))),
        ("Unverified", kinds(subject.get("unverified"))),
        ("Contacts", ids(subject.get("contacts_found"))),
        ("Accounts", ids(subject.get("users_found"))),
        ("Recipient", request.get("recipient_email") or "-"),
        ("Verification", request.get("verification") or "-"),
        ("Download", "ready" if request.get("download_ready") else "-"),
    ]
    width = max(len(label) for label, _ in facts) + 1
    lines = [f"{label + ':':<{width}} {value}" for label, value in facts]
    for label, text in (("Details", request.get("details")), ("Answer", request.get("answer"))):
        if text:  # a complaint's words and the written answer sent
            lines += ["", f"{label}:", *(f"  {line}" for line in str(text).splitlines())]
    candidates = subject.get("candidates") or []
    if candidates:
        lines += ["", "Candidates (choose with `callproof dsar choose`):"]
        lines.append(
            table(
                ("KIND", "ID", "REACHED THROUGH"),
                [(c["kind"], c["id"], ", ".join(c["via"])) for c in candidates],
            )
        )
    stores = request.get("stores") or {}
    if stores:
        columns = ("status", "rows", "deleted", "kept", "residue", "attempts", "error")
        lines += ["", "Stores:"]
        lines.append(
            table(
                ("STORE", *(c.upper() for c in columns)),
                [(name, *(stores[name].get(c) for c in columns)) for name in sorted(stores)],
            )
        )
    steps = request.get("steps") or {}
    if steps:
        lines += ["", "Steps: " + ", ".join(f"{name} {status}" for name, status in steps.items())]
    timeline = request.get("timeline") or []
    if timeline:
        lines += ["", "Timeline:"]
        lines.append(
            table(("AT", "EVENT", "DETAIL"), [(e["at"], e["event"], e.get("detail")) for e in timeline])
        )
    return "\n".join(lines)


def kinds(values: Iterable[str] | None) -> str:
    """Identifier kinds (``email, phone``), ``none`` when empty, ``-`` when absent."""
    if values is None:
        return "-"
    return ", ".join(values) or "none"


def ids(values: Iterable[str] | None) -> str:
    """Resolved ids; ``-`` while the subject is not resolved (or needs review)."""
    return "-" if values is None else ", ".join(values) or "none"


def current_step(request: Mapping[str, Any]) -> str:
    """The first workflow step not done yet, else the latest timeline event, else the status."""
    steps: Mapping[str, str] = request.get("steps") or {}
    pending = [name for name, status in steps.items() if status != "done"]
    if pending:
        return pending[0]
    timeline = request.get("timeline") or []
    return str(timeline[-1]["event"]) if timeline else str(request["status"])


def progress_line(request: Mapping[str, Any], width: int = 24) -> str:
    """``[#########---------------]  3/7 stores  step deliver  in_progress``; failed stores count as
    finished and are named."""
    stores: Mapping[str, Mapping[str, Any]] = request.get("stores") or {}
    finished = sum(1 for s in stores.values() if s.get("status") in FINISHED)
    filled = width * finished // len(stores) if stores else 0
    failed = sorted(name for name, s in stores.items() if s.get("status") == "failed")
    line = f"[{'#' * filled}{'-' * (width - filled)}] {finished}/{len(stores)} stores"
    if failed:
        line += f" (failed: {', '.join(failed)})"
    return f"{line}  step {current_step(request)}  {request['status']}"


def wait_for(
    fetch: Callable[[], Mapping[str, Any]],
    out: TextIO,
    tty: bool,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Poll until the request leaves in_progress / verified, drawing its progress on ``out`` (one
    redrawn line on a terminal, one line per change otherwise). 0 when completed, else 1."""
    deadline = clock() + timeout
    shown = ""
    while True:
        request = fetch()
        line = progress_line(request)
        if line != shown:
            if tty:
                out.write("\r" + line.ljust(len(shown)))
            else:
                out.write(line + "\n")
            out.flush()
            shown = line
        status = str(request["status"])
        if status not in RUNNING:
            break
        if clock() >= deadline:
            status = "timeout"
            break
        sleep(POLL_SECONDS)
    if tty:
        out.write("\n")
    if status == "completed":
        return 0
    out.write(f"request {request['id']} ended waiting: {status}\n")
    out.flush()
    return 1


def mail_text(messages: Iterable[Mapping[str, Any]]) -> str:
    blocks = [
        f"--- {m['id']}\nFrom: {m['from']}\nTo: {', '.join(m['to'])}\nSubject: {m['subject']}\n\n{m['body']}"
        for m in messages
    ]
    return "\n\n".join(blocks) if blocks else "(no mail)"


def select_mail(
    messages: Iterable[Mapping[str, Any]], to: str | None, last: int | None
) -> list[Mapping[str, Any]]:
    """The messages sent to ``to`` (any recipient, case-insensitive), the ``last`` N of them."""
    chosen = [m for m in messages if to is None or to.lower() in (a.lower() for a in m["to"])]
    return chosen[-last:] if last else chosen


# ------------------------------------------------------------------------------------ commands
def create_body(args: argparse.Namespace) -> dict[str, Any]:
    subject = {
        k: v for k, v in (("email", args.email), ("phone", args.phone), ("contact_id", args.contact_id)) if v
    }
    if not subject:
        raise UsageError("give the subject's --email, --phone or --contact-id")
    body: dict[str, Any] = {
        "type": args.type,
        "subject": subject,
        "jurisdiction": args.jurisdiction,
        "received": (args.received or datetime.now(UTC).date()).isoformat(),
        "verification": args.verification,
        "start": not args.no_start,
    }
    if args.recipient_email:
        body["recipient_email"] = args.recipient_email
    if args.lift:
        body["lift"] = True
    if args.details:
        body["details"] = args.details
    return body


def choose_body(args: argparse.Namespace) -> dict[str, Any]:
    """The subject choice: at least one candidate contact or account, and the reason."""
    if not (args.contact_ids or args.user_ids):
        raise UsageError("choose at least one candidate: --contact ID or --user ID")
    return {"contact_ids": args.contact_ids, "user_ids": args.user_ids, "reason": args.reason}


def run_dsar(args: argparse.Namespace) -> int:
    api = connect(args.url, args.token, args.org)
    try:
        if args.dsar == "create":
            created = api.call("POST", "/v1/dsar/requests", create_body(args))
            print(created["id"] if args.quiet else json.dumps(created, indent=2))
        elif args.dsar == "list":
            print(requests_table(list_all(api, args.status, args.due_before)))
        elif args.dsar == "show":
            print(detail_text(api.call("GET", request_path(args.id))))
        elif args.dsar == "choose":
            print(detail_text(api.call("POST", request_path(args.id) + "/subject", choose_body(args))))
        elif args.dsar == "investigate":
            print(detail_text(api.call("POST", request_path(args.id) + "/investigate")))
        elif args.dsar == "answer":
            answer = {"outcome": args.outcome, "steps": args.steps}
            print(detail_text(api.call("POST", request_path(args.id) + "/answer", answer)))
        else:
            return wait_for(
                lambda: api.call("GET", request_path(args.id)), sys.stderr, sys.stderr.isatty(), args.timeout
            )
    except ApiError as exc:
        print(f"callproof: {exc}", file=sys.stderr)
        return 1
    return 0


def request_path(request_id: str) -> str:
    return f"/v1/dsar/requests/{urllib.parse.quote(request_id, safe='')}"


def list_all(api: Api, status: str | None, due_before: date | None) -> list[Any]:
    """Every page of the request list."""
    items: list[Any] = []
    cursor = None
    while True:
        query = {"status": status, "due_before": due_before and due_before.isoformat(), "limit": 100}
        query["cursor"] = cursor
        page = api.call(
            "GET", "/v1/dsar/requests?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def run_outbox(url: str | None, to: str | None, as_json: bool, last: int | None) -> int:
    base = url or str(stack_state()["url"])
    try:
        messages = http("GET", f"{base.rstrip('/')}/_local/outbox")["messages"]
    except ApiError as exc:
        raise UsageError(f"{base} has no local outbox ({exc}); is it a local stack?") from None
    chosen = select_mail(messages, to, last)
    print(json.dumps(chosen, indent=2) if as_json else mail_text(chosen))
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return int(text)


def target_parser() -> argparse.ArgumentParser:
    """The options naming the API and the caller (``--url``, ``--token``, ``--org``): a parent parser
    of every staff command (``dsar``, ``incident``)."""
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--url", help="API base URL (default: the running local stack)")
    target.add_argument("--token", help=f"bearer token (default ${TOKEN_ENV}, else minted locally for --org)")
    target.add_argument("--org", help="org id for the locally minted compliance token")
    return target


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``dsar`` and ``outbox`` on the root parser's subcommands."""
    target = target_parser()
    dsar = commands.add_parser("dsar", help="data-subject requests (compliance staff)").add_subparsers(
        dest="dsar", required=True
    )
    create = dsar.add_parser(
        "create",
        parents=[target],
        help="record a request (and start it)",
        **examples(
            "callproof dsar create --org demo-org --type access --email grace@example.com --jurisdiction gdpr "
            "--verification 'ID checked on a video call'",
            "callproof dsar create --org demo-org --type erasure --phone '+1 415 555 0100' --jurisdiction ccpa "
            "--verification 'answered the security questions' --no-start",
        ),
    )
    create.add_argument("--type", required=True, choices=TYPES)
    create.add_argument("--email", help="the subject's email")
    create.add_argument("--phone", help="the subject's phone number")
    create.add_argument("--contact-id", help="the subject's contact id")
    create.add_argument("--jurisdiction", required=True, choices=("gdpr", "ccpa"))
    create.add_argument("--received", type=_day, help="date received, YYYY-MM-DD (default today)")
    create.add_argument("--verification", required=True, help="how the requester's identity was verified")
    create.add_argument("--recipient-email", help="portability: the third party who receives the export")
    create.add_argument("--lift", action="store_true", help="restriction: lift an earlier restriction")
    create.add_argument("--details", help="the person's own words (a complaint: required)")
    create.add_argument("--no-start", action="store_true", help="record only; start it later")
    create.add_argument("-q", "--quiet", action="store_true", help="print only the request id")
    listing = dsar.add_parser(
        "list",
        parents=[target],
        help="requests: those that need review first, then by due date",
        **examples(
            "callproof dsar list --org demo-org",
            "callproof dsar list --org demo-org --status needs_review --due-before 2026-12-31",
        ),
    )
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--due-before", type=_day, help="only requests due before YYYY-MM-DD")
    show = dsar.add_parser(
        "show",
        parents=[target],
        help="a request: stores, steps and timeline",
        **examples("callproof dsar show --org demo-org REQUEST_ID"),
    )
    show.add_argument("id")
    choose = dsar.add_parser(
        "choose",
        parents=[target],
        help="choose the subject of a request that needs review",
        **examples(
            "callproof dsar choose --org demo-org REQUEST_ID --contact CONTACT_ID "
            "--reason 'the caller confirmed this address'"
        ),
    )
    choose.add_argument("id")
    choose.add_argument(
        "--contact", action="append", default=[], dest="contact_ids", metavar="ID", help="a candidate contact"
    )
    choose.add_argument(
        "--user",
        action="append",
        default=[],
        dest="user_ids",
        metavar="ID",
        help="a candidate member account",
    )
    choose.add_argument("--reason", required=True, help="why this is the subject (3-1000 characters)")
    investigate = dsar.add_parser(
        "investigate",
        parents=[target],
        help="start looking into a received complaint",
        **examples("callproof dsar investigate --org demo-org REQUEST_ID"),
    )
    investigate.add_argument("id")
    answer = dsar.add_parser(
        "answer",
        parents=[target],
        help="answer a complaint in writing (emailed to the person, audited)",
        **examples(
            "callproof dsar answer --org demo-org REQUEST_ID --outcome 'We fixed the opt-out sync.' "
            "--steps 'We purged the send queue and added a check.'"
        ),
    )
    answer.add_argument("id")
    answer.add_argument("--outcome", required=True, help="the outcome (3-5000 characters)")
    answer.add_argument("--steps", required=True, help="the steps taken (3-5000 characters)")
    wait = dsar.add_parser(
        "wait",
        parents=[target],
        help="draw a progress bar until the workflow ends",
        **examples("callproof dsar wait --org demo-org REQUEST_ID --timeout 120"),
    )
    wait.add_argument("id")
    wait.add_argument("--timeout", type=float, default=600, help="seconds (default 600)")
    scrub = dsar.add_parser(
        "scrub-closed",
        help="one-off: remove the identifiers of an org's requests closed before closing removed them",
        **examples(
            "callproof dsar scrub-closed --org demo-org",
            "callproof dsar scrub-closed --org acme --table callproof-prod-DsarTable-1A2B3C",
        ),
    )
    scrub.add_argument("--org", required=True)
    scrub.add_argument("--url", help="gateway URL of a local stack (default: the running one)")
    scrub.add_argument("--table", help="the DsarTable of a deployment (its DsarTableName output)")
    outbox = commands.add_parser(
        "outbox",
        help="the mail the local stack sent (SES)",
        **examples("callproof outbox", "callproof outbox --to grace@example.com --last 1 --json"),
    )
    outbox.add_argument("--url", help="gateway URL (default: the running local stack)")
    outbox.add_argument("--to", help="only mail to this address")
    outbox.add_argument("--json", action="store_true", dest="as_json", help="print JSON")
    outbox.add_argument("--last", type=_positive, help="only the last N messages")


def run(args: argparse.Namespace) -> int:
    """Run ``dsar`` or ``outbox`` (``UsageError`` propagates to the caller's exit code 2)."""
    if args.command == "outbox":
        return run_outbox(args.url, args.to, args.as_json, args.last)
    return run_dsar(args)
