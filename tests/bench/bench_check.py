"""Benchmark `axoc check` against `check-jsonschema`, every figure measured in the same run.

In: the repository (examples/hello-world.axoc.yaml, schema/axoc.schema.json), the shared workload
generator (`gen.py` in ../shared/bench, or the directory named by $AXOC_SHARED_BENCH), and the
`axoc` and `check-jsonschema` executables next to `sys.executable`.

Out: on stdout, a header (machine, versions); a table of cold-process wall times per file with the
ratio check-jsonschema/axoc and PASS/FAIL against the goals; the cold start-up floors; and the
in-process per-stage split of `axoc.pipeline.compile_file` on the 10,000-agent file.
`--json OUT` writes the same figures (every single run included).

Guaranteed: no file is timed before both tools have accepted it (exit 0); a rejection aborts the
run. Exit status: 0 when every goal passes, 1 when a goal fails, 2 when the benchmark cannot run.

    python tests/bench/bench_check.py [--runs N] [--json OUT]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import yaml

if not __package__:  # run as a script: tests.bench is found from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.cold import environment

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA = ROOT / "schema" / "axoc.schema.json"
HELLO = ROOT / "examples" / "hello-world.axoc.yaml"
SIZES = (1000, 10_000)
BIG = 10_000
BIG_LIMIT_S = 1.0
HELLO_RATIO = 0.75  # on hello-world, axoc's median at most this × check-jsonschema's
SMALL_RUNS, BIG_RUNS = 7, 5
STAGE_LABELS = {
    "load": "read+parse",
    "interpolate_env": "interpolate",
    "validate_schema": "validate",
    "check_semantics": "semantic checks",
    "lower_table": "lower to table",
    "analyse_lattice": "lattice analysis",
}
FLOORS = {
    "python -c pass": "pass",
    "python -c 'import axoc.pipeline'": "import axoc.pipeline",
}
NOTE = (
    "Note: axoc check runs many more checks than a schema validator (references, cycles, roles, "
    "budgets, duplicate ids, each located by line and column); check-jsonschema only validates "
    "against the JSON schema."
)

PauseGc = Callable[[], AbstractContextManager[Any]]


class BenchError(Exception):
    """The benchmark cannot produce meaningful figures."""


@dataclass
class Timing:
    runs_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def min_s(self) -> float:
        return min(self.runs_s)

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": self.median_s, "min_s": self.min_s, "runs_s": self.runs_s}


@dataclass
class Row:
    """One file, timed as cold processes of both tools."""

    file: str
    agents: int
    size_bytes: int
    axoc: Timing
    cjs: Timing
    goals: dict[str, bool] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """How many times faster axoc is: check-jsonschema median / axoc median."""
        return self.cjs.median_s / self.axoc.median_s

    @property
    def passed(self) -> bool:
        return all(self.goals.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "agents": self.agents,
            "size_bytes": self.size_bytes,
            "axoc": self.axoc.as_dict(),
            "check_jsonschema": self.cjs.as_dict(),
            "ratio_cjs_over_axoc": self.ratio,
            "goals": self.goals,
            "passed": self.passed,
        }


@dataclass
class StageSplit:
    """In-process timings of one file's compilation; every Timing holds one entry per run."""

    file: str
    gc_paused: bool
    stages: dict[str, Timing]  # stage function name -> timing, in STAGES order
    compile_file: Timing = field(default_factory=Timing)
    gc_in_compile_file: Timing = field(default_factory=Timing)
    free: Timing = field(default_factory=Timing)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "gc_paused_by_pipeline": self.gc_paused,
            "stages": [
                {"stage": STAGE_LABELS.get(name, name), "function": name, **t.as_dict()}
                for name, t in self.stages.items()
            ],
            "compile_file": self.compile_file.as_dict(),
            "gc_inside_compile_file": self.gc_in_compile_file.as_dict(),
            "free_result": self.free.as_dict(),
        }


class GcClock:
    """Wall time the cyclic garbage collector runs while this context is active."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total_s += time.perf_counter() - self._start

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        gc.callbacks.remove(self)


# -- setup ----------------------------------------------------------------------------------------


def executables() -> tuple[Path, Path]:
    axoc, cjs = BIN / "axoc", BIN / "check-jsonschema"
    if not axoc.exists():
        raise BenchError(f"{axoc} not found: install axoc into this Python with pip install -e .")
    if not cjs.exists():
        raise BenchError(f"{cjs} not found: install the extra with pip install -e '.[bench]'")
    return axoc, cjs


def load_gen() -> ModuleType:
    """Import ../shared/bench/gen.py (or $AXOC_SHARED_BENCH/gen.py) by path."""
    directory = Path(os.environ.get("AXOC_SHARED_BENCH", ROOT.parent / "shared" / "bench"))
    path = directory / "gen.py"
    spec = importlib.util.spec_from_file_location("axoc_shared_bench_gen", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise BenchError(f"workload generator {path} not found (set AXOC_SHARED_BENCH)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_workloads(gen: ModuleType, directory: Path) -> list[Path]:
    paths = []
    for n in SIZES:
        path = directory / f"layered-{n}.axoc.yaml"
        path.write_text(gen.to_yaml(gen.generate("layered", n)), encoding="utf-8")
        paths.append(path)
    return paths


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "axoc": importlib.metadata.version("axoc"),
        "check-jsonschema": importlib.metadata.version("check-jsonschema"),
    }


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown"


# -- cold processes -------------------------------------------------------------------------------


def commands(axoc: Path, cjs: Path, target: Path) -> tuple[list[str], list[str]]:
    return (
        [str(axoc), "check", str(target)],
        [str(cjs), "--schemafile", str(SCHEMA), str(target)],
    )


def verify_accepts(cmd: Sequence[str]) -> None:
    """Run once untimed (this also warms the disk cache); a non-zero exit aborts the benchmark."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=environment())
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-2000:]
        raise BenchError(
            f"{' '.join(cmd)} exited {done.returncode}; the timing would be meaningless\n{output}"
        )


