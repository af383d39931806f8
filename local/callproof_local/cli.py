"""The ``callproof`` command: ``local`` (run the stack), ``token`` (mint a JWT), ``run-schedule``,
``twilio-sign`` (the X-Twilio-Signature of a form post, for curl against the local stack),
``gmail-deliver`` (put an .eml into a mailbox of the local Google double and push it as Pub/Sub would),
``mail-in`` (deliver an .eml to the privacy mailbox as SES receiving would: ``callproof_local.mail_in``),
``audit verify`` (check an org's DSAR audit hash chain), ``publish-policy``, ``dsar create | list | show |
wait`` (staff DSAR tools) and ``outbox`` (mail the local stack sent), both in ``dsar_cli``, ``dsar
scrub-closed`` (the one-off that removes the identifiers of requests closed before closing did; on the
table, like ``audit verify``), ``incident record | list | show | authority | notify`` (the breach
register, ``incident_cli``), and ``admin create`` (an org's first admin on a deployment, in
``admin_cli``). ``--url`` is always the gateway's URL (default: the running local stack's); ``--table``
names a deployment's table. ``--version``.

Exit codes: 0 success or a clean stop (Ctrl-C / SIGTERM), 1 unexpected failure, 2 a usage problem the
user can fix (port taken, unknown schedule, no running stack, bad token arguments).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from callproof_local import auth, seed
from callproof_local.seed import DEMO_ORG, DEMO_ROLES, DEMO_USER
from callproof_local.usage import UsageError, examples

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEMO_TTL = 12 * 3600
CREATE_BODY = (
    '{"name":"Ada Lovelace","type":"customer","emails":["ada@example.com"],"phones":["+1 415 555 0100"]}'
)
LOOKUP_BODY = '{"phones":["+14155550100"],"emails":["ada@example.com"]}'
# The template's Schedule events (a test holds this list equal to infra/template.yaml's).
SCHEDULES = ("CallLogRetention", "DsarDeadlines", "GmailMaintenance", "MemberSweep")


def _banner(url: str, startup_ms: float, moto_url: str, demo_org: str | None) -> str:
    token = auth.mint(DEMO_ORG, DEMO_USER, DEMO_ROLES, ttl=DEMO_TTL)
    auth_header = '-H "Authorization: Bearer $TOKEN"'
    json_header = '-H "Content-Type: application/json"'
    lines = [
        f"Started in {startup_ms:.0f} ms (moto at {moto_url})",
        f"Demo data: org {demo_org}" if demo_org else "Demo data: none",
        f"Bearer token for org {DEMO_ORG}, user {DEMO_USER}, roles {','.join(DEMO_ROLES)} (valid 12 h);"
        " paste this line into your shell:",
        f"TOKEN={token}",
        "Try:",
        f"  curl -s {url}/health",
        f"  curl -s {auth_header} {url}/v1/contacts",
        f"  curl -s -X POST {auth_header} {json_header} -d '{CREATE_BODY}' {url}/v1/contacts",
        f"  curl -s -X POST {auth_header} {json_header} -d '{LOOKUP_BODY}' {url}/v1/contacts/lookup",
        f"Data-subject requests: console {url}/console (paste the value of TOKEN; it has the compliance role),",
        "  or: callproof dsar create --org demo-org --type access --email grace@example.com "
        '--jurisdiction gdpr --verification "ID checked"; callproof outbox shows the mail sent',
        "Ctrl-C stops the stack.",
    ]
    return "\n".join(lines)


def run_local(template: Path, port: int) -> int:
    from callproof_local.cron import ScheduleExpressionError  # heavy imports only for this command
    from callproof_local.gateway import PortInUseError
    from callproof_local.stack import LocalStack
    from callproof_local.template import TemplateError

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the gateway prints its own access log
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack = LocalStack(template, port)
    except PortInUseError as exc:
        raise UsageError(
            f"{exc.strerror}; is another local stack running? Use --port to pick another"
        ) from None
    try:
        try:
            stack.start()
        except (TemplateError, ScheduleExpressionError, FileNotFoundError) as exc:
            raise UsageError(f"{template}: {exc}") from None
        print(f"CallProof local stack listening on {stack.url}", flush=True)
        demo_org = seed.seed(stack.url)
        print(_banner(stack.url, stack.startup_ms, stack.moto_url, demo_org), flush=True)
        if stack.twilio is not None:
            from callproof_local.twilio_double import banner as sms_banner

            print(sms_banner(stack.url, stack.twilio.url), flush=True)
        if stack.google is not None:
            from callproof_local.google_double import banner as gmail_banner

            print(gmail_banner(stack.url, stack.google.url), flush=True)
        while not stop.wait(1):
            pass
    finally:
        stack.stop()
    print("Stopped.", flush=True)
    return 0


def run_token(org: str, user: str, roles: Sequence[str], ttl: int) -> int:
    try:
        print(auth.mint(org, user, roles, ttl=ttl))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def run_schedule(name: str, url: str | None) -> int:
    from callproof_local.stack import state_file

    if url is None:
        try:
            url = str(json.loads(state_file().read_text(encoding="utf-8"))["url"])
        except (OSError, ValueError, KeyError):
            raise UsageError(
                f"no running local stack ({state_file()} missing); start `make run` or pass --url"
            ) from None
    request = urllib.request.Request(f"{url}/_local/schedules/{name}", data=b"", method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=900) as response:  # noqa: S310 - loopback URL
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        error = json.loads(exc.read() or b"{}")
        if exc.code == 404:
            raise UsageError(error.get("message", f"unknown schedule {name!r}")) from None
        print(f"callproof: {json.dumps(error)}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        raise UsageError(f"cannot reach the local stack at {url}: {exc.reason}") from None
    print(json.dumps(body["result"], indent=2))
    return 0


def run_twilio_sign(url: str, pairs: Sequence[str], auth_token: str | None) -> int:
    """Print the X-Twilio-Signature the stack accepts for a form post of ``pairs`` to ``url``."""
    from callproof.integrations.twilio_webhook import FormParams, sign
    from callproof_local.twilio_double import DEV_AUTH_TOKEN

    params = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"expected key=value, got {pair!r}")
        params.append((name, value))
    print(sign(auth_token or DEV_AUTH_TOKEN, url, FormParams(params)))
    return 0


def run_gmail_deliver(mailbox: str, eml: Path, push: bool) -> int:
    """Put ``eml`` into ``mailbox`` at the local Google double, then POST the Pub/Sub push (with a
    signed OIDC token) to the running stack's webhook, as Google would."""
    import base64

    from callproof_local.stack import state_file

    try:
        state = json.loads(state_file().read_text(encoding="utf-8"))
        url, double = str(state["url"]), str(state["google_double_url"])
    except (OSError, ValueError, KeyError):
        raise UsageError(
            f"no running local stack with Gmail ({state_file()} missing); start `make run`"
        ) from None
    try:
        raw = eml.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {eml}: {exc.strerror}") from None

    def post(target: str, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(target, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback URLs
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except urllib.error.URLError as exc:
            raise UsageError(f"cannot reach {target}: {exc.reason}") from None

    _, body = post(f"{double}/_double/mailboxes/{mailbox}/messages", raw, {"Content-Type": "message/rfc822"})
    added = json.loads(body)
    print(json.dumps({"gmail_id": added["id"], "historyId": added["historyId"]}))
    if not push:
        return 0
    audience = f"{url}/webhooks/gmail/push"
    _, body = post(
        f"{double}/_double/push-token",
        json.dumps({"audience": audience}).encode(),
        {"Content-Type": "application/json"},
    )
    token = json.loads(body)["token"]
    data = base64.b64encode(
        json.dumps({"emailAddress": mailbox, "historyId": int(added["historyId"])}).encode()
    )
    envelope = {
        "message": {"data": data.decode(), "messageId": added["id"], "publishTime": "1970-01-01T00:00:00Z"},
        "subscription": "projects/callproof-local/subscriptions/gmail-push",
    }
    status, body = post(
        audience,
        json.dumps(envelope).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    print(json.dumps({"push_status": status}))
    return 0 if status < 300 else 1


def run_publish_policy(
    version: str, significant: bool, policy_url: str | None, url: str | None, table: str | None
) -> int:
    """Publish a terms / privacy policy version (its text at ``policy_url``): on the local stack whose
    gateway is ``url`` (default: the running one), or with ``--table`` on the deployment the AWS
    credentials point at. A significant one makes every authenticated route answer 428 until each
    user consents again (within the gate's 60 s cache)."""
    from callproof.accounts.consent import TERMS_DOCUMENT, ConsentService
    from callproof.errors import DomainError
    from callproof.store.consents_dynamo import DynamoConsentStore
    from callproof.store.policies_dynamo import DynamoPolicyStore

    client, table = _dynamodb_table("AccountsTable", table, url)
    service = ConsentService(
        DynamoConsentStore(client, table), DynamoPolicyStore(client, table), lambda: b"", public_base_url=None
    )
    try:
        published = service.publish(TERMS_DOCUMENT, version, significant=significant, url=policy_url)
    except DomainError as exc:
        raise UsageError(exc.message) from None
    print(
        json.dumps(
            {
                "document": published.document,
                "version": published.version,
                "seq": published.seq,
                "significant": published.significant,
            }
        )
    )
    return 0


def _dynamodb_table(logical_id: str, table: str | None, url: str | None) -> tuple[DynamoDBClient, str]:
    """A DynamoDB client and table name: with ``table`` the deployment the AWS credentials point at,
    else the table ``logical_id`` of the local stack whose gateway is ``url`` (default: the running
    one's, from its state file)."""
    import boto3

    from callproof_local.provision import aws_session, local_name
    from callproof_local.stack import state_file

    if table is not None:
        return boto3.client("dynamodb"), table
    if url is not None:
        moto_url = _local_aws_endpoint(url)
    else:
        try:
            moto_url = str(json.loads(state_file().read_text(encoding="utf-8"))["moto_url"])
        except (OSError, ValueError, KeyError):
            raise UsageError(
                f"no running local stack ({state_file()} missing); start `make run`, or pass --url or --table"
            ) from None
    return aws_session().client("dynamodb", endpoint_url=moto_url), local_name(logical_id)


def _local_aws_endpoint(url: str) -> str:
    """The moto endpoint behind the local gateway at ``url`` (its ``/_local/aws``)."""
    not_local = f"{url} is not a local stack's gateway; for a deployment pass --table"
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_local/aws", timeout=10) as response:  # noqa: S310
            endpoint = json.load(response)["endpoint_url"]
    except urllib.error.HTTPError:
        raise UsageError(not_local) from None
    except urllib.error.URLError as exc:
        raise UsageError(f"cannot reach the local stack at {url}: {exc.reason}") from None
    except (ValueError, KeyError, TypeError):
        raise UsageError(not_local) from None
    if not isinstance(endpoint, str):
        raise UsageError(not_local)
    return endpoint


def _policy_url(text: str) -> str:
    """``--policy-url``: an absolute http(s) URL with a host (where the policy's text is published)."""
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"expected an absolute http(s) URL, got {text!r}")
    return text


def run_audit_verify(org: str, url: str | None, table: str | None) -> int:
    """Check an org's audit hash chain up to its head: 0 and the entry count when intact, 1 and the
    first broken link otherwise."""
    from itertools import islice

    from callproof.dsar.audit import verify
    from callproof.store.audit_dynamo import DynamoAuditLog

    client, table = _dynamodb_table("DsarTable", table, url)
    log = DynamoAuditLog(client, table)
    head = log.head(org)  # read first: entries appended while we read are past it, not breaks
    length = head.seq if head else 0
    broken = verify(islice(log.entries(org), length), head)  # streamed, never the whole chain in memory
    if broken is None:
        print(f"chain intact: {length} entries")
        return 0
    print(f"chain broken at seq {broken.seq} (entry {broken.index + 1}): {broken.reason}")
    return 1


def run_scrub_closed(org: str, url: str | None, table: str | None) -> int:
    """The one-off for requests closed before closing removed their identifiers (ADR 0022); it also
    registers the org for the retention purge, which then finds the requests it put in ClosedByOrgTime."""
    from callproof.dsar.closing import scrub_closed
    from callproof.ids import utc_now
    from callproof.store.dsar_dynamo import DynamoRequestStore
    from callproof.store.retention_registry_dynamo import OrgRegistry

    client, table = _dynamodb_table("DsarTable", table, url)
    scrubbed = scrub_closed(DynamoRequestStore(client, table), org, utc_now())
    OrgRegistry(client, table, "dsar_requests").add(org)  # idempotent (a put of the org's key)
    print(f"identifiers removed from {scrubbed} closed request(s)")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"callproof {version('callproof')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "callproof (not installed)"


def parser() -> argparse.ArgumentParser:
    from callproof_local import admin_cli, dsar_cli, incident_cli, mail_in
    from callproof_local.template import DEFAULT_TEMPLATE

    root = argparse.ArgumentParser(prog="callproof", description="CallProof local development tools.")
    root.add_argument("--version", action="version", version=_version())
    commands = root.add_subparsers(dest="command", required=True)
    local = commands.add_parser(
        "local",
        help="run the local stack (moto + gateway) from the SAM template",
        **examples("callproof local", "callproof local --port 0"),
    )
    local.add_argument("--port", type=int, default=3000, help="gateway port (0 picks a free one)")
    local.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template to serve")
    token = commands.add_parser(
        "token",
        help="print a JWT for the local stack",
        **examples(
            "callproof token --org demo-org --user demo-user --role rep",
            "callproof token --org demo-org --user staff-1 --role compliance --ttl 600",
        ),
    )
    token.add_argument("--org", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--role", action="append", required=True, choices=sorted(auth.ROLES), dest="roles")
    token.add_argument("--ttl", type=int, default=3600, help="seconds of validity (default 3600)")
    schedule = commands.add_parser(
        "run-schedule",
        help="fire a Schedule event of the running stack now",
        **examples(*(f"callproof run-schedule {name}" for name in SCHEDULES)),
    )
    schedule.add_argument("name", help=f"the event's name in the template: {', '.join(SCHEDULES)}")
    schedule.add_argument("--url", help="gateway URL (default: the running local stack)")
    twilio_sign = commands.add_parser(
        "twilio-sign",
        help="print the X-Twilio-Signature of a Twilio form post (development auth token)",
        **examples(
            "callproof twilio-sign --url http://127.0.0.1:3000/webhooks/twilio/sms "
            "From=+14155550100 To=+14155550199 Body=STOP MessageSid=SM0123456789abcdef0123456789abcdef"
        ),
    )
    twilio_sign.add_argument("--url", required=True, help="the full URL Twilio would call")
    twilio_sign.add_argument("--auth-token", help="sign with this token instead of the local development one")
    twilio_sign.add_argument("params", nargs="*", metavar="key=value", help="the form parameters")
    gmail = commands.add_parser(
        "gmail-deliver",
        help="put an .eml into a mailbox of the local Google double and send the signed push",
        **examples("callproof gmail-deliver --mailbox rep@example.com message.eml"),
    )
    gmail.add_argument("--mailbox", required=True, help="the Gmail address (as connected)")
    gmail.add_argument("--no-push", action="store_true", help="only add the message (no Pub/Sub push)")
    gmail.add_argument("eml", type=Path, help="an RFC 5322 message file")
    publish = commands.add_parser(
        "publish-policy",
        help="publish a terms / privacy policy version (significant: users consent again)",
        **examples(
            "callproof publish-policy --version 2026-12 --policy-url https://callproof.example/terms/2026-12",
            "callproof publish-policy --version 2027-01 --significant --table callproof-prod-AccountsTable-1A2B3C",
        ),
    )
    publish.add_argument("--version", required=True, help="the version id, e.g. 2026-12")
    publish.add_argument("--significant", action="store_true", help="ask every user to consent again (428)")
    publish.add_argument("--policy-url", type=_policy_url, help="where the text of this version is published")
    publish.add_argument("--url", help="gateway URL of a local stack (default: the running one)")
    publish.add_argument("--table", help="the AccountsTable of a deployment (its AccountsTableName output)")
    audit = commands.add_parser("audit", help="the DSAR audit trail").add_subparsers(
        dest="audit", required=True
    )
    audit_verify = audit.add_parser(
        "verify",
        help="check an org's hash chain; report the first broken link",
        **examples(
            "callproof audit verify --org demo-org",
            "callproof audit verify --org acme --table callproof-prod-DsarTable-1A2B3C",
        ),
    )
    audit_verify.add_argument("--org", required=True)
    audit_verify.add_argument("--url", help="gateway URL of a local stack (default: the running one)")
    audit_verify.add_argument("--table", help="the DsarTable of a deployment (its DsarTableName output)")
    dsar_cli.add_commands(commands)  # dsar create | list | show | choose | wait, outbox
    incident_cli.add_commands(commands)  # incident record | list | show | authority | notify
    admin_cli.add_commands(commands)  # admin create
    mail_in.add_command(commands)  # mail-in FILE.eml
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "local":
            return run_local(args.template, args.port)
        if args.command == "token":
            return run_token(args.org, args.user, args.roles, args.ttl)
        if args.command == "twilio-sign":
            return run_twilio_sign(args.url, args.params, args.auth_token)
        if args.command == "publish-policy":
            return run_publish_policy(args.version, args.significant, args.policy_url, args.url, args.table)
        if args.command == "audit":
            return run_audit_verify(args.org, args.url, args.table)
        if args.command == "dsar" and args.dsar == "scrub-closed":
            return run_scrub_closed(args.org, args.url, args.table)
        if args.command in ("dsar", "outbox"):
            from callproof_local import dsar_cli

            return dsar_cli.run(args)
        if args.command == "incident":
            from callproof_local import incident_cli

            return incident_cli.run(args)
        if args.command == "admin":
            from callproof_local import admin_cli

            return admin_cli.run(args)
        if args.command == "gmail-deliver":
            return run_gmail_deliver(args.mailbox, args.eml, not args.no_push)
        if args.command == "mail-in":
            from callproof_local import mail_in

            return mail_in.run(args)
        return run_schedule(args.name, args.url)
    except UsageError as exc:
        print(f"callproof: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
