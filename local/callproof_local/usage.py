"""What every ``callproof`` command shares: the usage error (exit code 2) and the running stack's
state file (its URLs)."""

from __future__ import annotations

import json
from typing import Any


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def stack_state() -> dict[str, Any]:
    """The running local stack's state (``url``, ``moto_url``, ...); ``UsageError`` when none runs."""
    from callproof_local.stack import state_file

    try:
        state = json.loads(state_file().read_text(encoding="utf-8"))
        if not isinstance(state, dict) or "url" not in state:
            raise ValueError("no url")
    except (OSError, ValueError):
        raise UsageError(
            f"no running local stack ({state_file()} missing); start `make run` or pass --url"
        ) from None
    return state


def examples(*commands: str) -> dict[str, Any]:
    """``add_parser`` keywords that end a command's ``--help`` with its examples, one per line, as
    typed (a test parses every one of them, so they stay correct)."""
    import argparse

    return {
        "epilog": "examples:\n" + "\n".join(f"  {command}" for command in commands),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
