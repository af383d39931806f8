"""The ``callproof`` command: ``local`` (run the stack), ``token`` (mint a JWT), ``run-schedule``,
``twilio-sign`` (the X-Twilio-Signature of a form post, for curl against the local stack).

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

from callproof.local import auth, seed
from callproof.local.seed import DEMO_ORG, DEMO_ROLES, DEMO_USER

DEMO_TTL = 12 * 3600
CREATE_BODY = (
    '{"name":"Ada Lovelace","type":"customer","emails":["ada@example.com"],"phones":["+1 415 555 0100"]}'
)
LOOKUP_BODY = '{"phones":["+14155550100"],"emails":["ada@example.com"]}'


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _banner(url: str, startup_ms: float, moto_url: str, demo_org: str | None) -> str:
    token = auth.mint(DEMO_ORG, DEMO_USER, DEMO_ROLES, ttl=DEMO_TTL)
    auth_header = f'-H "Authorization: Bearer {token}"'
    json_header = '-H "Content-Type: application/json"'
    lines = [
        f"Started in {startup_ms:.0f} ms (moto at {moto_url})",
        f"Demo data: org {demo_org}" if demo_org else "Demo data: none",
        f"Bearer token for org {DEMO_ORG}, user {DEMO_USER}, roles {','.join(DEMO_ROLES)} (valid 12 h):",
        token,
        "Try:",
        f"  curl -s {url}/health",
        f"  curl -s {auth_header} {url}/v1/contacts",
        f"  curl -s -X POST {auth_header} {json_header} -d '{CREATE_BODY}' {url}/v1/contacts",
        f"  curl -s -X POST {auth_header} {json_header} -d '{LOOKUP_BODY}' {url}/v1/contacts/lookup",
        "Ctrl-C stops the stack.",
    ]
    return "\n".join(lines)


def run_local(template: Path, port: int) -> int:
    from callproof.local.cron import ScheduleExpressionError  # heavy imports only for this command
    from callproof.local.gateway import PortInUseError
    from callproof.local.stack import LocalStack
    from callproof.local.template import TemplateError

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
            from callproof.local.twilio_double import banner as sms_banner

            print(sms_banner(stack.url, stack.twilio.url), flush=True)
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
    from callproof.local.stack import state_file

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
    from callproof.local.twilio_double import DEV_AUTH_TOKEN

    params = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"expected key=value, got {pair!r}")
        params.append((name, value))
    print(sign(auth_token or DEV_AUTH_TOKEN, url, FormParams(params)))
    return 0


def parser() -> argparse.ArgumentParser:
    from callproof.local.stack import DEFAULT_TEMPLATE

    root = argparse.ArgumentParser(prog="callproof", description="CallProof local development tools.")
    commands = root.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run the local stack (moto + gateway) from the SAM template")
    local.add_argument("--port", type=int, default=3000, help="gateway port (0 picks a free one)")
    local.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template to serve")
    token = commands.add_parser("token", help="print a JWT for the local stack")
    token.add_argument("--org", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--role", action="append", required=True, choices=sorted(auth.ROLES), dest="roles")
    token.add_argument("--ttl", type=int, default=3600, help="seconds of validity (default 3600)")
    schedule = commands.add_parser("run-schedule", help="fire a Schedule event of the running stack now")
    schedule.add_argument("name", help="the event's name in the template, e.g. RetentionSweep")
    schedule.add_argument("--url", help="gateway URL (default: from the running stack's state file)")
    twilio_sign = commands.add_parser(
        "twilio-sign", help="print the X-Twilio-Signature of a Twilio form post (development auth token)"
    )
    twilio_sign.add_argument("--url", required=True, help="the full URL Twilio would call")
    twilio_sign.add_argument("--auth-token", help="sign with this token instead of the local development one")
    twilio_sign.add_argument("params", nargs="*", metavar="key=value", help="the form parameters")
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
        return run_schedule(args.name, args.url)
    except UsageError as exc:
        print(f"callproof: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
