"""``docs/retention.md``, rendered from ``model.RULES`` (``make retention-docs`` writes it; a unit
test fails when the committed file differs), so the policy text and the code cannot drift."""

from __future__ import annotations

from callproof.retention.model import RULES, RetentionRule

HEADER = """\
# Retention

<!-- Generated from layers/core/callproof/retention/model.py by `make retention-docs`: do not edit. -->

How long CallProof keeps each kind of personal data. One daily schedule (`CallRetentionFunction`,
event `CallLogRetention`; locally `callproof run-schedule CallLogRetention`) deletes, page by page,
whatever has passed its period in every store it purges, and records the counts per store as metrics
and in the org's audit chain. An org admin may shorten any period in `PUT /v1/org/settings`
(`"retention": {"<store>": <period>}`), never lengthen it past the maximum (422).

| store | what it keeps | for how long (maximum, the default) | counted from | an org may set | purged daily | notes |
| --- | --- | --- | --- | --- | --- | --- |
"""


def _row(rule: RetentionRule) -> str:
    longest = rule.period_text(rule.maximum)
    period = f"only if the org opts in; at most {longest}" if rule.opt_in else longest
    allowed = f"{rule.minimum} to {rule.maximum} {rule.unit.value}"
    purged = "yes" if rule.purged else "not yet (rule and setting only)"
    return f"| `{rule.store}` | {rule.keeps} | {period} | {rule.counted_from} | {allowed} | {purged} | {rule.note} |"


def render() -> str:
    return HEADER + "\n".join(_row(rule) for rule in RULES) + "\n"
