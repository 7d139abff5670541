"""Benchmark running workflows: the kernel core, the whole driver, and `axoc run --dry-run`.

In: the shared workload generator and peer harness (../shared/bench/gen.py and peers.py, or the
directory named by $AXOC_SHARED_BENCH), the peers' Python ($PEERENV/bin/python, default
~/.cache/axoc-peerenv, created as ../shared/bench/README.md says when missing), and the `axoc`
executable next to `sys.executable`. Out, on stdout, for chain, fanout and layered DAGs of 1,000
and 10,000 agents, every figure measured in the same run:

1. the kernel core alone (`axoc.kernel.core.step` over a `RunIndex`, completions fed back FIFO),
   µs per activation, beside peers.py's `floor-signal` (goal: within 10×);
2. a whole run through `Driver` with the echo provider, µs per activation, beside peers.py's
   `langgraph` (goal: axoc at least 20× less per activation). Like for like: peers.py builds
   (compiles) LangGraph's graph once per workload and times its runs; here the workflow's
   `RunIndex` is built once and shared by the runs, and each timed run constructs its `Driver`
   (run state, ledger) and runs it to the end. Both build times are printed beside;
3. `axoc run --dry-run` of the 10,000-agent layered workflow as a cold process (goal: under 3 s).

Every run is checked: exactly N activations, and for the driver and the process the stop reason
`completed`. Exit status: 0 when every check passes and every goal that could be judged passes
(a peer that was skipped leaves its goal `n/a`), 1 otherwise.

    python -m tests.bench.bench_run [--quick] [--json OUT] [--timeout S] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from axoc.kernel.core import Event, RunState, step
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.index import RunIndex
from axoc.kernel.table import SignalTable
from axoc.pipeline import compile_file
from axoc.providers.echo import EchoProvider
from tests.bench.bench_check import BIN, load_gen, machine
from tests.bench.cold import environment

SHAPES = ("chain", "fanout", "layered")
SIZES = (1000, 10_000)
WORKFLOW = "bench"
CORE_LIMIT = 10.0  # axoc core µs/activation ≤ this many times floor-signal's
DRIVER_FACTOR = 20.0  # LangGraph µs/activation ≥ this many times axoc's (driver included)
DRY_RUN_LIMIT_S = 3.0
DRY_RUN_N = 10_000
PROFILE_CORE_REPS = 10  # one core run is a few ms: profile several
DRY_RUN_RUNS = 3
# Repeats, as peers.py's measure(): until MIN_TOTAL_S spent or MAX_REPS runs (at least MIN_REPS)
MIN_TOTAL_S, MAX_REPS, MIN_REPS = 1.0, 1000, 3
PEERENV = Path(os.environ.get("PEERENV", "~/.cache/axoc-peerenv")).expanduser()
PEER_PACKAGES = ("langgraph", "networkx", "pyyaml")
DONE_LINE = re.compile(r": (\w+) \(exit \d+\); (\d+) activations")


@dataclass
class Peer:
    """One peers.py cell: its µs per activation, or why there is none."""

    engine: str
    us_per_agent: float | None = None
    skipped: str | None = None
    row: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        """The figure, or `skipped: timeout` / `skipped: error` (the detail is in the JSON)."""
        if self.us_per_agent is not None:
            return f"{self.us_per_agent:.2f}"
        return "skipped: " + (self.skipped or "?").split(" ")[0].rstrip(":")


@dataclass
class Cell:
    """One (section, shape, n): axoc's runs, its correctness check, the peer beside it."""

    section: str  # "core" | "driver"
    shape: str
    n: int
    peer: Peer
    runs_s: list[float] = field(default_factory=list)
    check: str = "ok"  # "ok", or what went wrong
    build_s: float | None = None  # driver: the RunIndex, built once per workload

    @property
    def us_per_agent(self) -> float:
        return statistics.median(self.runs_s) / self.n * 1e6

    @property
    def ratio(self) -> float | None:
        """core: axoc ÷ floor-signal (lower is better); driver: LangGraph ÷ axoc (higher)."""
        if self.peer.us_per_agent is None or not self.runs_s:
            return None
        if self.section == "core":
            return self.us_per_agent / self.peer.us_per_agent
        return self.peer.us_per_agent / self.us_per_agent

    @property
    def goal(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return "n/a"
        held = ratio <= CORE_LIMIT if self.section == "core" else ratio >= DRIVER_FACTOR
        return "PASS" if held else "FAIL"

    @property
    def passed(self) -> bool:
        return self.check == "ok" and self.goal != "FAIL"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(us_per_agent=self.us_per_agent if self.runs_s else None)
        out.update(ratio=self.ratio, goal=self.goal, passed=self.passed)
        return out


@dataclass
class DryRun:
    agents: int
    runs_s: list[float] = field(default_factory=list)
    check: str = "ok"

    @property
    def goal(self) -> str:
        if self.agents != DRY_RUN_N or not self.runs_s:
            return "n/a"
        return "PASS" if statistics.median(self.runs_s) < DRY_RUN_LIMIT_S else "FAIL"

    @property
    def passed(self) -> bool:
        return self.check == "ok" and self.goal != "FAIL"

    def as_dict(self) -> dict[str, Any]:
        median = statistics.median(self.runs_s) if self.runs_s else None
        return {**asdict(self), "median_s": median, "goal": self.goal, "passed": self.passed}


# -- peers ----------------------------------------------------------------------------------------


def peer_python() -> Path:
    """$PEERENV/bin/python, created exactly as ../shared/bench/README.md says if missing."""
    python = PEERENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEERENV} (langgraph, networkx, pyyaml)...", file=sys.stderr, flush=True)
        venv = shutil.which("python3") or sys.executable
        subprocess.run([venv, "-m", "venv", str(PEERENV)], check=True)
        subprocess.run([str(PEERENV / "bin" / "pip"), "install", *PEER_PACKAGES], check=True)
    return python


