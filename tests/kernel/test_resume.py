"""Resuming from a run's journal: after a crash after any tick, the resumed run ends with the
same outputs as an uninterrupted one, never calls a provider again for a recorded outcome, and
never charges it twice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import Checkpointer, CheckpointStore
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
    t: SignalTable, provider: Scripted, path: Path | None, replay: Replay | None = None,
    checkpoints: CheckpointStore | None = None,
) -> RunResult:  # fmt: skip
    recorder = None
    checkpointer = Checkpointer(checkpoints) if checkpoints is not None else None
    if path is not None:
        writer = Writer(path) if path.exists() else Writer(path, {"run_id": "r"})
        recorder = Recorder(writer, checkpointer, "r")
    driver = Driver(
        t, {"echo": provider}, workflow="w", input="task", logical=True,
        durations={"a": 2, "b": 3}, recorder=recorder, replay=replay,
    )  # fmt: skip
    try:
        return asyncio.run(driver.run())
    finally:
        if checkpointer is not None:
            checkpointer.close()


def test_resume_after_a_crash_after_every_record(tmp_path: Path) -> None:
    t = table(tmp_path, LATTICE)
    full = tmp_path / "full.jsonl"
    reference = run(t, Scripted(), full)
    lines = full.read_bytes().splitlines(keepends=True)
    records = len(lines) - 2  # all but the header and the `stopped` record
    kinds = [r["k"] for r in read(full).records]
    assert kinds.count("tick") >= 5 and kinds.count("started") >= 5
    for kept in range(records + 1):
        crashed = tmp_path / f"crash-{kept}.jsonl"
        crashed.write_bytes(b"".join(lines[: 1 + kept]))
        recorded = {o["s"] for r in read(crashed).records for o in r.get("o", [])}
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
            "outputs": ["last"],  # the sinks, whose texts the ticks hold
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


def first_tick(journal: Path) -> bytes:
    """The journal up to its first tick record: the header, `started` root, root's tick."""
    lines = journal.read_bytes().splitlines(keepends=True)
    return b"".join(lines[:3])


def crashed_after_the_first_tick(tmp_path: Path) -> tuple[SignalTable, RunResult, Path, Path]:
    """A full run with checkpoints, and its journal cut after the first tick: `root` done, `a`
    and `b` in flight."""
    t = table(tmp_path, LATTICE)
    full = tmp_path / "full.jsonl"
    reference = run(t, Scripted(), full, checkpoints=CheckpointStore(tmp_path / "agents"))
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_bytes(first_tick(full))
    assert [o["a"] for r in read(crashed).records for o in r.get("o", [])] == ["root"]
    return t, reference, crashed, tmp_path / "agents"


def test_an_activation_in_flight_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """b's turn finished and was checkpointed before the crash, a's had not: on resume b's
    answer comes from its checkpoint (not asked for again, charged once); a runs again."""
    t, reference, crashed, agents = crashed_after_the_first_tick(tmp_path)
    kept = CheckpointStore(tmp_path / "kept")
    finished = CheckpointStore(agents).load("b").latest
    assert finished is not None and (finished.run, finished.seq) == ("r", 3)
    kept.write(finished)
    provider = Scripted()
    replay = Replay.of(read(crashed).records, kept, "r")
    resumed = run(t, provider, crashed, replay)
    called = [r.agent for r in provider.requests]
    assert "b" not in called and "a" in called
    assert resumed.outputs == reference.outputs
    assert resumed.ledger.used == reference.ledger.used  # b charged exactly once
    assert resumed.ledger.by_agent["b"] == reference.ledger.by_agent["b"]
    recorded = {o["a"]: o["x"] for r in read(crashed).records[1:] for o in r.get("o", [])}
    assert recorded["b"] == finished.answer  # and the journal now records it
    assert replay.warnings == []


