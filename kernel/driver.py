"""The driver: the public entry that runs one workflow (or one skill fire) over the core.

In: a `SignalTable`, providers by name, the run's input, and a clock mode. Out: a `RunResult`
(stop reason, exit code, the sinks' outputs in topological order, per-agent status and token
usage) and, through `listener`, one record per thing that happened (the event log).

`Driver` is the `Scheduler` (`axoc.kernel.scheduler`: ticks, batches, replay, stop reasons)
wired with the in-process executor (`axoc.kernel.executor`), activation sessions
(`axoc.kernel.session`: prompt, tool loop, budgets, retries, supervision, checkpoints per turn)
and a clock (`axoc.kernel.clock`): `logical=True` makes kernel time a tick counter, an
activation of agent `a` taking `durations.get(a, 1)` ticks, so the same inputs give the same
event log byte for byte; otherwise the wall clock. Embedding programs and `axoc run` import
`Driver`, `RunResult`, `EXIT_CODES` and `random_seed` from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from axoc.kernel.clock import Clock, LogicalClock, WallClock
from axoc.kernel.durable import Recorder, Replay
from axoc.kernel.executor import AsyncioExecutor
from axoc.kernel.index import RunIndex
from axoc.kernel.ports import Message, Provider, Toolbox
from axoc.kernel.scheduler import EXIT_CODES, SNAPSHOT_EVERY, Listener, RunResult, Scheduler
from axoc.kernel.session import DEFAULT_CALL_TIMEOUT, MAX_BACKOFF, Outcome, random_seed
from axoc.kernel.table import SignalTable

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "EXIT_CODES",
    "MAX_BACKOFF",
    "SNAPSHOT_EVERY",
    "Driver",
    "Outcome",
    "RunResult",
    "random_seed",
]


class Driver(Scheduler):
    def __init__(
        self,
        table: SignalTable,
        providers: Mapping[str, Provider],
        *,
        workflow: str | None = None,
        skill: str | None = None,
        input: str = "",
        logical: bool = False,
        durations: Mapping[str, int] | None = None,
        listener: Listener | None = None,
        keep_log: bool = True,
        recorder: Recorder | None = None,
        replay: Replay | None = None,
        index: RunIndex | None = None,
        seed: int | None = None,
        toolbox: Toolbox | None = None,
        clock: Clock | None = None,
        history: Sequence[Message] = (),
    ) -> None:
        """See `Scheduler`; `logical` and `durations` choose the clock when `clock` is None;
        `history`: the earlier turns of a conversation the run's entry activations continue
        (user and assistant messages; `axoc chat`)."""
        if clock is None:
            clock = LogicalClock(durations) if logical else WallClock()
        super().__init__(
            table, providers, clock=clock, executor=AsyncioExecutor, workflow=workflow,
            skill=skill, input=input, listener=listener, keep_log=keep_log, recorder=recorder,
            replay=replay, index=index, seed=seed, toolbox=toolbox,
        )  # fmt: skip
        self.sessions.history = tuple(history)