def peer_cell(python: Path, peers: Path, engine: str, shape: str, n: int, timeout: float) -> Peer:
    """One `peers.py --one` cell in a fresh interpreter, under peers.py's timeout semantics."""
    cmd = [str(python), str(peers), "--one", "--engine", engine, "--shape", shape, "--n", str(n)]
    print(f"  {engine} {shape} {n}...", file=sys.stderr, flush=True)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return Peer(engine, skipped="timeout")
    except subprocess.CalledProcessError as exc:
        return Peer(engine, skipped="error: " + (exc.stderr.strip().splitlines() or ["?"])[-1])
    row = json.loads(out.stdout.strip().splitlines()[-1])
    return Peer(engine, float(row["us_per_agent"]), row=row)


class Peers:
    """Runs peer cells; once an (engine, shape) times out, its larger sizes are not tried."""

    def __init__(self, shared: Path, langgraph_python: Path, timeout: float) -> None:
        self.script = shared / "peers.py"
        self.python = {"floor-signal": Path(sys.executable), "langgraph": langgraph_python}
        self.timeout = timeout
        self.timed_out: set[tuple[str, str]] = set()

    def cell(self, engine: str, shape: str, n: int) -> Peer:
        if (engine, shape) in self.timed_out:
            return Peer(engine, skipped="timeout at a smaller n")
        peer = peer_cell(self.python[engine], self.script, engine, shape, n, self.timeout)
        if peer.skipped == "timeout":
            self.timed_out.add((engine, shape))
        return peer


# -- axoc -----------------------------------------------------------------------------------------


def workload_yaml(gen: ModuleType, shape: str, n: int) -> str:
    """The shared workload, with a per_call budget large enough for the fan-out joiner's
    hand-off (one line per dependency: ~200 KB at 10,000 agents, far over the default 8,192
    tokens, which the kernel rightly refuses). The budget check still runs on every call."""
    text: str = gen.to_yaml(gen.generate(shape, n))
    return text.replace(
        "    model: none\n", "    model: none\n    token_budget: {per_call: 10000000}\n"
    )


