"""The cost of durability, every figure measured in the same run.

1. The 1,000-agent layered workflow (echo provider) run in memory, and with its journal —
   what `axoc run` does for it: µs per activation and the ratio (goal: durability costs under
   2×). Echo's turns are not checkpointed (they are never in flight at a crash).
2. The cost of agent checkpoints, for providers that do I/O: the same workflow with a provider
   answering at once through the asynchronous path, with the journal, and with the journal and
   a checkpoint per turn (group-committed, fsynced): µs per activation. No goal: a real call
   takes milliseconds to seconds.
3. A 10,000-agent layered dry run killed half-way (its journal cut after half its records),
   resumed with `axoc run --resume` as a cold process: the time from its start to the first
   activation the journal does not record (its `started` record) — goal: under 1 s — beside
   the start-up floor of `axoc run` measured in the same run.

    python -m tests.bench.bench_durability [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from axoc.kernel.checkpoint import Checkpointer, CheckpointStore
from axoc.kernel.driver import Driver
from axoc.kernel.durable import Recorder
from axoc.kernel.journal import Writer
from axoc.kernel.ports import Request, Response
from axoc.kernel.table import SignalTable
from axoc.pipeline import compile_file
from axoc.providers.echo import EchoProvider
from tests.bench.bench_check import load_gen, machine
from tests.bench.bench_run import workload_yaml
from tests.bench.cold import Code, Interrupted, Timing, python

WORKFLOW = "bench"


def compile_workload(directory: Path, n: int) -> tuple[Path, SignalTable]:
    path = directory / f"layered-{n}.axoc.yaml"
    path.write_text(workload_yaml(load_gen(), "layered", n), encoding="utf-8")
    unit = compile_file(str(path), os.environ)
    assert unit.lowered is not None
    return path, unit.lowered.table


class Remote(EchoProvider):
    """Echo's answers through the path of a provider that does I/O: a task per call, awaited,
    checkpointed."""

    complete_now = None  # type: ignore[assignment]

    async def complete(self, request: Request) -> Response:
        return EchoProvider.complete_now(self, request)


def once(
    table: SignalTable, journal: Path | None, agents: Path | None = None, remote: bool = False
) -> float:
    """One run, timed from start to its `stopped` record (checkpoints flushed before it)."""
    checkpointer = Checkpointer(CheckpointStore(agents)) if agents is not None else None
    recorder = None
    if journal is not None:
        recorder = Recorder(Writer(journal, {"run_id": "bench"}), checkpointer, "bench")
    provider = Remote() if remote else EchoProvider()
    driver = Driver(table, {"echo": provider}, workflow=WORKFLOW, input="x",
                    keep_log=False, recorder=recorder)  # fmt: skip
    started = time.perf_counter()
    result = asyncio.run(driver.run())
    elapsed = time.perf_counter() - started
    if recorder is not None:
        recorder.writer.close()
    if checkpointer is not None:
        checkpointer.close()
    assert result.stop_reason == "completed", result.stop_reason
    return elapsed


def cost(directory: Path, runs: int) -> tuple[float, float, float, float]:
    """µs per activation: echo in memory and with the journal; a remote provider with the
    journal, and with journal and checkpoints."""
    _, table = compile_workload(directory, 1000)
    times: list[list[float]] = [[], [], [], []]
    for i in range(runs):  # interleaved, so drift on a shared machine hits all alike
        times[0].append(once(table, None))
        times[1].append(once(table, directory / f"journal-{i}.jsonl"))
        times[2].append(once(table, directory / f"remote-{i}.jsonl", remote=True))
        agents = directory / f"agents-{i}"  # fresh: every checkpoint is a new file
        times[3].append(once(table, directory / f"cp-{i}.jsonl", agents, remote=True))
    memory, journal, remote, checkpointed = (statistics.median(t) / 1000 * 1e6 for t in times)
    return memory, journal, remote, checkpointed


RESUME_RUNS = 5  # a resume of 10,000 agents takes seconds


def resume_time(directory: Path, runs: int) -> tuple[Timing, Timing, int, int]:
    """`axoc run FILE --resume ID --dry-run` as a cold process on a 10,000-agent layered dry run
    cut after half its records: the time to its first activation the journal did not record
    (its `started` record), median of `runs` after an untimed one; beside it, the floor of
    start-up and `import axoc.running`, taken in turns with it."""
    config = directory / "layered-10000.axoc.yaml"
    config.write_text(workload_yaml(load_gen(), "layered", 10_000), encoding="utf-8")
    interrupted = Interrupted.make(Code("this checkout"), config, directory / "killed")
    records = interrupted.cut.splitlines()[1:]
    replayed = sum(b'"k":"tick"' in r for r in records)
    full = interrupted.state / "runs" / interrupted.run_id / "journal.jsonl"
    ticks = sum(b'"k":"tick"' in r for r in full.read_bytes().splitlines())
    floor = python("import axoc.cli, axoc.running")
    floor.check()
    resumed, started = Timing(), Timing()
    interrupted.resume_once(directory / "resumed")  # writes bytecode, warms the disk cache
    for _ in range(runs):
        resumed.runs_s.append(interrupted.resume_once(directory / "resumed"))
        started.runs_s.append(floor.run())
    return resumed, started, replayed, ticks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    info = machine()
    print(f"machine: {info['cores']} cores, {info['cpu']}; python {info['python']}")
    with tempfile.TemporaryDirectory() as tmp:
        memory, journal, remote, checkpointed = cost(Path(tmp), args.runs)
        ratio = journal / memory
        print("\n1. layered 1,000 agents, echo, µs per activation (median of interleaved runs)")
        print(f"   in memory {memory:.1f}   with journal {journal:.1f}   ratio {ratio:.2f}x  "
              f"{'PASS' if ratio < 2 else 'FAIL'} (< 2x)")  # fmt: skip
        print("\n2. the same through the path of a provider doing I/O, µs per activation")
        print(f"   journal {remote:.1f}   journal + a checkpoint per turn {checkpointed:.1f}   "
              f"checkpoint cost {checkpointed - remote:.1f} µs per turn")  # fmt: skip
        resumed, floor, replayed, ticks = resume_time(Path(tmp), min(args.runs, RESUME_RUNS))
        seconds = resumed.median_s
        print("\n3. layered 10,000 agents killed half-way, `axoc run --resume` as a cold process:")
        print(
            f"   {replayed} of {ticks} ticks replayed; running again after {seconds:.3f} s "
            f"(median; min {resumed.min_s:.3f})  {'PASS' if seconds < 1 else 'FAIL'} (< 1 s)"
        )
        print(f"   start-up floor (import axoc.cli, axoc.running): {floor.median_s:.3f} s; "
              f"the figure is {seconds / floor.median_s:.2f}x it")  # fmt: skip
    return 0 if ratio < 2 and seconds < 1 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
