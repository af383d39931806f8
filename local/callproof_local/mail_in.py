"""``callproof mail-in FILE.eml``: deliver a message to the running local stack the way SES receiving
delivers it in the cloud, following the template's receipt rule (``AWS::SES::ReceiptRule``): its S3
action stores the raw message as ``<ObjectKeyPrefix><SES message id>`` in the rule's bucket, then its
Lambda action invokes the rule's function with SES's receipt event (recipients and verdicts), through
moto's Lambda API, which the bridge runs in-process.

The verdicts are what SES would have found checking SPF, DKIM and DMARC on the SMTP session; there
is no SMTP session locally, so they are given (``--spf``, ``--dkim``, ``--dmarc``; PASS by default).
The envelope recipients default to the message's To and Cc addresses.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from callproof_local.template import Resolver, Template, TemplateError

VERDICTS = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")


@dataclass(frozen=True, slots=True)
class ReceiptRule:
    recipients: tuple[str, ...]  # addresses or domains, lower-cased
    bucket: str  # logical ids
    prefix: str
    function: str

    def matches(self, address: str) -> bool:
        address = address.lower()
        domain = address.rpartition("@")[2]
        return any(address == r or domain == r for r in self.recipients) or not self.recipients


def receipt_rule(template: Template) -> ReceiptRule:
    """The template's (one) receipt rule with an S3 and a Lambda action."""
    resolver = Resolver(template, {})
    for spec in template.get("Resources", {}).values():
        if spec.get("Type") != "AWS::SES::ReceiptRule":
            continue
        rule = spec["Properties"]["Rule"]
        s3 = next(a["S3Action"] for a in rule["Actions"] if "S3Action" in a)
        function = next(a["LambdaAction"]["FunctionArn"] for a in rule["Actions"] if "LambdaAction" in a)
        return ReceiptRule(
            recipients=tuple(str(resolver.resolve(r)).lower() for r in rule.get("Recipients", [])),
            bucket=s3["BucketName"]["Ref"],
            prefix=str(s3.get("ObjectKeyPrefix", "")),
            function=function["Fn::GetAtt"][0],
        )
    raise TemplateError("the template has no AWS::SES::ReceiptRule")


def envelope_recipients(raw: bytes) -> list[str]:
    """The To and Cc addresses of the message (what an MTA would take as RCPT TO by default)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(message, EmailMessage):
        return []
    found = []
    for name in ("to", "cc"):
        header = message.get(name)
        found += [address.addr_spec for address in getattr(header, "addresses", ())]
    return found


def ses_event(
    rule: ReceiptRule,
    message_id: str,
    raw: bytes,
    recipients: list[str],
    verdicts: dict[str, str],
    function_arn: str,
) -> dict[str, Any]:
    """SES's Lambda action event (``Records[0].ses``: mail and receipt), as SES sends it."""
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    headers = [{"name": name, "value": str(value)} for name, value in message.items()]
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": now,
                        "source": str(message.get("return-path", "")).strip("<>") or "unknown@local",
                        "messageId": message_id,
                        "destination": recipients,
                        "headersTruncated": False,
                        "headers": headers,
                        "commonHeaders": {
                            "from": [str(message.get("from", ""))],
                            "to": [str(message.get("to", ""))],
                            "subject": str(message.get("subject", "")),
                            "messageId": str(message.get("message-id", "")),
                        },
                    },
                    "receipt": {
                        "timestamp": now,
                        "processingTimeMillis": 1,
                        "recipients": [r for r in recipients if rule.matches(r)],
                        "spamVerdict": {"status": verdicts["spam"]},
                        "virusVerdict": {"status": verdicts["virus"]},
                        "spfVerdict": {"status": verdicts["spf"]},
                        "dkimVerdict": {"status": verdicts["dkim"]},
                        "dmarcVerdict": {"status": verdicts["dmarc"]},
                        "action": {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"},
                    },
                },
            }
        ]
    }


def deliver(
    session: Any,
    moto_url: str,
    rule: ReceiptRule,
    raw: bytes,
    recipients: list[str],
    verdicts: dict[str, str],
) -> dict[str, Any]:
    """Store the message and invoke the rule's function; its answer (the filed request, or why not)."""
    from callproof_local.provision import local_name

    matching = [r for r in recipients if rule.matches(r)]
    if not matching:
        return {"outcome": "not_received", "reason": "no recipient matches the receipt rule"}
    message_id = secrets.token_hex(20)  # SES message ids are 40 lower-case letters and digits
    s3 = session.client("s3", endpoint_url=moto_url)
    s3.put_object(Bucket=local_name(rule.bucket), Key=f"{rule.prefix}{message_id}", Body=raw)
    lam = session.client("lambda", endpoint_url=moto_url)
    arn = lam.get_function(FunctionName=local_name(rule.function))["Configuration"]["FunctionArn"]
    event = ses_event(rule, message_id, raw, matching, verdicts, arn)
    answer = lam.invoke(FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(event))
    payload = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        return {"outcome": "error", "error": payload, "message_id": message_id}
    return {**payload, "message_id": message_id}


def add_command(commands: Any) -> None:
    """``callproof mail-in``: its parser, under the CLI's subcommands."""
    from callproof_local.usage import examples

    mail_in = commands.add_parser(
        "mail-in",
        help="deliver an .eml to the local stack's privacy mailbox as SES receiving would",
        **examples(
            "callproof mail-in request.eml",
            "callproof mail-in --dmarc FAIL --to privacy+acme@privacy.callproof.example spoofed.eml",
        ),
    )
    mail_in.add_argument("eml", type=Path, help="an RFC 5322 message file")
    mail_in.add_argument(
        "--to", action="append", help="an envelope recipient (default: the To and Cc addresses)"
    )
    for check in ("spf", "dkim", "dmarc", "spam", "virus"):
        mail_in.add_argument(
            f"--{check}", type=str.upper, choices=VERDICTS, default="PASS", help=f"SES's {check} verdict"
        )


def run(args: Any) -> int:
    """Print the function's answer as JSON (``outcome``: filed, held, duplicate or dropped)."""
    from callproof_local.provision import aws_session
    from callproof_local.template import DEFAULT_TEMPLATE, load_template
    from callproof_local.usage import UsageError, stack_state

    try:
        raw = args.eml.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.eml}: {exc.strerror}") from None
    moto_url = str(stack_state().get("moto_url", ""))
    rule = receipt_rule(load_template(DEFAULT_TEMPLATE))
    recipients = args.to or envelope_recipients(raw)
    verdicts = {check: getattr(args, check) for check in ("spf", "dkim", "dmarc", "spam", "virus")}
    answer = deliver(aws_session(), moto_url, rule, raw, recipients, verdicts)
    print(json.dumps(answer))
    return 0 if answer.get("outcome") not in ("error", "not_received") else 1