def compile_workload(gen: ModuleType, shape: str, n: int, directory: Path) -> SignalTable:
    """The workload's SignalTable, compiled from `gen.to_yaml` by `compile_file`."""
    path = directory / f"{shape}-{n}.axoc.yaml"
    path.write_text(workload_yaml(gen, shape, n), encoding="utf-8")
    unit = compile_file(str(path), os.environ)
    if not unit.ok or unit.lowered is None:
        raise SystemExit(f"bench_run: {path.name} does not compile: {unit.diagnostics[:3]}")
    return unit.lowered.table


def core_once(index: RunIndex) -> tuple[int, RunState]:
    """Publish UserInput, then each activation's TaskCompleted in FIFO order, one event per
    `step`, until nothing is activated any more. Returns (activations, final RunState)."""
    state = RunState()
    pending = deque(step(index, state, [Event("UserInput", None, "x")], 0.0))
    count, now = 0, 0.0
    while pending:
        agent = pending.popleft().agent
        count += 1
        now += 1.0
        pending.extend(step(index, state, [Event("TaskCompleted", agent, "x")], now))
    return count, state


def core_check(index: RunIndex, n: int) -> str:
    count, state = core_once(index)
    if count != n or len(state.spent) != n or state.capped:
        return f"{count} activations, {len(state.spent)} agents, capped={state.capped}"
    return "ok"


def time_core(cell: Cell, index: RunIndex) -> None:
    """Like peers.py: repeat until MIN_TOTAL_S or MAX_REPS (at least MIN_REPS)."""
    cell.check = core_check(index, cell.n)
    while more_runs(cell.runs_s):
        start = time.perf_counter()
        count, _ = core_once(index)
        cell.runs_s.append(time.perf_counter() - start)
        if count != cell.n and cell.check == "ok":
            cell.check = f"{count} activations"


def more_runs(runs_s: list[float]) -> bool:
    return len(runs_s) < MIN_REPS or (sum(runs_s) < MIN_TOTAL_S and len(runs_s) < MAX_REPS)


def driver_once(table: SignalTable, index: RunIndex | None = None) -> RunResult:
    """One whole run: Driver construction, asyncio.run, the echo provider (and the RunIndex, if
    none is given)."""
    # as `axoc run` drives it: no event log kept (records are built only for a listener)
    driver = Driver(
        table, {"echo": EchoProvider()}, workflow=WORKFLOW, input="x", logical=False,
        keep_log=False, index=index,
    )  # fmt: skip
    return asyncio.run(driver.run())


def driver_check(result: RunResult, n: int) -> str:
    if result.activations == n and result.stop_reason == "completed":
        return "ok"
    failed = [a for a, s in result.status.items() if s != "done"]
    return f"{result.stop_reason}, {result.activations} activations, not done: {failed[:3]}"


def time_driver(cell: Cell, table: SignalTable) -> None:
    """The index is built once, as peers.py builds LangGraph's graph once; then runs are timed
    as peers.py times LangGraph's (its measure(): until 1 s or 1,000 runs, no collection forced
    between them)."""
    start = time.perf_counter()
    index = RunIndex(table, WORKFLOW)
    cell.build_s = time.perf_counter() - start
    cell.check = driver_check(driver_once(table, index), cell.n)  # also the warm-up
    while more_runs(cell.runs_s):
        start = time.perf_counter()
        result = driver_once(table, index)
        cell.runs_s.append(time.perf_counter() - start)
        if cell.check == "ok":
            cell.check = driver_check(result, cell.n)


