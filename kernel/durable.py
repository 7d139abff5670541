"""Durable runs: what the driver writes to a run's journal, and how a run resumes from it.

In: a `Writer` (`axoc.kernel.journal`) while running; the journal's records when resuming.
Out: a `Replay` the driver consults. The journal holds one record per tick — the outcomes of the
activations completed in that batch, in activation order, each with its output or error and its
token usage — written in a single append, then a `stopped` record. Activations are not recorded:
the core is deterministic, so replaying the same batches at the same kernel times starts the
same activations with the same sequence numbers.

Contract (docs/durability.md): after `kill -9`, resuming replays every recorded outcome without
calling its provider or charging it again; activations in flight at the crash (started, no
recorded outcome) run again — at least once. If the lattice starts something else than the
journal records (the config changed), the replay stops with `ReplayMismatch`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from axoc.kernel.journal import Writer
from axoc.kernel.ports import Usage


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
    """Appends the run's ticks to its journal (each durable against kill -9 on return)."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def tick(self, now: float, outcomes: list[Recorded]) -> None:
        self.writer.append("tick", t=now, o=[o.to_json() for o in outcomes])

    def stopped(self, reason: str) -> None:
        self.writer.append("stopped", reason=reason)
        self.writer.commit()


@dataclass
class Replay:
    """The recorded ticks of an interrupted run, consumed in order by the resuming driver."""

    ticks: deque[tuple[float, list[Recorded]]] = field(default_factory=deque)
    outcomes: dict[int, Recorded] = field(default_factory=dict)

    @classmethod
    def of(cls, records: list[dict[str, Any]]) -> Replay:
        replay = cls()
        for record in records:
            if record.get("k") == "tick":
                batch = [Recorded.from_json(o) for o in record["o"]]
                replay.ticks.append((float(record["t"]), batch))
                replay.outcomes.update((o.seq, o) for o in batch)
        return replay
