"""The one Logger, Tracer and Metrics of every function.

Service name, namespace and level come from the standard Powertools environment variables set in the
template. Log lines must never carry personal data: a filter masks anything that looks like an email
address or a phone number as a last line of defence, and code logs ids and counts only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")


def redact(text: str) -> str:
    """Mask email addresses and phone-number-like digit runs."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


class PiiRedactingFilter(logging.Filter):
    """Rewrites the message, its arguments and extra keys with personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = tuple(_redact_value(arg) for arg in record.args)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_RECORD_KEYS and isinstance(value, str | dict | list):
                setattr(record, key, _redact_value(value))
        return True


_STANDARD_RECORD_KEYS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

METRICS_NAMESPACE = "CallProof"

logger = Logger()
logger.addFilter(PiiRedactingFilter())
# X-Ray patches botocore only (every AWS call a function makes); patching everything the SDK knows
# imports modules no function uses (botocore.docs, httplib, sqlite3...) into every cold start.
tracer = Tracer(patch_modules=("botocore",))
# Explicit, not from the environment: every function shares the namespace, and the local stack runs all
# functions in one process where a per-function environment is not visible to Powertools.
metrics = Metrics(namespace=METRICS_NAMESPACE)
