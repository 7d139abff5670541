"""The driver: the imperative shell that runs one workflow (or one skill fire) over the core.

In: a `SignalTable`, providers by name, the run's input, and a clock mode. Out: a `RunResult`
(stop reason, exit code, the sinks' outputs in topological order, per-agent status and token
usage) and, through `listener`, one record per thing that happened (the event log).

Activations run concurrently (LLM calls are I/O); their completions come back as TaskCompleted /
AgentFailed events (and a skill's `emits`) at tick boundaries, ordered by activation sequence.
With `logical=True`, kernel time is a tick counter and an activation of agent `a` takes
`durations.get(a, 1)` ticks, so the same inputs give the same event log byte for byte. Budgets
are checked before every call (`axoc.kernel.budget`); a call that fits only once calls in flight
settle what they reserved waits for the next settle and is decided again. The run ends at
quiescence: nothing running and nothing left to publish.

An instant provider (one with `complete_now`, such as echo) is answered inside `_start`, with no
task, no reservation and, on the wall clock, no heap: its outcomes wait in a list already in
activation order and make the next batch without an await. It goes through the general path's
`_prepare` and `_answered`, so its records, outputs, usage and errors are those of any provider.
The value tuples built for every activation (Activation, Message, Grant, Request, Outcome,
Event) are built with `tuple.__new__(Cls, (every field, in order))`: the same NamedTuple, made
in C, at half the cost of calling the class, which runs a Python-level `__new__` (about 8% of a
whole run). Elsewhere they are built the usual way.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import os
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from axoc.kernel.budget import Grant, Ledger
from axoc.kernel.checkpoint import Checkpoint
from axoc.kernel.core import DONE, Activation, Event, RunState, Status, settle, snapshot, step
from axoc.kernel.durable import Recorded, Recorder, Replay, ReplayMismatch, turn_checkpoint
from axoc.kernel.index import RunIndex
from axoc.kernel.ports import (
    BudgetRefused,
    Message,
    Provider,
    ProviderError,
    RateLimited,
    Request,
    Response,
    TransientProviderError,
    Usage,
)
from axoc.kernel.table import AgentSpec, ProactiveSpec, SignalTable, SkillSpec
from axoc.kernel.usage import impossible

EXIT_CODES = {
    "completed": 0,
    "failed": 1,
    "budget_exhausted": 4,
    "max_activations": 5,
    "timeout": 6,
    "interrupted": 130,
}
DEFAULT_CALL_TIMEOUT = 300.0  # seconds an activation may take, when the agent sets none
Listener = Callable[[dict[str, Any]], None]


class Outcome(NamedTuple):  # immutable; a tuple is cheaper to build than a dataclass
    activation: Activation
    text: str | None = None
    error: str | None = None
    refused: bool = False  # failed because a budget refused the call
    usage: Usage | None = None
    replayed: bool = False  # taken from the journal of an interrupted run: nothing was called


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

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.stop_reason]


class Driver:
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
    ) -> None:
        """`index`: the table's `RunIndex` for this workflow, when the caller runs it several
        times — immutable, so runs share it as a compiled graph is shared; built here if None.
        `seed`: the run's retry jitter (`random_seed()` if None); activation `seq` of a run
        waits the same between its attempts whenever the run is replayed with the same seed,
        and two runs with different seeds do not retry in lockstep."""
        if (workflow is None) == (skill is None):
            raise ValueError("a run starts from exactly one workflow or one skill")
        if index is not None and (index.table is not table or index.workflow != workflow):
            raise ValueError("the index was built for another table or workflow")
        self.table = table
        self.providers = providers
        self.flow = table.workflow(workflow) if workflow is not None else None
        self.skill = skill
        self.input = input
        self.logical = logical
        self.durations = durations or {}
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
        self.now = 0.0
        self.log: list[dict[str, Any]] = []
        self._agents: Mapping[str, AgentSpec] = table.by_id("agents")
        self._skills: Mapping[str, SkillSpec] = table.by_id("skills")
        self._proactive: Mapping[str, ProactiveSpec] = table.by_id("proactive")
        self._started = 0.0
        # A skill fire's activations, for its leaves. A workflow run keeps none: holding every
        # activation (and its trigger) to the end would only make the collector's passes slower.
        self.started: list[Activation] = []
        self._restarts: dict[str, deque[float]] = {}  # agent → times of recent restarts
        # Calls waiting for budget that calls in flight reserved, woken by the next settle.
        self._waiting: list[asyncio.Future[None]] = []
        self._ticks = 0  # batches of completions so far, replayed ones included
        # provider name → its `complete_now` when it answers without I/O (InstantProvider)
        self._instant: dict[str, Callable[[Request], Response] | None] = {
            name: getattr(provider, "complete_now", None) for name, provider in providers.items()
        }

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        self._started = time.monotonic()
        if self.flow is not None:
            events = [Event("UserInput", None, self.input)]
        else:
            events = [Event("SkillFired", self.skill, self.input)]
        for event in events:
            self._record("published", name=event.name, source=event.source)
        # Invariant: every started activation not yet completed is in `pending`, keyed by the
        # tick it completes at (logical clock) and its sequence: a task, or an instant outcome;
        # or, with the wall clock, in `answered` if it is an outcome already, in sequence order.
        pending: list[tuple[float, int, asyncio.Task[Outcome] | Outcome]] = []
        answered: list[Outcome] = []
        settling: list[str] = []
        announce = self.index.listens("AgentActivated")
        stop = None
        try:
            while True:
                activations = step(self.index, self.state, events, self.now)
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
                    started = self._start(activation)
                    if not self.logical and isinstance(started, Outcome):
                        answered.append(started)  # no heap: the wall clock takes it next batch
                        continue
                    finish = self.now + self.durations.get(activation.agent, 1)
                    heapq.heappush(pending, (finish, activation.seq, started))
                if activations and announce:
                    events = [Event("AgentActivated", a.agent) for a in activations]
                    continue  # delivered in the same tick, before anything completes
                if not pending and not answered:
                    break
                if pending or (self.replay is not None and self.replay.ticks):
                    batch = await self._next_batch(pending, answered)
                    if batch is None:
                        stop = "timeout"
                        break
                else:  # all answered already (instant providers): all of it, nothing to await
                    batch, answered = answered, []
                    self.now = time.monotonic() - self._started
                events = self._complete(batch, settling)
                self._ticks += 1
                if batch[0].replayed:
                    self._check_snapshot()
                elif self.recorder is not None:
                    self.recorder.tick(self.now, [_recorded(o) for o in batch])
                    if self._ticks % SNAPSHOT_EVERY == 0:
                        self.recorder.snapshot(self._ticks, snapshot(self.state))
        finally:
            for _, _, item in pending:
                if isinstance(item, asyncio.Task):
                    item.cancel()
        return self._result(stop)

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
            self.recorder.started(self.now, [(a.seq, a.agent) for a in new])

    def _start(self, activation: Activation) -> asyncio.Task[Outcome] | Outcome:
        """A recorded outcome is replayed; an answer checkpointed before a crash is taken; an
        instant provider answers here and now; any other runs as a task."""
        if self.replay is not None:
            restored = self._restore(activation, self.replay)
            if restored is not None:
                return restored
        agent = self._agents[activation.agent]
        try:
            instant = self._instant[agent.provider]
        except KeyError:  # not listed by the mapping's items(): ask it, as `_execute` would
            provider = self.providers[agent.provider]
            instant = self._instant[agent.provider] = getattr(provider, "complete_now", None)
        if instant is None:
            return asyncio.create_task(self._execute(activation))
        # An instant provider answers here and now, with no task. Nothing is reserved: nothing
        # runs between the budget check and the answer. Not checkpointed: an in-process turn is
        # never in flight at a crash (the journal records it in this tick, before any I/O) and
        # redoing it costs nothing.
        prepared = self._prepare(activation, agent, reserve=False)
        if prepared is None:  # calls in flight hold the budget it needs: it waits, as a task
            return asyncio.create_task(self._execute(activation))
        if isinstance(prepared, Outcome):
            return prepared
        request, grant = prepared
        return self._answered(activation, grant, instant(request))

    def _restore(self, activation: Activation, replay: Replay) -> Outcome | None:
        """The outcome of an activation of the interrupted run: recorded in its journal
        (replayed: nothing is journaled again), or else checkpointed by its agent — an answer
        the journal lost or never got, journaled with this batch. Each is charged once."""
        seq, name = activation.seq, activation.agent
        recorded = replay.outcomes.pop(seq, None)
        if recorded is not None:
            if recorded.agent != name:
                raise ReplayMismatch(
                    f"activation {seq} is '{name}' now, '{recorded.agent}' in the journal"
                )
            replay.replayed(seq, name)
            if recorded.usage is not None:
                self.ledger.charge(name, seq, recorded.usage)
            return Outcome(
                activation, recorded.text, recorded.error, recorded.refused, recorded.usage, True
            )
        if not replay.may_have(name):
            return None
        found = replay.checkpointed(seq, name, self._messages(self._agents[name], activation))
        if found is None or found.usage is None:
            return None
        self.ledger.charge(name, seq, found.usage)
        if self.observed:
            self._record("usage", agent=name, seq=seq, input=found.usage.input_tokens,
                         output=found.usage.output_tokens)  # fmt: skip
        return Outcome(activation, found.text, usage=found.usage)

    async def _next_batch(
        self,
        pending: list[tuple[float, int, asyncio.Task[Outcome] | Outcome]],
        answered: list[Outcome],
    ) -> list[Outcome] | None:
        """The completions of the next tick, in activation order; None when the run timed out.
        Called when something is still running or a recorded tick is to be replayed."""
        if self.replay is not None and self.replay.ticks:
            return self._replayed(pending, answered)
        timeout = self._remaining()
        if self.logical:
            finish = pending[0][0]
            items = []
            while pending and pending[0][0] == finish:
                items.append(heapq.heappop(pending)[2])
            try:
                outcomes = await asyncio.wait_for(self._gather(items), timeout)
            except TimeoutError:
                return None
            self.now = finish
            return sorted(outcomes, key=_sequence)
        tasks = [item for _, _, item in pending if isinstance(item, asyncio.Task)]
        if answered:  # answered already: take them, with whatever tasks have finished meanwhile
            taken = [task for task in tasks if task.done()]
        else:
            done, _ = await asyncio.wait(
                tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                return None
            taken = list(done)
        consumed = {id(task) for task in taken}
        pending[:] = [entry for entry in pending if id(entry[2]) not in consumed]
        heapq.heapify(pending)
        self.now = time.monotonic() - self._started
        outcomes = answered + [task.result() for task in taken]
        answered.clear()
        return sorted(outcomes, key=_sequence)

    def _replayed(
        self,
        pending: list[tuple[float, int, asyncio.Task[Outcome] | Outcome]],
        answered: list[Outcome],
    ) -> list[Outcome]:
        """The next recorded tick: its outcomes, at its kernel time."""
        assert self.replay is not None
        now, batch = self.replay.ticks.popleft()
        wanted = {recorded.seq for recorded in batch}
        taken = {
            entry[1]: entry[2]
            for entry in pending
            if entry[1] in wanted and isinstance(entry[2], Outcome) and entry[2].replayed
        }
        taken.update(
            (outcome.activation.seq, outcome)
            for outcome in answered
            if outcome.activation.seq in wanted and outcome.replayed
        )
        if len(taken) != len(wanted):
            missing = sorted(wanted - set(taken))
            raise ReplayMismatch(
                f"the journal records activations {missing}; the run did not start them"
            )
        pending[:] = [entry for entry in pending if entry[1] not in wanted]
        heapq.heapify(pending)
        answered[:] = [outcome for outcome in answered if outcome.activation.seq not in wanted]
        self.now = now
        self._started = time.monotonic() - now  # wall time continues from the recorded time
        return [taken[seq] for seq in sorted(taken)]

    @staticmethod
    async def _gather(items: list[asyncio.Task[Outcome] | Outcome]) -> list[Outcome]:
        return [item if isinstance(item, Outcome) else await item for item in items]

    def _remaining(self) -> float | None:
        if self.flow is None or self.flow.timeout is None:
            return None
        return max(0.0, self.flow.timeout - (time.monotonic() - self._started))

    def _complete(self, batch: list[Outcome], settling: list[str]) -> list[Event]:
        """Apply a tick's completions, in order; the events they publish."""
        status, outputs = self.state.status, self.outputs
        events = []
        for outcome in batch:
            activation = outcome.activation
            agent = activation.agent
            text = outcome.text
            if text is not None:
                status[agent] = DONE
                outputs[agent] = text
                if self.observed:
                    self._record("completed", agent=agent, seq=activation.seq)
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

    # --- one activation -----------------------------------------------------------------------

    def _prepare(
        self, activation: Activation, agent: AgentSpec, *, reserve: bool = True
    ) -> tuple[Request, Grant] | Outcome | None:
        """The request to send, with its budget grant; the refusal; or None when it must wait
        for calls in flight to settle the budget they reserved."""
        messages = self._messages(agent, activation)
        try:
            grant = self.ledger.authorize(agent, activation.seq, messages, reserve=reserve)
        except BudgetRefused as refused:
            return Outcome(activation, error=str(refused), refused=True)
        if grant is None:
            return None
        if grant.warning:
            self._record("budget_warning", agent=agent.id, message=grant.warning)
        return _request(agent, messages, grant), grant

    def _settle(self, grant: Grant, usage: Usage | None) -> None:
        """Settle a call's grant; what it reserved is free again: calls waiting for budget ask
        again, in the order they began to wait."""
        self.ledger.settle(grant, usage)
        if grant.reserved and self._waiting:
            waiting, self._waiting = self._waiting, []
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)

    async def _budget_settled(self, activation: Activation) -> float:
        """Wait until a call in flight settles its reservation; the seconds waited. (The
        ledger asks a call to wait only while something is reserved, so this ends.)"""
        began = time.monotonic()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self.observed:
            self._record("budget_wait", agent=activation.agent, seq=activation.seq)
        await waiter
        return time.monotonic() - began

    def _answered(self, activation: Activation, grant: Grant, response: Response) -> Outcome:
        usage = response.usage
        self._settle(grant, usage)
        if self.observed:
            self._record(
                "usage", agent=activation.agent, seq=activation.seq, input=usage.input_tokens,
                output=usage.output_tokens,
            )  # fmt: skip
        # every field, built in C: see the module's docstring
        return tuple.__new__(Outcome, (activation, response.text, None, False, usage, False))

    async def _execute(self, activation: Activation) -> Outcome:
        """One activation: a call, retried on transient errors (supervision, SPEC §5.1) with
        exponential backoff and jitter, honouring Retry-After, at most `max_restarts` retries;
        every attempt is a new call and passes the budget check again. Fatal errors fail at once.

        The agent's `timeout` bounds the whole activation, retries and their waits included (a
        per-call limit let `timeout: 1` run 12 s): each attempt is sent with the time left as its
        `Request.timeout` and abandoned when that runs out, a wait that would end past the
        deadline is not begun, and an activation whose deadline passed fails, unretried."""
        agent = self._agents[activation.agent]
        provider = self.providers[agent.provider]
        jitter = random.Random(f"{self.seed}/{activation.seq}")  # the run's, per activation
        timeout = agent.timeout or DEFAULT_CALL_TIMEOUT
        deadline = time.monotonic() + timeout
        calls = retries = 0  # calls sent; retries after transient errors (restarts not counted)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:  # after a restart
                return Outcome(activation, error=_timed_out(timeout, calls))
            prepared = self._prepare(activation, agent)
            if prepared is None:  # the budget it needs is reserved by calls in flight
                deadline += await self._budget_settled(activation)  # not its own time
                continue
            if isinstance(prepared, Outcome):
                return prepared
            request, grant = prepared
            request = request._replace(timeout=left)
            calls += 1
            try:
                response = await asyncio.wait_for(provider.complete(request), left)
            except (TimeoutError, TransientProviderError) as exc:
                self._settle(grant, None)
                left = deadline - time.monotonic()
                if isinstance(exc, TimeoutError) or left <= 0:
                    return Outcome(activation, error=_timed_out(timeout, calls))
                error = f"{type(exc).__name__}: {exc}"
                retries += 1
                if retries > agent.supervision.max_restarts:
                    return Outcome(activation, error=f"{error} (after {_attempts(calls)})")
                delay = _backoff(agent.supervision.backoff, retries, exc, jitter)
                if delay >= left:
                    why = f"no time left to retry within its {timeout:g} s timeout"
                    return Outcome(activation, error=f"{error} (after {_attempts(calls)}; {why})")
                self._record("retry", agent=agent.id, seq=activation.seq, attempt=retries,
                             delay=round(delay, 3), error=error)  # fmt: skip
                await asyncio.sleep(delay)
                continue
            except ProviderError as exc:
                self._settle(grant, None)
                return Outcome(activation, error=f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a provider bug: restart, within the restart intensity
                self._settle(grant, None)
                error = f"unexpected {type(exc).__name__} in provider: {exc}"
                if not self._may_restart(agent):
                    return Outcome(activation, error=error)
                self._record("restart", agent=agent.id, seq=activation.seq, error=error)
                continue
            problem = impossible(request, response.usage)
            if problem is not None:  # nothing charged: the count is no count (kernel.usage)
                self._settle(grant, None)
                why = f"InvalidResponse: provider '{agent.provider}': impossible usage: {problem}"
                return Outcome(activation, error=why)
            outcome = self._answered(activation, grant, response)
            written = self._checkpoint(activation, request, outcome)
            if written is not None:  # durable before the run acts on the answer
                await asyncio.wrap_future(written)
            return outcome

    def _checkpoint(
        self, activation: Activation, request: Request, outcome: Outcome
    ) -> Future[Checkpoint] | None:
        """Checkpoint the finished turn, when the run is recorded with checkpoints."""
        recorder = self.recorder
        if recorder is None or recorder.checkpointer is None:
            return None
        if outcome.text is None or outcome.usage is None:
            return None
        if self._instant.get(self._agents[activation.agent].provider) is not None:
            return None  # in-process (it waited for budget as a task): never in flight at a crash
        agent = activation.agent
        state = {"status": "done", "unit": activation.unit, "kind": activation.kind,
                 "trigger": activation.trigger.name}  # fmt: skip
        checkpoint = turn_checkpoint(
            recorder.run_id, activation.seq, agent, request.messages, outcome.text,
            outcome.usage, self.ledger.by_agent.get(agent, outcome.usage), state,
        )  # fmt: skip
        return recorder.checkpointer.submit(checkpoint)

    def _may_restart(self, agent: AgentSpec) -> bool:
        """Erlang/OTP restart intensity: at most `max_restarts` within `within` seconds."""
        now = time.monotonic()
        recent = self._restarts.setdefault(agent.id, deque())
        while recent and now - recent[0] > agent.supervision.within:
            recent.popleft()
        if len(recent) >= agent.supervision.max_restarts:
            return False
        recent.append(now)
        return True

    def _messages(self, agent: AgentSpec, activation: Activation) -> tuple[Message, ...]:
        kind = activation.kind
        if kind == "entry":
            prompt = self.input
        elif kind == "skill" and activation.skill is not None:
            prompt = self._skills[activation.skill].prompt
            prompt = f"{prompt}\n\n{activation.trigger.payload}".strip()
        elif kind == "proactive" and activation.proactive is not None:
            prompt = self._proactive[activation.proactive].input
            prompt = f"{prompt}\n\n{activation.trigger.payload}".strip()
        else:
            prompt = self._handoff(agent, activation)
        user = tuple.__new__(Message, ("user", prompt, (), None, None, False))
        if agent.system_prompt:
            return (
                tuple.__new__(Message, ("system", agent.system_prompt, (), None, None, False)),
                user,
            )
        return (user,)

    def _handoff(self, agent: AgentSpec, activation: Activation) -> str:
        """Axocoatl's hand-off: one line per finished dependency, then the original task."""
        # `depends_on` holds no id twice (SignalTable guarantees it); the sources of an activation
        # expression's routes may.
        deps = agent.depends_on or dict.fromkeys(
            r.source for r in self.index.routes_of.get(activation.unit, ()) if r.source
        )
        outputs = self.outputs
        lines = ["Previous agent outputs:"]
        for dep in deps:
            output = outputs.get(dep)
            if output is not None:
                lines.append(f"[{dep}]: {output}")
            elif dep in self.errors:
                lines.append(f"[{dep}]: (failed: {self.errors[dep]})")
        lines.append(f"\nOriginal task: {self.input}")
        return "\n".join(lines)

    # --- results ------------------------------------------------------------------------------

    def _record(self, kind: str, **fields: Any) -> None:
        """One record of the event log: `t` is when it happened, in seconds since the run
        started (with the logical clock, the kernel time)."""
        if not self.observed:
            return
        now = self.now if self.logical else time.monotonic() - self._started
        record = {"t": round(now, 6), "event": kind, **fields}
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
        return time.monotonic() - self._started if self._started else 0.0

    def _result(self, stop: str | None) -> RunResult:
        status = self.state.status
        for agent in sorted(self.index.members.difference(status)):  # still waiting
            status[agent] = Status.SKIPPED
        sinks = self.flow.sinks if self.flow else self._leaves()
        outputs = [(a, self.outputs[a]) for a in sinks if a in self.outputs]
        if stop is None:
            stop = self._stop_reason(sinks)
        self._record("stopped", reason=stop)
        if self.recorder is not None:
            self.recorder.stopped(stop, [agent for agent, _ in outputs])
        return RunResult(
            stop_reason=stop,
            outputs=outputs,
            status=status,  # a Status is a str already
            ledger=self.ledger,
            activations=self.state.activations,
            elapsed=time.monotonic() - self._started,
            errors=dict(self.errors),
            log=self.log,
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


def _timed_out(timeout: float, calls: int) -> str:
    """The error of an activation whose deadline passed."""
    return f"timed out after {timeout:g} s ({_attempts(calls)})"


def _attempts(calls: int) -> str:
    return "1 attempt" if calls == 1 else f"{calls} attempts"


MAX_BACKOFF = 60.0  # seconds: the longest wait between two attempts, Retry-After included


def random_seed() -> int:
    """A seed for a run's retry jitter, from the operating system's randomness."""
    return int.from_bytes(os.urandom(8), "big")


def _backoff(base: float, attempt: int, error: Exception, jitter: random.Random) -> float:
    """`base · 2^(attempt-1)` scaled by a jitter in [0.5, 1.5), or the server's Retry-After."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(MAX_BACKOFF, max(0.0, error.retry_after))
    delay: float = base * 2 ** (attempt - 1) * jitter.uniform(0.5, 1.5)
    return min(MAX_BACKOFF, delay)


def _request(agent: AgentSpec, messages: tuple[Message, ...], grant: Grant) -> Request:
    sampling = agent.sampling
    return tuple.__new__(
        Request,
        (agent.id, agent.model, messages, grant.max_tokens, sampling.temperature, sampling.top_p,
         sampling.response_format, agent.timeout or DEFAULT_CALL_TIMEOUT, grant.estimate, ()),
    )  # fmt: skip


SNAPSHOT_EVERY = 64  # batches between two snapshots of the lattice in the journal


def _sequence(outcome: Outcome) -> int:
    return outcome.activation.seq


def _recorded(outcome: Outcome) -> Recorded:
    a = outcome.activation
    return Recorded(a.seq, a.agent, outcome.text, outcome.error, outcome.refused, outcome.usage)
