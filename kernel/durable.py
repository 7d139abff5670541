"""Durable runs: what the driver writes to a run's journal, and how a run resumes from it.

In: a `Writer` (`axoc.kernel.journal`) while running; the journal's records when resuming.
Out: a `Replay` the driver consults. The journal holds a `started` record each time the core
starts activations — their sequence numbers and agents, written before any of them is sent —
and a `tick` record per batch of completions — the outcomes, in activation order, each with its
output or error and its token usage —, each a single append, then a `stopped` record with the
stop reason and the agents whose outputs are the run's final output. Replay
needs only the ticks: the core is deterministic, so replaying the same batches at the same
kernel times starts the same activations with the same sequence numbers; the `started` records
check that it does, and tell which activations were in flight at a crash. Every SNAPSHOT_EVERY
batches a `snapshot` record holds the lattice's accumulators, which a replay must rebuild
exactly.

With a `Checkpointer`, every finished turn of a provider that does I/O is also an agent
checkpoint (`axoc.kernel.checkpoint`), durable before the driver acts on the answer. Turns of
in-process providers (echo) are not: the journal records them in the same tick, before any
I/O, so they are never in flight at a crash, and redoing one costs nothing.

Contract (docs/durability.md): after `kill -9`, resuming replays every recorded outcome without
calling its provider or charging it again. An activation in flight at the crash (started, no
recorded outcome) whose turn had finished continues from its checkpoint — the answer is taken
from it, not asked for again, and charged once; one whose turn had not finished runs again — at
least once. If the lattice starts something else than the journal records (the config
changed), the replay stops with `ReplayMismatch`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from axoc.kernel.checkpoint import Checkpoint, Checkpointer, CheckpointStore
from axoc.kernel.journal import Writer
from axoc.kernel.ports import Message, Usage


class ReplayMismatch(Exception):
    """The journal records an outcome for an activation the run did not start."""


@dataclass(frozen=True, slots=True)
class Recorded:
    seq: int
    agent: str
    text: str | None
    error: str | None
    refused: bool
    usage: Usage | None

    def to_json(self) -> dict[str, Any]:
        return {
            "s": self.seq,
            "a": self.agent,
            "x": self.text,
            "e": self.error,
            "r": self.refused,
            "u": list(self.usage) if self.usage is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        usage = data.get("u")
        return cls(
            seq=int(data["s"]),
            agent=str(data["a"]),
            text=data.get("x"),
            error=data.get("e"),
            refused=bool(data.get("r")),
            usage=Usage(int(usage[0]), int(usage[1])) if usage else None,
        )


class Recorder:
    """Appends the run's ticks to its journal (each durable against kill -9 on return), and
    hands finished turns to the checkpointer when there is one."""

    def __init__(
        self, writer: Writer, checkpointer: Checkpointer | None = None, run_id: str = ""
    ) -> None:
        self.writer = writer
        self.checkpointer = checkpointer
        self.run_id = run_id

    def started(self, now: float, activations: list[tuple[int, str]]) -> None:
        """Activations (seq, agent) about to start."""
        self.writer.append("started", t=now, s=activations)

    def tick(self, now: float, outcomes: list[Recorded]) -> None:
        self.writer.append("tick", t=now, o=[o.to_json() for o in outcomes])

    def snapshot(self, tick: int, accumulators: dict[str, Any]) -> None:
        """The lattice's accumulators after the run's `tick`-th batch of completions."""
        self.writer.append("snapshot", tick=tick, state=accumulators)

    def stopped(self, reason: str, outputs: Sequence[str] = ()) -> None:
        """The run ended: why, and the agents whose outputs are its final output, in order
        (their texts are in the ticks already)."""
        if self.checkpointer is not None:
            self.checkpointer.flush()
        self.writer.append("stopped", reason=reason, outputs=list(outputs))
        self.writer.commit()


@dataclass
class Replay:
    """The recorded ticks of an interrupted run, consumed in order by the resuming driver, and
    the agents' checkpoints, for the activations that were in flight."""

    ticks: deque[tuple[float, list[Recorded]]] = field(default_factory=deque)
    outcomes: dict[int, Recorded] = field(default_factory=dict)
    started: dict[int, str] = field(default_factory=dict)  # seq → agent, as recorded
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)  # tick → accumulators
    checkpoints: CheckpointStore | None = None
    run_id: str = ""
    warnings: list[str] = field(default_factory=list)  # checkpoints skipped on the way

    def checkpointed(self, seq: int, agent: str, messages: tuple[Message, ...]) -> Recorded | None:
        """The answer of activation `seq`, if `agent` checkpointed its final turn before the
        crash — for exactly these messages (a drifted config asks again)."""
        if self.checkpoints is None:
            return None
        loaded = self.checkpoints.load(agent)
        self.warnings += loaded.warnings
        found = next((c for c in loaded.checkpoints if c.run == self.run_id and c.seq == seq), None)
        if found is None or not found.final or found.transcript[:-1] != _pairs(messages):
            return None
        return Recorded(seq, agent, found.answer, None, False, Usage(*found.usage))

    @classmethod
    def of(
        cls, records: list[dict[str, Any]], checkpoints: CheckpointStore | None = None,
        run_id: str = "",
    ) -> Replay:  # fmt: skip
        replay = cls(checkpoints=checkpoints, run_id=run_id)
        for record in records:
            if record.get("k") == "tick":
                batch = [Recorded.from_json(o) for o in record["o"]]
                replay.ticks.append((float(record["t"]), batch))
                replay.outcomes.update((o.seq, o) for o in batch)
            elif record.get("k") == "started":
                replay.started.update((int(seq), str(agent)) for seq, agent in record["s"])
            elif record.get("k") == "snapshot":
                replay.snapshots[int(record["tick"])] = record["state"]
        return replay


def _pairs(messages: tuple[Message, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((m.role, m.content) for m in messages)


def turn_checkpoint(
    run_id: str, seq: int, agent: str, messages: tuple[Message, ...], answer: str,
    usage: Usage, cumulative: Usage, state: dict[str, Any],
) -> Checkpoint:  # fmt: skip
    """The checkpoint of an activation's one (final) turn."""
    return Checkpoint(
        agent=agent, run=run_id, seq=seq, turn=1, final=True,
        transcript=(*_pairs(messages), ("assistant", answer)),
        usage=(usage.input_tokens, usage.output_tokens),
        cumulative=(cumulative.input_tokens, cumulative.output_tokens),
        state=state,
    )  # fmt: skip