def test_a_checkpoint_is_used_only_for_its_own_run_and_messages(tmp_path: Path) -> None:
    t, reference, crashed, agents = crashed_after_the_first_tick(tmp_path)
    finished = CheckpointStore(agents).load("b").latest
    assert finished is not None
    other_run = CheckpointStore(tmp_path / "other-run")
    other_run.write(replace(finished, run="elsewhere"))
    other_prompt = CheckpointStore(tmp_path / "other-prompt")
    other_prompt.write(replace(finished, transcript=(("user", "another task"), ("assistant", "b"))))
    for store in (other_run, other_prompt):
        provider = Scripted()
        resumed = run(t, provider, crashed, Replay.of(read(crashed).records, store, "r"))
        assert "b" in [r.agent for r in provider.requests]
        assert resumed.outputs == reference.outputs
        crashed.write_bytes(first_tick(crashed))


def test_a_corrupt_newer_checkpoint_is_skipped_with_a_warning(tmp_path: Path) -> None:
    t, reference, crashed, agents = crashed_after_the_first_tick(tmp_path)
    finished = CheckpointStore(agents).load("b").latest
    assert finished is not None
    kept = CheckpointStore(tmp_path / "kept")
    kept.write(finished)
    garbage = kept.folder("b") / "0000000000000002.json"
    garbage.write_bytes(b'{"format": "axoc.checkpoint/1", "agent": "b", "tra')
    provider = Scripted()
    replay = Replay.of(read(crashed).records, kept, "r")
    resumed = run(t, provider, crashed, replay)
    assert "b" not in [r.agent for r in provider.requests]
    assert resumed.outputs == reference.outputs
    assert replay.warnings == [
        f"{garbage}: skipped, it is truncated or not JSON; using 0000000000000001.json instead"
    ]


def test_the_started_records_must_match_what_the_lattice_starts(tmp_path: Path) -> None:
    t = table(tmp_path, LATTICE)
    full = tmp_path / "full.jsonl"
    run(t, Scripted(), full)
    kinds = [r["k"] for r in read(full).records]
    assert kinds[:3] == ["started", "tick", "started"]  # root; root done; a and b about to start
    replay = Replay.of(read(full).records[:1])  # root started, nothing completed
    assert replay.started == {1: "root"}
    replay.started[1] = "a"  # as if another lattice had written the journal
    with pytest.raises(ReplayMismatch, match="activation 1 is 'root' now, 'a' in the journal"):
        run(t, Scripted(), None, replay)


def long_chain(tmp_path: Path, n: int) -> SignalTable:
    agents = "\n".join(
        f"  - {{id: c{i}, provider: echo{', depends_on: [c' + str(i - 1) + ']' if i else ''}}}"
        for i in range(n)
    )
    flow = ", ".join(f"c{i}" for i in range(n))
    return table(tmp_path, f"agents:\n{agents}\nworkflows:\n  - {{id: w, agents: [{flow}]}}\n")


def test_snapshots_of_the_lattice_are_journaled_and_checked_on_replay(tmp_path: Path) -> None:
    from axoc.kernel.driver import SNAPSHOT_EVERY

    t = long_chain(tmp_path, SNAPSHOT_EVERY + 6)
    full = tmp_path / "full.jsonl"
    reference = run(t, Scripted(), full)
    records = read(full).records
    (taken,) = [r for r in records if r["k"] == "snapshot"]
    assert taken["tick"] == SNAPSHOT_EVERY
    assert taken["state"]["activations"] == SNAPSHOT_EVERY  # taken before the next link starts
    assert set(taken["state"]) == {"activations", "capped", "level", "updated", "counted",
                                   "cooldown"}  # fmt: skip
    position = records.index(taken)
    lines = full.read_bytes().splitlines(keepends=True)

    crashed = tmp_path / "crashed.jsonl"  # killed just after the snapshot
    crashed.write_bytes(b"".join(lines[: 1 + position + 1]))
    resumed = run(t, Scripted(), crashed, Replay.of(read(crashed).records))
    assert resumed.outputs == reference.outputs and resumed.stop_reason == "completed"

    crashed.write_bytes(b"".join(lines[: 1 + position + 1]))
    replay = Replay.of(read(crashed).records)
    replay.snapshots[SNAPSHOT_EVERY]["activations"] += 1  # a lattice that is not this one
    with pytest.raises(ReplayMismatch, match=f"after batch {SNAPSHOT_EVERY} the lattice's "
                                             "activations differ"):  # fmt: skip
        run(t, Scripted(), None, replay)
