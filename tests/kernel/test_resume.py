"""Resuming from a run's journal: after a crash after any tick, the resumed run ends with the
same outputs as an uninterrupted one, never calls a provider again for a recorded outcome, and
never charges it twice."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import Checkpoint, Checkpointer, CheckpointStore
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.durable import Recorder, Replay, ReplayMismatch
from axoc.kernel.journal import Writer, read
from axoc.kernel.ports import Message
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


class Keeping(Recorder):
    """Copies the run's checkpoints to `<root>-kept` just before they are discarded at its end:
    what a crash (or a power cut) just before the end would have left."""

    def stopped(self, reason: str, outputs: Sequence[str] = ()) -> None:
        assert self.checkpointer is not None
        self.checkpointer.flush()
        root = self.checkpointer.store.root
        shutil.copytree(root, root.with_name(root.name + "-kept"))
        super().stopped(reason, outputs)


def run(
    t: SignalTable, provider: Scripted, path: Path | None, replay: Replay | None = None,
    checkpoints: CheckpointStore | None = None, *, logical: bool = True, workflow: str = "w",
) -> RunResult:  # fmt: skip
    recorder = None
    checkpointer = Checkpointer(checkpoints) if checkpoints is not None else None
    if path is not None:
        writer = Writer(path) if path.exists() else Writer(path, {"run_id": "r"})
        recorder = (Keeping if checkpointer else Recorder)(writer, checkpointer, "r")
    driver = Driver(
        t, {"echo": provider}, workflow=workflow, input="task", logical=logical,
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
    reference = run(t, Scripted(), full, checkpoints=CheckpointStore(tmp_path / "run"))
    assert not (tmp_path / "run").exists()  # discarded when the run ended
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_bytes(first_tick(full))
    assert [o["a"] for r in read(crashed).records for o in r.get("o", [])] == ["root"]
    return t, reference, crashed, tmp_path / "run-kept"


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


# --- every checkpointed answer is reused, whatever the journal lost --------------------------


def test_every_checkpointed_answer_is_reused_at_every_cut_of_the_journal(tmp_path: Path) -> None:
    """A power cut can keep any prefix of the journal — down to its header — while every
    checkpoint, flushed before the run acted on its answer, survives: then no answer is asked
    for again, none is charged twice, and the run ends as it did."""
    t = table(tmp_path, LATTICE)
    full = tmp_path / "full.jsonl"
    reference = run(t, Scripted(), full, checkpoints=CheckpointStore(tmp_path / "run"))
    kept = CheckpointStore(tmp_path / "run-kept")
    lines = full.read_bytes().splitlines(keepends=True)
    assert reference.activations == 8  # root twice (the skill `log`), the 6 others once
    for cut in range(1, len(lines)):  # the header alone, ..., all but `stopped`
        crashed = tmp_path / f"crashed-{cut}.jsonl"
        crashed.write_bytes(b"".join(lines[:cut]))
        provider = Scripted()
        replay = Replay.of(read(crashed).records, kept, "r")
        resumed = run(t, provider, crashed, replay)
        assert provider.requests == [], cut  # every answer came from the journal or a checkpoint
        assert resumed.outputs == reference.outputs and resumed.stop_reason == "completed"
        assert resumed.ledger.used == reference.ledger.used  # and was charged once
        assert resumed.ledger.by_agent == reference.ledger.by_agent
        outcomes = [o for r in read(crashed).records if r["k"] == "tick" for o in r["o"]]
        assert len(outcomes) == reference.activations  # the journal holds them all again


CHAINS = """
agents:
  - {id: x0, provider: echo}
  - {id: x1, provider: echo, depends_on: [x0]}
  - {id: x2, provider: echo, depends_on: [x1]}
  - {id: y0, provider: echo}
  - {id: y1, provider: echo, depends_on: [y0]}
  - {id: y2, provider: echo, depends_on: [y1]}
  - {id: z, provider: echo, depends_on: [x2, y2]}
workflows:
  - {id: w, agents: [x0, x1, x2, y0, y1, y2, z]}
"""


def test_answers_are_reused_when_the_resumed_run_numbers_its_activations_otherwise(
    tmp_path: Path,
) -> None:
    """On the wall clock, the y chain ran ahead of the slow x0: activations were numbered
    x0 y0 y1 y2 x1 x2 z. Resumed from the header alone, every answer is there at once and the
    lattice numbers them x0 y0 x1 y1 x2 y2 z: each answer is found by its agent and its
    messages, not by a number that changed."""
    t = table(tmp_path, CHAINS)
    full = tmp_path / "full.jsonl"
    slow = Scripted(sleep={"x0": 0.2})
    reference = run(t, slow, full, checkpoints=CheckpointStore(tmp_path / "run"), logical=False)
    started = [agent for r in read(full).records if r["k"] == "started" for _, agent in r["s"]]
    assert started == ["x0", "y0", "y1", "y2", "x1", "x2", "z"]
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_bytes(full.read_bytes().splitlines(keepends=True)[0])  # the header alone
    provider = Scripted()
    replay = Replay.of(read(crashed).records, CheckpointStore(tmp_path / "run-kept"), "r")
    resumed = run(t, provider, crashed, replay, logical=False)
    assert provider.requests == []
    assert resumed.outputs == reference.outputs and resumed.ledger.used == reference.ledger.used
    renumbered = [a for r in read(crashed).records if r["k"] == "started" for _, a in r["s"]]
    assert renumbered != started  # the numbers did change


def test_an_answer_is_taken_once_and_a_replayed_activation_keeps_its_own(tmp_path: Path) -> None:
    """Three activations of one agent asked the same thing. The journal replays the first: its
    checkpoint is nobody else's. The next two asks get the other two answers, the one after
    them nothing — it is asked again."""
    store = CheckpointStore(tmp_path / "run")
    asked = (("user", "same"),)
    for seq in (5, 9, 12):
        store.write(Checkpoint(agent="p", run="r", seq=seq, turn=1, final=True,
                               transcript=(*asked, ("assistant", f"answer {seq}")),
                               usage=(4, seq), cumulative=(4, seq)))  # fmt: skip
    store.write(Checkpoint(agent="p", run="other", seq=20, turn=1, final=True,
                           transcript=(*asked, ("assistant", "another run's")),
                           usage=(4, 1), cumulative=(4, 1)))  # fmt: skip
    replay = Replay.of([], store, "r")
    messages = (Message("user", "same"),)
    replay.replayed(5, "p")
    first = replay.checkpointed(13, "p", messages)
    second = replay.checkpointed(12, "p", messages)  # its own number: its own answer
    assert first is not None and (first.seq, first.text) == (13, "answer 9")
    assert second is not None and (second.seq, second.text) == (12, "answer 12")
    assert replay.checkpointed(14, "p", messages) is None
    assert replay.checkpointed(9, "p", (Message("user", "else"),)) is None
    assert not replay.may_have("p")
