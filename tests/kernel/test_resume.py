"""Resuming from a run's journal: after a crash after any tick, the resumed run ends with the
same outputs as an uninterrupted one, never calls a provider again for a recorded outcome, and
never charges it twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.durable import Recorder, Replay, ReplayMismatch
from axoc.kernel.journal import Writer, read
from axoc.kernel.table import SignalTable
from tests.kernel.fakes import Scripted, table

LATTICE = """
agents:
  - {id: root, provider: echo}
  - {id: a, provider: echo, depends_on: [root]}
  - {id: b, provider: echo, depends_on: [root]}
  - {id: c, provider: echo, depends_on: [a]}
  - {id: join, provider: echo, depends_on: [b, c]}
  - {id: last, provider: echo, depends_on: [join]}
  - {id: watcher, provider: echo}
skills:
  - {id: watch, agents: [watcher], reacts_to: ["TaskCompleted(join)"], emits: [Watched]}
  - {id: log, agents: [root], reacts_to: [Watched], prompt: "log"}
workflows:
  - {id: w, agents: [root, a, b, c, join, last]}
"""


def run(
    t: SignalTable, provider: Scripted, path: Path | None, replay: Replay | None = None
) -> RunResult:
    recorder = None
    if path is not None:
        recorder = Recorder(Writer(path) if path.exists() else Writer(path, {"run_id": "r"}))
    driver = Driver(
        t, {"echo": provider}, workflow="w", input="task", logical=True,
        durations={"a": 2, "b": 3}, recorder=recorder, replay=replay,
    )  # fmt: skip
    return asyncio.run(driver.run())


def test_resume_after_a_crash_after_every_tick(tmp_path: Path) -> None:
    t = table(tmp_path, LATTICE)
    full = tmp_path / "full.jsonl"
    reference = run(t, Scripted(), full)
    lines = full.read_bytes().splitlines(keepends=True)
    ticks = len(lines) - 2  # the header and the `stopped` record
    assert ticks >= 5
    for kept in range(ticks + 1):
        crashed = tmp_path / f"crash-{kept}.jsonl"
        crashed.write_bytes(b"".join(lines[: 1 + kept]))
        recorded = {o["s"] for r in read(crashed).records for o in r["o"]}
        provider = Scripted()
        resumed = run(t, provider, crashed, Replay.of(read(crashed).records))
        assert resumed.outputs == reference.outputs, kept
        assert resumed.status == reference.status
        assert resumed.stop_reason == reference.stop_reason == "completed"
        called = [r.agent for r in provider.requests]
        assert len(called) == reference.activations - len(recorded)  # recorded: never called again
        assert resumed.ledger.used == reference.ledger.used  # nothing charged twice
        after = read(crashed)
        assert after.warnings == [] and after.records[-1] == {
            "k": "stopped",
            "n": len(after.records),
            "reason": "completed",
        }


def test_a_changed_lattice_is_refused_on_replay(tmp_path: Path) -> None:
    """A safety net under the CLI's config-digest check: the journal's activations must be the
    ones the lattice starts."""
    journal = tmp_path / "j.jsonl"
    run(table(tmp_path, LATTICE), Scripted(), journal)
    changed = table(
        tmp_path,
        LATTICE.replace(
            "{id: b, provider: echo, depends_on: [root]}",
            "{id: b, provider: echo}",  # an entry now: activations start in another order
        ),
    )
    with pytest.raises(ReplayMismatch):
        run(changed, Scripted(), None, Replay.of(read(journal).records))
