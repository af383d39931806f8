"""``callproof incident record | list | show | authority | notify``: the breach register over HTTP,
with the plumbing of ``callproof dsar`` (``dsar_cli.connect``: the running local stack and a minted
``compliance`` token for ``--org``, or ``--url`` and ``--token``). An API refusal prints its error and
exits 1; a usage problem exits 2."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from callproof_local.dsar_cli import ApiError, connect, table, target_parser
from callproof_local.usage import UsageError, examples

STORES = ("contacts", "call_logs", "devices", "sms", "mail", "integrations", "accounts")
KINDS = ("contact_details", "call_records", "messages", "email_content", "location", "account", "credentials")


def incidents_table(items: Iterable[Mapping[str, Any]]) -> str:
    return table(
        ("ID", "STATUS", "DETECTED", "AUTHORITY DUE", "MEMBERS", "SUBJECTS", "PEOPLE"),
        [
            (
                i["id"],
                i["status"] + (" (overdue)" if i["authority_overdue"] and i["status"] == "open" else ""),
                i["detected_at"],
                i["authority_due"],
                i["affected"]["members"],
                i["affected"]["subjects"],
                i["people"],
            )
            for i in items
        ],
    )


def _when(text: str) -> str:
    """An ISO 8601 time with a zone (``Z`` or an offset); ``now`` for the current time."""
    if text == "now":
        return datetime.now(UTC).isoformat()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO time with a zone, got {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time zone (Z or +hh:mm) in {text!r}")
    return moment.isoformat()


def run(args: argparse.Namespace) -> int:
    api = connect(args.url, args.token, args.org)
    path = "/v1/incidents/" + urllib.parse.quote(args.id, safe="") if getattr(args, "id", None) else ""
    try:
        if args.incident == "record":
            body: dict[str, Any] = {
                "detected_at": args.detected_at,
                "description": args.description,
                "stores": args.stores,
                "data_kinds": args.kinds,
            }
            if args.orgs:
                body["orgs"] = args.orgs
            shown = api.call("POST", "/v1/incidents", body)
        elif args.incident == "list":
            page = api.call("GET", "/v1/incidents?limit=100")
            print(incidents_table(page["items"]))
            return 0
        elif args.incident == "show":
            shown = api.call("GET", path)
        elif args.incident == "authority":
            shown = api.call(
                "POST", path + "/authority", {"notified_at": args.at, "reference": args.reference}
            )
        else:
            decision = {"decision": "not_required"} if args.not_required else {"decision": "notify"}
            if not args.not_required:
                if not args.what_to_do:
                    raise UsageError("give --what-to-do (the advice emailed), or --not-required")
                decision["what_to_do"] = args.what_to_do
            shown = api.call("POST", path + "/people", decision)
    except ApiError as exc:
        print(f"callproof: {exc}", file=sys.stderr)
        return 1
    print(shown["id"] if getattr(args, "quiet", False) else json.dumps(shown, indent=2))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    target = target_parser()
    incident = commands.add_parser("incident", help="the breach register (compliance staff)").add_subparsers(
        dest="incident", required=True
    )
    record = incident.add_parser(
        "record",
        parents=[target],
        help="record a personal-data breach; affected people are counted",
        **examples(
            "callproof incident record --org demo-org --detected-at 2026-12-01T09:30:00Z "
            "--description 'A support laptop with an export was stolen' --store contacts --store accounts "
            "--kind contact_details --kind account"
        ),
    )
    record.add_argument("--detected-at", required=True, type=_when, help="ISO time with a zone, or now")
    record.add_argument("--description", required=True, help="what happened (10-5000 characters)")
    record.add_argument("--store", action="append", required=True, dest="stores", choices=STORES)
    record.add_argument("--kind", action="append", required=True, dest="kinds", choices=KINDS)
    record.add_argument(
        "--affected-org", action="append", default=[], dest="orgs", metavar="ORG", help="(operator only)"
    )
    record.add_argument("-q", "--quiet", action="store_true", help="print only the incident id")
    incident.add_parser(
        "list",
        parents=[target],
        help="the org's incidents, newest first",
        **examples("callproof incident list --org demo-org"),
    )
    show = incident.add_parser(
        "show", parents=[target], help="one incident", **examples("callproof incident show --org demo-org ID")
    )
    show.add_argument("id")
    authority = incident.add_parser(
        "authority",
        parents=[target],
        help="record the supervisory authority's notification (stops the 72-hour clock)",
        **examples("callproof incident authority --org demo-org INCIDENT_ID --reference ICO-2026-42"),
    )
    authority.add_argument("id")
    authority.add_argument("--reference", required=True, help="the authority's case reference")
    authority.add_argument("--at", type=_when, default="now", help="when it was notified (default now)")
    notify = incident.add_parser(
        "notify",
        parents=[target],
        help="decide the people must be told: email each affected member once",
        **examples(
            "callproof incident notify --org demo-org INCIDENT_ID --what-to-do 'Change your password'",
            "callproof incident notify --org demo-org INCIDENT_ID --not-required",
        ),
    )
    notify.add_argument("id")
    notify.add_argument("--what-to-do", help="the advice the email gives (10-3000 characters)")
    notify.add_argument("--not-required", action="store_true", help="record that nobody needs to be told")