def measure_workload(
    gen: ModuleType, peers: Peers, shape: str, n: int, directory: Path
) -> tuple[Cell, Cell, SignalTable]:
    """Both sections for one workload; peers run between axoc's timings, never alongside."""
    print(f"{shape} {n}:", file=sys.stderr, flush=True)
    table = compile_workload(gen, shape, n, directory)
    core = Cell("core", shape, n, peers.cell("floor-signal", shape, n))
    time_core(core, RunIndex(table, WORKFLOW))
    driver = Cell("driver", shape, n, peers.cell("langgraph", shape, n))
    time_driver(driver, table)
    return core, driver, table


def dry_run(gen: ModuleType, n: int, directory: Path) -> DryRun:
    """`axoc run FILE --dry-run -i x` as cold processes: one untimed check, then timed runs."""
    path = directory / f"layered-{n}.axoc.yaml"
    path.write_text(workload_yaml(gen, "layered", n), encoding="utf-8")
    result = DryRun(n)
    print(f"axoc run --dry-run layered {n}...", file=sys.stderr, flush=True)
    for i in range(DRY_RUN_RUNS + 1):
        cmd = dry_run_cmd(path, directory / f"state-{i}")
        start = time.perf_counter()
        done = subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment()
        )
        elapsed = time.perf_counter() - start
        check = dry_run_check(done, n)
        if check != "ok":
            result.check = check
            break
        if i:  # the first run is the check and warms the disk cache
            result.runs_s.append(elapsed)
    return result


def dry_run_cmd(path: Path, state_dir: Path) -> list[str]:
    return [str(BIN / "axoc"), "run", str(path), "--dry-run", "-i", "x", "--state-dir",
            str(state_dir)]  # fmt: skip


def dry_run_check(done: subprocess.CompletedProcess[str], n: int) -> str:
    found = DONE_LINE.search(done.stderr)
    if done.returncode != 0 or found is None or found.groups() != ("completed", str(n)):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"exit {done.returncode}: {tail[0]}"
    return "ok"


# -- profiles -------------------------------------------------------------------------------------


def profile_text(run: Callable[[], object], top: int = 15) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(run)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def profile_cell(cell: Cell, table: SignalTable) -> str:
    if cell.section == "core":
        index = RunIndex(table, WORKFLOW)
        return profile_text(lambda: [core_once(index) for _ in range(PROFILE_CORE_REPS)])
    index = RunIndex(table, WORKFLOW)
    return profile_text(lambda: driver_once(table, index))


def profile_failures(cells: Sequence[Cell], table: SignalTable) -> dict[str, str]:
    return {f"{c.section} {c.shape} {c.n}": profile_cell(c, table) for c in cells if not c.passed}


