"""The cost of durability, every figure measured in the same run.

1. The 1,000-agent layered workflow (echo provider) run in memory, and with its journal —
   what `axoc run` does for it: µs per activation and the ratio (goal: durability costs under
   2×). Echo's turns are not checkpointed (they are never in flight at a crash).
2. The cost of agent checkpoints, for providers that do I/O: the same workflow with a provider
   answering at once through the asynchronous path, with the journal, and with the journal and
   a checkpoint per turn (group-committed, fsynced): µs per activation. No goal: a real call
   takes milliseconds to seconds.
3. A 10,000-agent layered run killed half-way (its journal cut after half its ticks): the time
   from loading the config to running again — the first activation the journal does not record
   being started for real (goal: under 1 s).

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
from axoc.kernel.durable import Recorder, Replay
from axoc.kernel.journal import Writer, read
from axoc.kernel.ports import Request, Response
from axoc.kernel.table import SignalTable
from axoc.pipeline import compile_file
from axoc.providers.echo import EchoProvider
from tests.bench.bench_check import load_gen, machine
from tests.bench.bench_run import workload_yaml

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


class FirstCall(EchoProvider):
    """Echo that notes when the first call is made: the resumed run is running again."""

    def __init__(self) -> None:
        self.first: float | None = None

    def complete_now(self, request: Request) -> Response:
        if self.first is None:
            self.first = time.perf_counter()
        return super().complete_now(request)


def resume_time(directory: Path) -> tuple[float, int, int]:
    path, table = compile_workload(directory, 10_000)
    full = directory / "full.jsonl"
    agents = directory / "agents-10k"
    once(table, full, agents)
    lines = full.read_bytes().splitlines(keepends=True)
    half = directory / "half.jsonl"
    half.write_bytes(b"".join(lines[: 1 + (len(lines) - 2) // 2]))  # half the records
    ticks = sum(r["k"] == "tick" for r in read(full).records)
    replayed = sum(r["k"] == "tick" for r in read(half).records)
    provider = FirstCall()
    started = time.perf_counter()
    unit = compile_file(str(path), os.environ)  # what `axoc run --resume` does first
    assert unit.lowered is not None
    store = CheckpointStore(agents)
    replay = Replay.of(read(half).records, store, "bench")
    checkpointer = Checkpointer(store)
    recorder = Recorder(Writer(half), checkpointer, "bench")
    driver = Driver(unit.lowered.table, {"echo": provider}, workflow=WORKFLOW, input="x",
                    keep_log=False, recorder=recorder, replay=replay)  # fmt: skip
    result = asyncio.run(driver.run())
    recorder.writer.close()
    checkpointer.close()
    assert result.stop_reason == "completed" and provider.first is not None
    return provider.first - started, replayed, ticks


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
        seconds, replayed, ticks = resume_time(Path(tmp))
        print("\n3. layered 10,000 agents killed half-way: load, read the journal, replay")
        print(f"   {replayed} of {ticks} ticks replayed; running again after {seconds:.3f} s  "
              f"{'PASS' if seconds < 1 else 'FAIL'} (< 1 s)")  # fmt: skip
    return 0 if ratio < 2 and seconds < 1 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