def run_once(cmd: Sequence[str]) -> float:
    start = time.perf_counter()
    code = subprocess.call(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment()
    )
    elapsed = time.perf_counter() - start
    if code != 0:
        raise BenchError(f"{' '.join(cmd)} exited {code} during timing")
    return elapsed


def time_pair(first: Sequence[str], second: Sequence[str], runs: int) -> tuple[Timing, Timing]:
    """Alternate the two commands so that drift on a shared machine hits both alike."""
    a, b = Timing(), Timing()
    for _ in range(runs):
        a.runs_s.append(run_once(first))
        b.runs_s.append(run_once(second))
    return a, b


def count_agents(path: Path) -> int:
    return len(yaml.safe_load(path.read_text(encoding="utf-8")).get("agents") or [])


def measure_file(axoc: Path, cjs: Path, target: Path, runs: int) -> Row:
    print(f"timing {target.name} ({runs} runs each)...", file=sys.stderr, flush=True)
    axoc_cmd, cjs_cmd = commands(axoc, cjs, target)
    verify_accepts(axoc_cmd)
    verify_accepts(cjs_cmd)
    axoc_t, cjs_t = time_pair(axoc_cmd, cjs_cmd, runs)
    row = Row(target.name, count_agents(target), target.stat().st_size, axoc_t, cjs_t)
    row.goals["axoc faster"] = axoc_t.median_s < cjs_t.median_s
    if target == HELLO:
        row.goals[f"axoc ≤ {HELLO_RATIO}× cjs"] = axoc_t.median_s <= HELLO_RATIO * cjs_t.median_s
    if row.agents >= BIG:
        row.goals[f"axoc < {BIG_LIMIT_S} s"] = axoc_t.median_s < BIG_LIMIT_S
    return row


def start_up_floors(runs: int) -> dict[str, Timing]:
    """Cold costs paid before any file is read: the interpreter, then axoc's compiler imports."""
    return {
        label: Timing([run_once([sys.executable, "-c", code]) for _ in range(runs)])
        for label, code in FLOORS.items()
    }


# -- in-process stage split -----------------------------------------------------------------------


def stage_split(target: Path, runs: int) -> StageSplit:
    """Time each stage of `compile_file` one at a time, under the GC setting `compile_file` uses,
    then `compile_file` as a whole (whose end includes the GC pass that re-enabling triggers)."""
    print(f"stage split on {target.name} ({runs} runs)...", file=sys.stderr, flush=True)
    from axoc import pipeline

    pause: PauseGc = getattr(pipeline, "gc_paused", nullcontext)
    split = StageSplit(target.name, pause is not nullcontext, {})
    split.stages = {stage.__name__: Timing() for stage in pipeline.STAGES}
    for _ in range(runs):
        run_stages(pipeline, target, pause, split)
        time_compile_file(pipeline, target, split)
    return split


def run_stages(pipeline: ModuleType, target: Path, pause: PauseGc, split: StageSplit) -> None:
    unit = pipeline.Compilation(str(target), os.environ)
    with pause():
        for stage in pipeline.STAGES:
            start = time.perf_counter()
            unit.diagnostics += stage(unit)
            split.stages[stage.__name__].runs_s.append(time.perf_counter() - start)
    if not unit.ok:
        raise BenchError(f"compiling {target} in-process found errors: {unit.diagnostics[:3]}")
    start = time.perf_counter()
    del unit  # the last reference: a cold `axoc check` pays this when its result goes away
    split.free.runs_s.append(time.perf_counter() - start)


def time_compile_file(pipeline: ModuleType, target: Path, split: StageSplit) -> None:
    with GcClock() as clock:
        start = time.perf_counter()
        unit = pipeline.compile_file(str(target), os.environ)
        elapsed = time.perf_counter() - start
    split.compile_file.runs_s.append(elapsed)
    split.gc_in_compile_file.runs_s.append(clock.total_s)
    del unit  # freed after the clock stopped; `free` above accounts for it


# -- output ---------------------------------------------------------------------------------------


def ms(seconds: float, width: int = 9) -> str:
    return f"{seconds * 1000:{width}.1f}"


