"""`make mutate`: mutation testing (mutmut) over the guard modules, with the kill rate per module.

The guard modules are the code whose quiet breakage would be a security or privacy failure: webhook
and push verification, tenancy and authorization, the policy and age gates, the SMS keyword and send
gates, one-time codes and rate limits, the DSAR subject rules, erasure, residue proof and suppression,
and the signed-link tokens. mutmut mutates each function of those files and runs, per mutant, the
selected tests that execute that function (it learns which from one traced run).

mutmut expects the code under `src/`; the layer's package lives in `layers/core/`. So the run happens in
`.mutate/`, where `src` is a link to `layers/core` and `tests`, `infra`, `functions` are links to the
project's own, with a generated `[tool.mutmut]` section. Usage:

    python tools/mutate.py                    # run (resumes where an earlier run stopped) and report
    python tools/mutate.py --report           # report the last run only
    python tools/mutate.py --fresh            # forget earlier results first
    python tools/mutate.py --only otp.py --work .mutate-otp --show   # one module, its survivors' diffs

Surviving mutants that cannot be killed (equivalent mutants) are listed with the reason in
docs/testing.md; the report names every survivor so that list can be checked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Guard module (under layers/core/callproof/) -> the tests that guard it.
GUARDS: dict[str, list[str]] = {
    "integrations/twilio_webhook.py": [
        "tests/unit/integrations/test_twilio_webhook.py",
        "tests/unit/sms/test_sms_service.py",
    ],
    "integrations/google_push.py": ["tests/unit/integrations/test_google_push.py"],
    "tenancy.py": ["tests/unit/test_tenancy.py"],
    "signing.py": ["tests/unit/test_signing.py", "tests/unit/dsar/test_dsar_links.py"],
    "sms/links.py": ["tests/unit/sms/test_sms_links.py", "tests/unit/sms/test_sms_service.py"],
    "dsar/links.py": ["tests/unit/dsar/test_dsar_links.py"],
    "accounts/consent.py": ["tests/unit/accounts/test_consent.py"],
    "accounts/age.py": ["tests/unit/accounts/test_age.py"],
    "sms/keywords.py": ["tests/unit/sms/test_sms_keywords.py"],
    "sms/verification.py": ["tests/unit/sms/test_sms_service.py", "tests/unit/dsar/test_dsar_service.py"],
    "otp.py": ["tests/unit/test_otp.py"],
    "ratelimit.py": ["tests/unit/test_otp.py"],
    "dsar/subjects.py": ["tests/unit/dsar/test_dsar_subjects.py", "tests/unit/dsar/test_dsar_service.py"],
    "dsar/erasure_steps.py": ["tests/unit/dsar/test_dsar_service.py"],
    "store/suppression_dynamo.py": [
        "tests/unit/store/test_suppression_keys.py",
        "tests/integration/dsar/test_dsar_suppression.py",
    ],
}
KILLED = {1, 3}
SURVIVED = {0}


def configure(work: Path, guards: dict[str, list[str]]) -> None:
    work.mkdir(exist_ok=True)
    for name, target in {
        "src": "layers/core",
        "tests": "tests",
        "infra": "infra",
        "functions": "functions",
    }.items():
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / target)
    tests = sorted({test for selected in guards.values() for test in selected})
    lines = [
        "[tool.mutmut]",
        'source_paths = ["src/callproof/"]',
        "only_mutate = " + json.dumps([f"src/callproof/{module}" for module in guards]),
        "pytest_add_cli_args_test_selection = " + json.dumps(tests),
        'pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q", "-x"]',
        'also_copy = ["infra", "functions"]',
        "",
    ]
    (work / "pyproject.toml").write_text("\n".join(lines))


def mutmut(work: Path, *args: str) -> int:
    return subprocess.call([str(Path(sys.executable).parent / "mutmut"), *args], cwd=work)  # noqa: S603 - our own venv's tool


def report(work: Path, guards: dict[str, list[str]], show: bool) -> int:
    """Kill rate per guard module, and every survivor by name (``mutmut show NAME`` in .mutate/)."""
    worst = 100.0
    print(f"{'module':36} {'mutants':>8} {'killed':>7} {'survived':>9} {'other':>6} {'kill rate':>10}")
    survivors: list[str] = []
    for module in guards:
        meta = work / "mutants" / "src" / "callproof" / (module + ".meta")
        if not meta.exists():
            print(f"{module:36} {'not run':>8}")
            worst = 0.0
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(
            "killed" if c in KILLED else "survived" if c in SURVIVED else "other" for c in codes.values()
        )
        decided = counts["killed"] + counts["survived"]
        rate = 100.0 * counts["killed"] / decided if decided else 100.0
        worst = min(worst, rate)
        survivors += [name for name, code in codes.items() if code in SURVIVED]
        print(
            f"{module:36} {len(codes):>8} {counts['killed']:>7} {counts['survived']:>9} {counts['other']:>6} "
            f"{rate:>9.1f}%"
        )
    print(f"\nlowest kill rate: {worst:.1f}%")
    if survivors:
        print("\nsurviving mutants (see them with `cd .mutate && mutmut show NAME`):")
        for name in sorted(survivors):
            print(f"  {name}")
            if show:
                sys.stdout.flush()
                mutmut(work, "show", name)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report the last run only")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--children", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument("--only", action="append", help="a guard module (repeatable), e.g. otp.py")
    parser.add_argument("--work", default=".mutate", help="the working folder (default .mutate)")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    args = parser.parse_args()
    guards = {module: tests for module, tests in GUARDS.items() if not args.only or module in args.only}
    if not guards:
        parser.error(f"no such guard module; choose among: {', '.join(GUARDS)}")
    work = ROOT / args.work
    if args.fresh:
        shutil.rmtree(work / "mutants", ignore_errors=True)
    configure(work, guards)
    if not args.report:
        mutmut(work, "run", "--max-children", str(args.children))
    sys.exit(report(work, guards, args.show))


if __name__ == "__main__":
    main()
