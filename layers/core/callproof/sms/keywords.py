"""The one list of SMS keywords, how an inbound body is read against it, and what the org answers.

A body is a keyword only when the whole of it is one: trimmed, case-insensitive, inner whitespace
collapsed, trailing punctuation ignored. "Stop calling me tomorrow" is an ordinary message. When Twilio
sends ``OptOutType`` (Advanced Opt-Out, which also knows the account's custom keywords), it wins.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callproof.sms.model import OrgSmsConfig


class KeywordKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# Opt-out: the carriers' list (CTIA) plus the words the amended TCPA rules treat as revocation.
KEYWORDS: dict[str, KeywordKind] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "HALT", "REVOKE", "OPTOUT", "OPT OUT"),
        KeywordKind.OPT_OUT,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), KeywordKind.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), KeywordKind.HELP),
}

# Twilio's OptOutType values (Advanced Opt-Out) mapped to what they mean here.
OPT_OUT_TYPES: dict[str, KeywordKind] = {
    "STOP": KeywordKind.OPT_OUT,
    "START": KeywordKind.OPT_IN,
    "HELP": KeywordKind.HELP,
}

_TRAILING = re.compile(r"[\s\W_]+$")
_SPACES = re.compile(r"\s+")
MAX_KEYWORD_LENGTH = 32  # longer bodies are never keywords; skip normalizing them


@dataclass(frozen=True, slots=True)
class Keyword:
    kind: KeywordKind
    word: str  # the list entry that matched, or "OptOutType=<value>"


def normalize(body: str) -> str:
    """Upper-cased, NFKC, trimmed, inner whitespace collapsed, trailing punctuation removed."""
    text = unicodedata.normalize("NFKC", body).strip()
    text = _TRAILING.sub("", text)
    return _SPACES.sub(" ", text).upper()


def classify(body: str, opt_out_type: str | None = None) -> Keyword | None:
    """The keyword ``body`` is (``OptOutType`` first), or None for an ordinary message."""
    if opt_out_type:
        kind = OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if kind is not None:
            return Keyword(kind, f"OptOutType={opt_out_type.strip().upper()}")
    if len(body) > MAX_KEYWORD_LENGTH * 4:
        return None
    word = normalize(body)
    kind = KEYWORDS.get(word)
    return Keyword(kind, word) if kind is not None else None


@dataclass(frozen=True, slots=True)
class Replies:
    """What the org's texts say (HELP is always answered; confirmations only when the org enables them)."""

    config: OrgSmsConfig

    def help(self) -> str:
        support = f" Support: {self.config.support_contact}." if self.config.support_contact else ""
        return (
            f"{self.config.brand}: texts from your account team.{support} "
            "Reply STOP to unsubscribe. Msg & data rates may apply."
        )

    def opted_out(self) -> str:
        return f"{self.config.brand}: You are unsubscribed and will get no more messages. Reply START to resubscribe."

    def opted_in(self) -> str:
        return (
            f"{self.config.brand}: You are subscribed again. Reply HELP for help, STOP to unsubscribe. "
            "Msg & data rates may apply."
        )