def print_header(info: dict[str, Any]) -> None:
    print(f"machine: {info['cores']} cores, {info['cpu']}, {info['platform']}")
    print(f"python: {info['python']}, axoc {info['axoc']}, ", end="")
    print(f"check-jsonschema {info['check-jsonschema']}")
    print(NOTE)
    print()


def print_rows(rows: list[Row]) -> None:
    print("cold processes (a fresh process per run, the two tools alternated), wall time in ms")
    head = f"{'file':<24}{'agents':>7}{'KiB':>7}{'runs':>5}"
    head += f"{'axoc med':>10}{'axoc min':>10}{'cjs med':>10}{'cjs min':>10}{'cjs/axoc':>10}  goals"
    print(head)
    print("-" * len(head))
    for r in rows:
        line = f"{r.file:<24}{r.agents:>7}{r.size_bytes / 1024:>7.0f}{len(r.axoc.runs_s):>5}"
        line += " " + " ".join(
            ms(t) for t in (r.axoc.median_s, r.axoc.min_s, r.cjs.median_s, r.cjs.min_s)
        )
        print(line + f"{r.ratio:>9.2f}x  {'PASS' if r.passed else 'FAIL'}")
    print()


def print_goals(rows: list[Row]) -> None:
    print("goals (on medians):")
    for goal in dict.fromkeys(g for r in rows for g in r.goals):
        held = [r for r in rows if goal in r.goals]
        failed = [r.file for r in held if not r.goals[goal]]
        verdict = "PASS" if not failed else "FAIL on " + ", ".join(failed)
        print(f"  {goal:<16} on {len(held)} file(s): {verdict}")
    print()


def print_floors(floors: dict[str, Timing]) -> None:
    print("cold start-up floors (no file read), median ms:")
    for label, timing in floors.items():
        print(f"  {label:<36}{ms(timing.median_s)}")
    print()


def print_stages(split: StageSplit) -> None:
    runs = len(split.compile_file.runs_s)
    total = sum(t.median_s for t in split.stages.values())
    print(f"in-process split of compile_file on {split.file} ({runs} runs), ms")
    print(f"{'stage':<28}{'first':>9}{'median':>10}{'share':>8}")
    print("-" * 55)
    for name, t in split.stages.items():
        label = STAGE_LABELS.get(name, name)
        print(f"{label:<28}{ms(t.runs_s[0])} {ms(t.median_s)}{t.median_s / total:>8.0%}")
    print("-" * 55)
    first = sum(t.runs_s[0] for t in split.stages.values())
    print(f"{'sum of stages':<28}{ms(first)} {ms(total)}")
    for label, t in (
        ("compile_file, whole", split.compile_file),
        ("  of which GC (on re-enable)", split.gc_in_compile_file),
        ("free result (after)", split.free),
    ):
        print(f"{label:<28}{ms(t.runs_s[0])} {ms(t.median_s)}")
    print()


def print_accounting(row: Row, floors: dict[str, Timing], split: StageSplit) -> None:
    """Where a cold `axoc check` on the big file goes, from the figures above."""
    imports = floors[next(reversed(FLOORS))].median_s
    compile_s = split.compile_file.median_s
    rest = row.axoc.median_s - imports - compile_s
    print(  # the result is not freed: the command ends without (axoc.process.keep)
        f"cold axoc on {row.file}: {ms(row.axoc.median_s, 0)} ms ≈ start+imports "
        f"{ms(imports, 0)} + compile_file {ms(compile_s, 0)} "
        f"+ rest {ms(rest, 0)} (reporting, exit)"
    )


def to_json(
    info: dict[str, Any], rows: list[Row], floors: dict[str, Timing], split: StageSplit
) -> str:
    payload = {
        "machine": info,
        "note": NOTE,
        "rows": [r.as_dict() for r in rows],
        "start_up_floors": {label: t.as_dict() for label, t in floors.items()},
        "stage_split": split.as_dict(),
        "passed": all(r.passed for r in rows),
    }
    return json.dumps(payload, indent=2) + "\n"


# -- composition ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--runs",
        type=int,
        help=f"cold runs per tool and file (default {SMALL_RUNS}, {BIG_RUNS} for {BIG} agents)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write all figures as JSON")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def runs_for(path: Path, override: int | None) -> int:
    return override or (BIG_RUNS if path.name == f"layered-{BIG}.axoc.yaml" else SMALL_RUNS)


def bench(args: argparse.Namespace) -> int:
    axoc, cjs = executables()
    gen = load_gen()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="axoc-bench-") as tmp:
        targets = [HELLO, *write_workloads(gen, Path(tmp))]
        rows = [measure_file(axoc, cjs, t, runs_for(t, args.runs)) for t in targets]
        floors = start_up_floors(args.runs or SMALL_RUNS)
        split = stage_split(targets[-1], runs_for(targets[-1], args.runs))
    print_header(info)
    print_rows(rows)
    print_goals(rows)
    print_floors(floors)
    print_stages(split)
    print_accounting(rows[-1], floors, split)
    if args.json:
        args.json.write_text(to_json(info, rows, floors, split), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0 if all(r.passed for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return bench(args)
    except BenchError as exc:
        print(f"bench_check: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
