"""POST /v1/sms/messages with an Idempotency-Key, on moto through the handler, Twilio played by the
local double: a retried send texts once (issue 13, point 11)."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.sms.test_sms_api import Sms, contact, setup_org, sms  # noqa: F401
from tests.support import api_event, keyed


def send(stack: Sms, contact_id: str, key: str, text: str = "Hi Ada", user: str = "rep-1") -> dict[str, Any]:
    body = {"contact_id": contact_id, "body": text}
    return stack.raw(keyed(api_event("POST", "/v1/sms/messages", body=body, user=user), key), "SmsFunction")


def test_a_retried_send_answers_the_first_message_and_texts_once(sms: Sms) -> None:  # noqa: F811
    setup_org(sms)
    ada = contact(sms)
    first = send(sms, ada, "send-1")
    again = send(sms, ada, "send-1")
    assert first["statusCode"] == again["statusCode"] == 201, first
    assert again["body"] == first["body"]
    assert again["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]
    assert len(sms.double.sent) == 1

    other = send(sms, ada, "send-1", text="Hi again")
    assert other["statusCode"] == 422
    assert json.loads(other["body"])["error"]["code"] == "idempotency_key_reused"
    assert len(sms.double.sent) == 1

    colleague = send(sms, ada, "send-1", user="rep-2")  # another user's key is another key
    assert colleague["statusCode"] == 201
    assert len(sms.double.sent) == 2


def test_a_refused_send_is_not_replayed(sms: Sms) -> None:  # noqa: F811
    ada = contact(sms)
    refused = send(sms, ada, "too-early")  # no sender number yet: refused, nothing sent
    assert refused["statusCode"] == 409
    setup_org(sms)
    sent = send(sms, ada, "too-early")
    assert sent["statusCode"] == 201, sent
    assert len(sms.double.sent) == 1
