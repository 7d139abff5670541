"""The speed goals of issue 10 §5, each beside baselines measured in the same run.

In: the repository (examples/hello-world.axoc.yaml, schema/axoc.schema.json), the shared workload
generator (`gen.py` in ../shared/bench, or $AXOC_SHARED_BENCH), the `axoc` and
`check-jsonschema` executables next to `sys.executable`; with `--baseline REV`, the tree of that
revision of this repository. Out, on stdout, one row per figure — cold processes, medians:

1. `axoc check` on hello-world, against check-jsonschema on the same file (goal: ≤ 0.75×);
2. `axoc check` on the 10,000-agent layered config (goal: < 1 s);
3. `axoc plan --format json` on it (goal: < 1.5 s);
4. `axoc run --resume` of a dry run of it killed half-way, from the process's start to the first
   activation its journal did not record (goal: < 1 s);
5. `axoc run --dry-run` of it (reported; bench_run.py judges it against 3 s);

each with the start-up floor it cannot go below — the interpreter importing what the command
imports before reading anything — and, with `--baseline`, the same command on REV's code, taken
in turns with this checkout's. `--json OUT` writes every single run. Exit status: 0 when every
goal passes, 1 when one fails, 2 when the benchmark cannot run.

    python -m tests.bench.bench_goals [--runs N] [--baseline REV] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.bench_check import load_gen, machine
from tests.bench.cold import (
    BIN,
    ROOT,
    Code,
    ColdError,
    Command,
    Interrupted,
    Timing,
    interleaved,
    python,
)

HELLO = ROOT / "examples" / "hello-world.axoc.yaml"
SCHEMA = ROOT / "schema" / "axoc.schema.json"
N = 10_000
RUNS = 5
HELLO_RATIO = 0.75  # axoc check ≤ this × check-jsonschema, on hello-world
FLOORS = {
    "import axoc.pipeline": "import axoc.pipeline",  # what check and plan import first
    "import axoc.running": "import axoc.cli, axoc.running",  # what run imports first
}


@dataclass
class Figure:
    label: str
    goal: str  # as printed
    timing: Timing
    passed: bool | None  # None: reported, no goal
    against: list[tuple[str, Timing]]  # (what, its timing) measured in the same run


def measure(gen: Any, runs: int, baseline: Code | None, tmp: Path) -> list[Figure]:
    config = tmp / f"layered-{N}.axoc.yaml"
    config.write_text(gen.to_yaml(gen.generate("layered", N)), encoding="utf-8")
    codes = [Code("this checkout"), *([baseline] if baseline else [])]
    print("timing start-up, check and plan...", file=sys.stderr, flush=True)
    commands: dict[str, Command] = {
        "cjs hello": Command(
            [str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA), str(HELLO)]
        ),
        **{floor: python(code) for floor, code in FLOORS.items()},
    }
    for code in codes:
        commands |= {
            f"check hello {code.label}": code.command("check", str(HELLO)),
            f"check {code.label}": code.command("check", str(config)),
            f"plan {code.label}": code.command("plan", str(config), "--format", "json"),
            f"dry-run {code.label}": code.command(
                "run", str(config), "--dry-run", "-i", "x", "--state-dir", str(tmp / "dry")
            ),
        }
    timed = interleaved(commands, runs)
    print("timing resumes...", file=sys.stderr, flush=True)
    resumed = {code.label: Timing() for code in codes}
    interrupted = {
        code.label: Interrupted.make(code, config, tmp / f"run-{i}") for i, code in enumerate(codes)
    }
    for _ in range(runs + 1):  # the first round is untimed: it writes bytecode
        for i, code in enumerate(codes):
            seconds = interrupted[code.label].resume_once(tmp / f"resume-{i}")
            resumed[code.label].runs_s.append(seconds)
    for timing in resumed.values():
        del timing.runs_s[0]
    return figures(timed, resumed, codes)


def figures(
    timed: dict[str, Timing], resumed: dict[str, Timing], codes: list[Code]
) -> list[Figure]:
    this, others = codes[0].label, [code.label for code in codes[1:]]
    pipeline = ("import axoc.pipeline", timed["import axoc.pipeline"])
    running = ("import axoc.running", timed["import axoc.running"])

    def row(label: str, goal: str, name: str, floor: tuple[str, Timing]) -> Figure:
        """A figure of `timed` (`name` + code label) with its floor and baselines."""
        timing = timed[f"{name} {this}"]
        against = [floor] + [(other, timed[f"{name} {other}"]) for other in others]
        return Figure(label, goal, timing, None, against)

    hello = row("check hello-world", f"≤ {HELLO_RATIO}× check-jsonschema", "check hello", pipeline)
    hello.against.insert(0, ("check-jsonschema", timed["cjs hello"]))
    hello.passed = hello.timing.median_s <= HELLO_RATIO * timed["cjs hello"].median_s
    check = row(f"check layered-{N}", "< 1 s", "check", pipeline)
    check.passed = check.timing.median_s < 1.0
    plan = row(f"plan --format json {N}", "< 1.5 s", "plan", pipeline)
    plan.passed = plan.timing.median_s < 1.5
    resume = Figure(f"resume {N}, to running", "< 1 s", resumed[this], None,
                    [running] + [(other, resumed[other]) for other in others])  # fmt: skip
    resume.passed = resume.timing.median_s < 1.0
    dry = row(f"run --dry-run {N}", "(reported)", "dry-run", running)
    return [hello, check, plan, resume, dry]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def report(rows: list[Figure], info: dict[str, Any], runs: int) -> None:
    print(f"machine: {info['cores']} cores, {info['cpu']}; python {info['python']}")
    print(f"cold processes, medians of {runs} runs taken in turns, ms; 'vs' = this ÷ that\n")
    head = f"{'figure':<28}{'median':>8}{'min':>8}  {'goal':<26}{'verdict':<9}same run"
    print(head)
    print("-" * (len(head) + 40))
    for row in rows:
        verdict = "report" if row.passed is None else ("PASS" if row.passed else "FAIL")
        t = row.timing
        line = f"{row.label:<28}{ms(t.median_s):>8}{ms(t.min_s):>8}  {row.goal:<26}{verdict:<9}"
        same = [
            f"{what} {ms(o.median_s)} ({t.median_s / o.median_s:.2f}×)" for what, o in row.against
        ]
        print(line + "; ".join(same))
    print("\nThe floors are the interpreter importing what the command imports before it reads a "
          "file;\nwhat a row spends above its floor is what a change to axoc can save.")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs of each (default {RUNS})")
    parser.add_argument("--baseline", metavar="REV", help="also time the code of this revision")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every run as JSON")
    args = parser.parse_args(argv)
    try:
        gen = load_gen()
        info = machine()
        with tempfile.TemporaryDirectory(prefix="axoc-bench-goals-") as tmp:
            baseline = Code.at(args.baseline, Path(tmp)) if args.baseline else None
            rows = measure(gen, args.runs, baseline, Path(tmp))
    except ColdError as exc:
        print(f"bench_goals: error: {exc}", file=sys.stderr)
        return 2
    report(rows, info, args.runs)
    if args.json:
        payload = {
            "machine": info,
            "figures": [
                {"figure": r.label, "goal": r.goal, "passed": r.passed, **r.timing.as_dict(),
                 "same_run": {what: t.as_dict() for what, t in r.against}}
                for r in rows
            ],
        }  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