def profile_dry_run(gen: ModuleType, n: int, directory: Path) -> str:
    path = directory / f"layered-{n}.axoc.yaml"
    out = directory / "dry-run.prof"
    cmd = dry_run_cmd(path, directory / "state-prof")
    profiled = [sys.executable, "-m", "cProfile", "-o", str(out), *cmd]
    subprocess.run(profiled, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("tottime").print_stats(15)
    return text.getvalue()


# -- output ---------------------------------------------------------------------------------------


def ratio_text(cell: Cell) -> str:
    return "-" if cell.ratio is None else f"{cell.ratio:.1f}x"


def print_header(info: dict[str, Any], python: Path) -> None:
    print(f"machine: {info['cores']} cores, {info['cpu']}, {info['platform']}")
    print(
        f"python: {info['python']}, axoc {info['axoc']}; peers: floor-signal on {sys.executable},"
    )
    print(f"  langgraph on {python}")
    print()


def print_cells(title: str, peer: str, goal: str, cells: list[Cell]) -> None:
    print(title)
    head = f"{'shape':<9}{'n':>7}{'runs':>6}{'axoc µs':>10}{peer + ' µs':>18}{'ratio':>8}"
    head += f"  {goal:<7}check"
    print(head)
    print("-" * (len(head) + 12))
    for c in cells:
        line = f"{c.shape:<9}{c.n:>7}{len(c.runs_s):>6}{c.us_per_agent:>10.2f}"
        print(line + f"{c.peer.label():>18}{ratio_text(c):>8}  {c.goal:<7}{c.check}")
    for c in cells:
        if c.peer.skipped:
            print(f"  {c.shape} {c.n}: {c.peer.engine} skipped: {c.peer.skipped}")
    print()


def print_dry_run(result: DryRun) -> None:
    print(
        f"3. axoc run --dry-run, layered {result.agents}, cold process, s (after 1 untimed check)"
    )
    head = f"{'agents':>7}{'runs':>6}{'median s':>10}{'min s':>8}  {'< 3 s':<7}check"
    print(head)
    print("-" * (len(head) + 10))
    median = f"{statistics.median(result.runs_s):>10.3f}" if result.runs_s else f"{'-':>10}"
    low = f"{min(result.runs_s):>8.3f}" if result.runs_s else f"{'-':>8}"
    print(f"{result.agents:>7}{len(result.runs_s):>6}{median}{low}  {result.goal:<7}{result.check}")
    print()


def print_report(cores: list[Cell], drivers: list[Cell], dry: DryRun) -> None:
    print_cells(
        "1. kernel core: step() only, completions fed back FIFO; µs per activation "
        "(median); ratio = axoc / floor-signal",
        "floor-signal", "≤ 10x", cores,
    )  # fmt: skip
    print_cells(
        "2. whole run: Driver + asyncio.run + echo provider; µs per activation (median); "
        "ratio = langgraph / axoc",
        "langgraph", "≥ 20x", drivers,
    )  # fmt: skip
    print("   built once per workload, not in the runs above (ms): axoc RunIndex / LangGraph graph")
    for c in drivers:
        theirs = c.peer.row.get("build_s")
        lg = f"{theirs * 1e3:.1f}" if isinstance(theirs, float) else "-"
        ours = f"{c.build_s * 1e3:.1f}" if c.build_s is not None else "-"
        print(f"   {c.shape:<9}{c.n:>7}  {ours:>8} / {lg}")
    print()
    print_dry_run(dry)


def print_profiles(profiles: dict[str, str]) -> None:
    for label, text in profiles.items():
        print(f"cProfile of {label} (top 15 by tottime)")
        print(text)


# -- composition ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only n=1000 (a fast smoke check)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write all figures as JSON")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per peer cell")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of axoc for each failing row"
    )
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> int:
    gen = load_gen()
    python = peer_python()
    peers = Peers(Path(str(gen.__file__)).parent, python, args.timeout)
    sizes = SIZES[:1] if args.quick else SIZES
    info = machine()
    cores: list[Cell] = []
    drivers: list[Cell] = []
    profiles: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="axoc-bench-run-") as tmp:
        for shape in SHAPES:
            for n in sizes:
                core, driver, table = measure_workload(gen, peers, shape, n, Path(tmp))
                cores.append(core)
                drivers.append(driver)
                if args.profile:
                    profiles |= profile_failures((core, driver), table)
                del table
        dry = dry_run(gen, sizes[-1], Path(tmp))
        if args.profile and not dry.passed:
            profiles[f"axoc run --dry-run layered {dry.agents}"] = profile_dry_run(
                gen, dry.agents, Path(tmp)
            )
    print_header(info, python)
    print_report(cores, drivers, dry)
    print_profiles(profiles)
    passed = all(c.passed for c in cores + drivers) and dry.passed
    print(f"overall: {'PASS' if passed else 'FAIL'}")
    if args.json:
        payload = {
            "machine": info,
            "quick": args.quick,
            "peer_timeout_s": args.timeout,
            "core": [c.as_dict() for c in cores],
            "driver": [c.as_dict() for c in drivers],
            "dry_run": dry.as_dict(),
            "profiles": profiles,
            "passed": passed,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0 if passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    return bench(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
