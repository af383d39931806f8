import io
import json
import logging

from aws_lambda_powertools import Logger

from callproof.observability import PiiRedactingFilter, redact


def test_redact_masks_emails_and_phone_numbers() -> None:
    text = redact("ada@example.com called +1 (415) 555-0100 about order 42")
    assert "ada@example.com" not in text
    assert "555" not in text
    assert "order 42" in text


def test_log_lines_never_carry_personal_data() -> None:
    stream = io.StringIO()
    log = Logger(service="t", logger_handler=logging.StreamHandler(stream))
    log.addFilter(PiiRedactingFilter())
    log.info("lookup for %s", "bob@example.org", extra={"phone": "+14155550100", "nested": ["a@b.co"]})
    line = json.loads(stream.getvalue())
    dumped = json.dumps(line)
    assert "bob@example.org" not in dumped
    assert "+14155550100" not in dumped
    assert "a@b.co" not in dumped
    assert line["message"] == "lookup for [email]"
