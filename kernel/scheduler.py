"""The scheduler: the loop over the lattice core that runs one workflow (or one skill fire).

In: a `SignalTable`, providers by name, the run's input, a `Clock`, an executor for the
sessions, and optionally a toolbox, a recorder (journal, checkpoints) and a replay (resuming).
Out: a `RunResult` (stop reason, exit code, the sinks' outputs in topological order, per-agent
status and token usage) and, through `listener`, one record per thing that happened (the event
log).

Each tick: the core (`axoc.kernel.core.step`) turns the tick's events into activations; the
scheduler journals them, submits each to the executor (one session per activation,
`axoc.kernel.session`) and waits for the next batch of outcomes, which it delivers in activation
order as events: for each outcome, the events its activation emitted with `emit` (in emission
order), then `TaskCompleted` (and a skill's `emits`) or `AgentFailed`. The run ends at
quiescence: nothing running and nothing left to publish; or at the workflow's timeout, or when
the core's activation cap stops it. Resuming, the journal's ticks are replayed at their
recorded kernel times before anything new runs, and the lattice is checked against the
journal's snapshots. With a logical clock the same inputs give the same event log byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from axoc.kernel.budget import Ledger
from axoc.kernel.clock import Clock, WallClock
from axoc.kernel.core import DONE, Activation, Event, RunState, Status, settle, snapshot, step
from axoc.kernel.durable import Recorded, Recorder, Replay, ReplayMismatch
from axoc.kernel.executor import AsyncioExecutor, Executor
from axoc.kernel.index import RunIndex
from axoc.kernel.ports import Message, Provider, Toolbox
from axoc.kernel.session import Outcome, Sessions, random_seed
from axoc.kernel.table import SignalTable, SkillSpec

EXIT_CODES = {
    "completed": 0,
    "failed": 1,
    "budget_exhausted": 4,
    "max_activations": 5,
    "timeout": 6,
    "interrupted": 130,
}
SNAPSHOT_EVERY = 64  # batches between two snapshots of the lattice in the journal
Listener = Callable[[dict[str, Any]], None]
ExecutorFactory = Callable[[Sessions, Clock], Executor]


@dataclass
class RunResult:
    stop_reason: str
    outputs: list[tuple[str, str]]
    # One entry per agent, in the order the run reached them (activated or skipped), then those
    # it never reached, by id. Like `log`, left out of the repr: asyncio.run builds the repr of
    # its main task's result twice when it checks its SIGINT handler (CPython 3.11).
    status: Mapping[str, str] = field(repr=False)
    ledger: Ledger
    activations: int
    elapsed: float
    errors: dict[str, str] = field(default_factory=dict)  # failed agent → its last error
    log: list[dict[str, Any]] = field(default_factory=list, repr=False)  # can be 3 × N records
    # activation → its tool loop's transcript (kept with the log, for agents offered tools)
    transcripts: dict[int, tuple[Message, ...]] = field(default_factory=dict, repr=False)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.stop_reason]


class Scheduler:
    def __init__(
        self,
        table: SignalTable,
        providers: Mapping[str, Provider],
        *,
        clock: Clock | None = None,
        executor: ExecutorFactory = AsyncioExecutor,
        workflow: str | None = None,
        skill: str | None = None,
        input: str = "",
        listener: Listener | None = None,
        keep_log: bool = True,
        recorder: Recorder | None = None,
        replay: Replay | None = None,
        index: RunIndex | None = None,
        seed: int | None = None,
        toolbox: Toolbox | None = None,
    ) -> None:
        """`index`: the table's `RunIndex` for this workflow, when the caller runs it several
        times — immutable, so runs share it as a compiled graph is shared; built here if None.
        `seed`: the run's retry jitter (`random_seed()` if None); activation `seq` of a run
        waits the same between its attempts whenever the run is replayed with the same seed,
        and two runs with different seeds do not retry in lockstep. `toolbox`: the tools agents
        may call beside the built-in `emit`."""
        if (workflow is None) == (skill is None):
            raise ValueError("a run starts from exactly one workflow or one skill")
        if index is not None and (index.table is not table or index.workflow != workflow):
            raise ValueError("the index was built for another table or workflow")
        self.table = table
        self.providers = providers
        self.clock = clock if clock is not None else WallClock()
        self.flow = table.workflow(workflow) if workflow is not None else None
        self.skill = skill
        self.input = input
        self.listener = listener
        self.recorder = recorder
        self.replay = replay
        self.keep_log = keep_log
        self.observed = keep_log or listener is not None  # records are built only if so
        self.index = index if index is not None else RunIndex(table, workflow)
        self.seed = seed if seed is not None else random_seed()
        self.state = RunState()
        self.ledger = Ledger(self.flow.token_budget if self.flow else None)
        self.outputs: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.refusals = 0
        self.log: list[dict[str, Any]] = []
        self._skills: Mapping[str, SkillSpec] = table.by_id("skills")
        # A skill fire's activations, for its leaves. A workflow run keeps none: holding every
        # activation (and its trigger) to the end would only make the collector's passes slower.
        self.started: list[Activation] = []
        self._ticks = 0  # batches of completions so far, replayed ones included
        self._held: dict[int, Outcome] = {}  # journal outcomes of started activations, by seq
        self.sessions = Sessions(
            table, providers, index=self.index, input=input, ledger=self.ledger,
            clock=self.clock, record=self._record, observed=self.observed, outputs=self.outputs,
            errors=self.errors, seed=self.seed, recorder=recorder, replay=replay,
            toolbox=toolbox, keep_transcripts=keep_log,
        )  # fmt: skip
        self.executor = executor(self.sessions, self.clock)

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        self.clock.start()
        if self.flow is not None:
            events = [Event("UserInput", None, self.input)]
        else:
            events = [Event("SkillFired", self.skill, self.input)]
        for event in events:
            self._record("published", name=event.name, source=event.source)
        clock, executor = self.clock, self.executor
        settling: list[str] = []
        announce = self.index.listens("AgentActivated")
        stop = None
        try:
            while True:
                activations = step(self.index, self.state, events, clock.now)
                for agent in settling:
                    for skipped in settle(self.index, self.state, agent):
                        self._record("skipped", agent=skipped)
                settling = []
                if self.flow is None:
                    self.started += activations
                if activations and (self.recorder is not None or self.replay is not None):
                    self._record_started(activations)
                for activation in activations:
                    if self.observed:
                        self._record("activated", agent=activation.agent, unit=activation.unit,
                                     seq=activation.seq)  # fmt: skip
                    if self.replay is not None and self._replay(activation):
                        continue
                    executor.submit(activation)
                if activations and announce:
                    events = [Event("AgentActivated", a.agent) for a in activations]
                    continue  # delivered in the same tick, before anything completes
                if not executor.busy and not self._held:
                    break
                if self.replay is not None and self.replay.ticks:
                    batch = self._replayed()
                elif (ready := executor.ready()) is not None:
                    batch = ready
                else:
                    found = await executor.next_batch(self._remaining())
                    if found is None:
                        stop = "timeout"
                        break
                    batch = found
                events = self._complete(batch, settling)
                self._ticks += 1
                if batch[0].replayed:
                    self._check_snapshot()
                elif self.recorder is not None:
                    self.recorder.tick(clock.now, [_recorded(o) for o in batch])
                    if self._ticks % SNAPSHOT_EVERY == 0:
                        self.recorder.snapshot(self._ticks, snapshot(self.state))
        finally:
            executor.cancel()
        result = self._result(stop)
        if self.recorder is not None:
            await self._record_stop(result)
        return result

    async def _record_stop(self, result: RunResult) -> None:
        """The journal's `stopped` record and its fsync, in a worker thread: an fsync takes
        milliseconds that a process running many runs at once (`axoc serve`) must not spend on
        its event loop. Begun, it is finished even if the run is cancelled meanwhile — the run
        has ended — and the run returns its result."""
        assert self.recorder is not None
        outputs = [agent for agent, _ in result.outputs]
        writing = asyncio.ensure_future(
            asyncio.to_thread(self.recorder.stopped, result.stop_reason, outputs)
        )
        while not writing.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(writing)
        writing.result()  # a write that failed raises, as it did on the loop

    # --- replay ---------------------------------------------------------------------------------

    def _replay(self, activation: Activation) -> bool:
        """An activation whose outcome the journal records is not run: the outcome is held
        for its tick (replayed: nothing is journaled again), charged once."""
        assert self.replay is not None
        seq, name = activation.seq, activation.agent
        recorded = self.replay.outcomes.pop(seq, None)
        if recorded is None:
            return False
        if recorded.agent != name:
            raise ReplayMismatch(
                f"activation {seq} is '{name}' now, '{recorded.agent}' in the journal"
            )
        self.replay.replayed(seq, name)
        if recorded.usage is not None:
            self.ledger.charge(name, seq, recorded.usage)
        self._held[seq] = Outcome(
            activation, recorded.text, recorded.error, recorded.refused, recorded.usage, True,
            recorded.emitted,
        )  # fmt: skip
        return True

    def _replayed(self) -> list[Outcome]:
        """The next recorded tick: its outcomes, at its kernel time."""
        assert self.replay is not None
        now, batch = self.replay.ticks.popleft()
        wanted = sorted(recorded.seq for recorded in batch)
        missing = [seq for seq in wanted if seq not in self._held]
        if missing:
            raise ReplayMismatch(
                f"the journal records activations {missing}; the run did not start them"
            )
        self.clock.resume_at(now)
        return [self._held.pop(seq) for seq in wanted]

    def _check_snapshot(self) -> None:
        """After a replayed batch: the lattice must be the one the journal's snapshot shows."""
        assert self.replay is not None
        recorded = self.replay.snapshots.get(self._ticks)
        if recorded is None:
            return
        now = json.loads(json.dumps(snapshot(self.state)))  # as the journal holds it
        if now != recorded:
            what = next(k for k in now if now[k] != recorded.get(k))
            raise ReplayMismatch(
                f"after batch {self._ticks} the lattice's {what} differ from the journal's "
                "snapshot: the run cannot be replayed"
            )

    def _record_started(self, activations: list[Activation]) -> None:
        """Journal the activations about to start — those a replayed journal does not hold
        already, which must be the very ones it recorded."""
        new = activations
        if self.replay is not None and self.replay.started:
            for activation in activations:
                recorded = self.replay.started.get(activation.seq)
                if recorded is not None and recorded != activation.agent:
                    raise ReplayMismatch(
                        f"activation {activation.seq} is '{activation.agent}' now, "
                        f"'{recorded}' in the journal"
                    )
            new = [a for a in activations if a.seq not in self.replay.started]
        if new and self.recorder is not None:
            self.recorder.started(self.clock.now, [(a.seq, a.agent) for a in new])

    def _remaining(self) -> float | None:
        if self.flow is None or self.flow.timeout is None:
            return None
        return max(0.0, self.flow.timeout - self.clock.elapsed())

    # --- delivering a tick ----------------------------------------------------------------------

    def _complete(self, batch: list[Outcome], settling: list[str]) -> list[Event]:
        """Apply a tick's completions, in order; the events they publish: for each, the events
        it emitted, then TaskCompleted (and its skill's emits) or AgentFailed."""
        status, outputs = self.state.status, self.outputs
        events = []
        for outcome in batch:
            activation = outcome.activation
            agent = activation.agent
            if outcome.emitted:
                for name, payload in outcome.emitted:
                    events.append(Event(name, agent, payload))
                    self._record("published", name=name, source=agent)
            text = outcome.text
            if text is not None:
                status[agent] = DONE
                outputs[agent] = text
                if self.observed:
                    self._record("completed", agent=agent, seq=activation.seq)
                # every field, built in C: one per activation (see session.outcome_of)
                events.append(tuple.__new__(Event, ("TaskCompleted", agent, text)))
                if activation.skill is not None:
                    for name in self._skills[activation.skill].emits:
                        events.append(Event(name, agent, text))
                        self._record("published", name=name, source=agent)
                continue
            error = outcome.error or "failed"
            status[agent] = Status.FAILED
            self.errors[agent] = error
            self.refusals += outcome.refused
            self._record("failed", agent=agent, seq=activation.seq, error=error)
            settling.append(agent)
            events.append(Event("AgentFailed", agent, error))
        return events

    # --- results ------------------------------------------------------------------------------

    def _record(self, kind: str, **fields: Any) -> None:
        """One record of the event log: `t` is when it happened, in seconds since the run
        started (with the logical clock, the kernel time)."""
        if not self.observed:
            return
        record = {"t": round(self.clock.stamp(), 6), "event": kind, **fields}
        if self.keep_log:
            self.log.append(record)
        if self.listener is not None:
            self.listener(record)

    def outputs_so_far(self) -> list[tuple[str, str]]:
        """The sinks' outputs finished so far, in topological order: what an interrupted run
        can show."""
        sinks = self.flow.sinks if self.flow else self._leaves()
        return [(a, self.outputs[a]) for a in sinks if a in self.outputs]

    def elapsed(self) -> float:
        """Seconds since the run started (its recorded time, when resumed); 0 before."""
        return self.clock.elapsed()

    def _result(self, stop: str | None) -> RunResult:
        status = self.state.status
        for agent in sorted(self.index.members.difference(status)):  # still waiting
            status[agent] = Status.SKIPPED
        sinks = self.flow.sinks if self.flow else self._leaves()
        outputs = [(a, self.outputs[a]) for a in sinks if a in self.outputs]
        if stop is None:
            stop = self._stop_reason(sinks)
        self._record("stopped", reason=stop)
        return RunResult(
            stop_reason=stop,
            outputs=outputs,
            status=status,  # a Status is a str already
            ledger=self.ledger,
            activations=self.state.activations,
            elapsed=self.clock.elapsed(),
            errors=dict(self.errors),
            log=self.log,
            transcripts=self.sessions.transcripts or {},
        )

    def _leaves(self) -> tuple[str, ...]:
        """For a skill fire: the agents whose completion triggered nothing further, in order."""
        causes = {a.trigger.source for a in self.started}
        ordered = dict.fromkeys(a.agent for a in self.started)
        return tuple(a for a in ordered if a not in causes and a in self.outputs)

    def _stop_reason(self, sinks: tuple[str, ...]) -> str:
        """`completed` when every sink is done — or, in a run where nothing failed, every sink
        that could run: one whose inputs can never arrive (an agent it waits for never runs in
        the workflow, which `axoc check` reports) is listed as never run, not a failure."""
        if self.state.capped:
            return "max_activations"
        status = self.state.status
        done = [s for s in sinks if status.get(s) is Status.DONE]
        if len(done) == len(sinks) and (sinks or not self.errors):
            return "completed"
        if done and not self.errors and not self.refusals:
            return "completed"
        return "budget_exhausted" if self.refusals else "failed"


def _recorded(outcome: Outcome) -> Recorded:
    a = outcome.activation
    return Recorded(
        a.seq, a.agent, outcome.text, outcome.error, outcome.refused, outcome.usage,
        outcome.emitted,
    )  # fmt: skip
