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
checkpoint of the run (`axoc.kernel.checkpoint`), durable before the driver acts on the answer;
when the run ends — its `stopped` record flushed to disk — they are discarded. Turns of
in-process providers (echo) are not checkpointed: the journal records them in the same tick,
before any I/O, so they are never in flight at a crash, and redoing one costs nothing.

Contract (docs/durability.md): after `kill -9`, resuming replays every recorded outcome without
calling its provider or charging it again. Every other activation whose answer a checkpoint of
the run holds takes it from there — not asked for again, charged once —, whatever the journal
lost (a power cut can leave only its header): the answer of the same agent to the very same
messages, each checkpoint used once, that of the same activation number first (activations
after the journal's end may be numbered otherwise than before the crash, as they complete in
other batches). Only a call whose answer was not checkpointed runs again — at least once. If
the lattice starts something else than the journal records (the config changed), the replay
stops with `ReplayMismatch`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from axoc.kernel.checkpoint import Checkpoint, Checkpointer, CheckpointStore
from axoc.kernel.journal import Writer
from axoc.kernel.ports import Message, Usage
from axoc.kernel.usage import recorded, written


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
    emitted: tuple[tuple[str, str], ...] = ()  # (event, payload) the activation emitted

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "s": self.seq,
            "a": self.agent,
            "x": self.text,
            "e": self.error,
            "r": self.refused,
            "u": written(self.usage) if self.usage is not None else None,
        }
        if self.emitted:
            data["m"] = [list(e) for e in self.emitted]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        usage = data.get("u")
        return cls(
            seq=int(data["s"]),
            agent=str(data["a"]),
            text=data.get("x"),
            error=data.get("e"),
            refused=bool(data.get("r")),
            usage=Usage(*counts) if usage and (counts := recorded(usage)) else None,
            emitted=tuple((str(name), str(payload)) for name, payload in data.get("m", ())),
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
        if self.checkpointer is not None:  # every outcome is on disk now, in the journal
            self.checkpointer.store.discard()


@dataclass
class Replay:
    """The recorded ticks of an interrupted run, consumed in order by the resuming driver, and
    the run's checkpoints, for every activation the journal does not record."""

    ticks: deque[tuple[float, list[Recorded]]] = field(default_factory=deque)
    outcomes: dict[int, Recorded] = field(default_factory=dict)
    started: dict[int, str] = field(default_factory=dict)  # seq → agent, as recorded
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)  # tick → accumulators
    # Where the run's checkpoints are, in order: its own folder, then (for a run interrupted
    # before checkpoints were kept per run) the `agents/` folder earlier versions shared.
    checkpoints: Sequence[CheckpointStore] = ()
    run_id: str = ""
    warnings: list[str] = field(default_factory=list)  # checkpoints skipped on the way
    # Invariant: an agent's entry, once loaded, holds the latest checkpointed turn of each of
    # its activations in this run not used yet, by activation number: each is taken once.
    _unused: dict[str, dict[int, Checkpoint]] = field(default_factory=dict)

    def may_have(self, agent: str) -> bool:
        """Whether a checkpointed answer of `agent` is left to take (cheap after the first ask)."""
        unused = self._unused.get(agent)
        if unused is None:
            unused = self._unused[agent] = self._load(agent)
        return bool(unused)

    def resume_point(
        self, seq: int, agent: str, messages: tuple[Message, ...],
        seen: Callable[[tuple[Message, ...]], tuple[Message, ...]] | None = None,
    ) -> Checkpoint | None:  # fmt: skip
        """The latest checkpointed turn of an activation of `agent` in this run that was sent
        exactly these first messages (a drifted config asks again): activation `seq`'s own if
        it is there, else the earliest such one left. Final, it holds the answer; else the
        session so far, to continue from. It is taken: asked again, this returns another or
        None. `seen`: what of a checkpoint's transcript is compared with `messages` (the
        session's: without what memory added to the system prompt)."""
        if not self.may_have(agent):
            return None
        unused = self._unused[agent]
        found = unused.get(seq)
        if found is None or not _continues(found, messages, seen):
            found = next((c for c in unused.values() if _continues(c, messages, seen)), None)
            if found is None:
                return None
        del unused[found.seq]
        return found

    def checkpointed(self, seq: int, agent: str, messages: tuple[Message, ...]) -> Recorded | None:
        """`resume_point`'s answer as an outcome, when it is a final turn (else None; the
        checkpoint is taken all the same)."""
        found = self.resume_point(seq, agent, messages)
        if found is None or not found.final:
            return None
        usage = Usage(*found.activation_usage)
        return Recorded(seq, agent, found.answer, None, False, usage, found.emitted)

    def replayed(self, seq: int, agent: str) -> None:
        """Activation `seq` was replayed from the journal: its checkpoint is nobody else's."""
        if self.checkpoints:
            self.may_have(agent)
            self._unused[agent].pop(seq, None)

    def _load(self, agent: str) -> dict[int, Checkpoint]:
        found: dict[int, Checkpoint] = {}
        for store in self.checkpoints:
            loaded = store.load(agent)
            self.warnings += loaded.warnings
            for checkpoint in loaded.checkpoints:  # newest first (the latest turn): it wins,
                if checkpoint.run == self.run_id:  # and the own store's
                    found.setdefault(checkpoint.seq, checkpoint)
        return dict(sorted(found.items()))

    @classmethod
    def of(
        cls, records: list[dict[str, Any]],
        checkpoints: CheckpointStore | Sequence[CheckpointStore] | None = None, run_id: str = "",
    ) -> Replay:  # fmt: skip
        if isinstance(checkpoints, CheckpointStore):
            checkpoints = (checkpoints,)
        there = tuple(store for store in checkpoints or () if store.root.is_dir())
        replay = cls(checkpoints=there, run_id=run_id)
        for record in records:
            if record.get("k") == "tick":
                batch = [Recorded.from_json(o) for o in record["o"]]
                replay.warnings += [
                    f"journal record {record.get('n')}: the token usage of '{o.agent}' is not "
                    "a possible count; it is not charged again"
                    for o, raw in zip(batch, record["o"], strict=True)
                    if raw.get("u") and o.usage is None
                ]
                replay.ticks.append((float(record["t"]), batch))
                replay.outcomes.update((o.seq, o) for o in batch)
            elif record.get("k") == "started":
                replay.started.update((int(seq), str(agent)) for seq, agent in record["s"])
            elif record.get("k") == "snapshot":
                replay.snapshots[int(record["tick"])] = record["state"]
        return replay


def _continues(
    checkpoint: Checkpoint, messages: tuple[Message, ...],
    seen: Callable[[tuple[Message, ...]], tuple[Message, ...]] | None = None,
) -> bool:  # fmt: skip
    """Whether the checkpoint's session began with exactly these messages (and went on)."""
    transcript = checkpoint.transcript if seen is None else seen(checkpoint.transcript)
    return len(transcript) > len(messages) and transcript[: len(messages)] == messages


def turn_checkpoint(
    run_id: str, seq: int, agent: str, transcript: tuple[Message, ...], *, turn: int,
    final: bool, usage: Usage, spent: Usage, cumulative: Usage,
    emitted: tuple[tuple[str, str], ...], state: dict[str, Any],
) -> Checkpoint:  # fmt: skip
    """The checkpoint of an activation's turn: `transcript` ends with the answer (final) or
    with the tool results the turn's calls gave; `spent` is the activation's usage so far."""
    return Checkpoint(
        agent=agent, run=run_id, seq=seq, turn=turn, final=final, transcript=transcript,
        usage=tuple(usage), cumulative=tuple(cumulative), state=state, spent=tuple(spent),
        emitted=emitted,
    )  # fmt: skip
