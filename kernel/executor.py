"""The executor port: where the scheduler's activations run, and how their outcomes come back.

In: activations the scheduler `submit`s, and outcomes known without running anything (`done`:
one restored on resume). Out: `next_batch()`, the outcomes of the next tick, in activation
order — or None when the run's deadline passed first. The scheduler never runs a session
itself; an executor that runs sessions elsewhere (other processes, other machines) implements
the same three calls.

`AsyncioExecutor`, the only implementation, runs each session as a task of the running event
loop. With a logical clock an activation completes at the tick the clock gives it
(`Clock.finish`), so a batch is exactly what completes at the next tick, whatever the tasks'
real durations; with the wall clock a batch is what has finished when the scheduler asks.

Hot spot (the one in this module): an agent whose provider answers without I/O (echo, an
`InstantProvider`) and that is offered no tools is answered inside `submit` — no task, no
reservation (nothing runs between its budget check and its answer) and, on the wall clock, no
heap: its outcomes wait in a list already in activation order and make the next batch without
an await. It goes through the sessions' `prepare` and `answered`, so its records, outputs, usage
and errors are those of any provider; one that has to wait for budget runs as a task.

Standard library only.
"""

from __future__ import annotations

import asyncio
import heapq
from typing import Protocol

from axoc.kernel.clock import Clock
from axoc.kernel.core import Activation
from axoc.kernel.ports import BudgetRefused
from axoc.kernel.session import Outcome, Session, Sessions, outcome_of


class Executor(Protocol):
    def submit(self, activation: Activation) -> None:
        """Start the activation's session."""

    def done(self, outcome: Outcome) -> None:
        """An outcome known already: delivered like a session's, at the next tick."""

    @property
    def busy(self) -> bool:
        """Something submitted has not been delivered yet."""

    def ready(self) -> list[Outcome] | None:
        """The next tick's outcomes when they are known without waiting (else None): lets
        the scheduler deliver them without an await. Called only while `busy`."""

    async def next_batch(self, timeout: float | None) -> list[Outcome] | None:
        """The outcomes of the next tick, in activation order; None when `timeout` seconds
        passed first. Called only while `busy`, when `ready` gave None."""

    def cancel(self) -> None:
        """The run ends: cancel every session still running."""


class AsyncioExecutor:
    def __init__(self, sessions: Sessions, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        # Invariant: every submitted activation not yet delivered is in `pending`, keyed by the
        # tick it completes at (`Clock.finish`) and its sequence: a task, or an outcome already;
        # or, with the wall clock, in `answered` if it is an outcome already, in sequence order.
        self.pending: list[tuple[float, int, asyncio.Task[Outcome] | Outcome]] = []
        self.answered: list[Outcome] = []

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.answered)

    def submit(self, activation: Activation) -> None:
        sessions = self.sessions
        if sessions.replay is not None:  # resuming: a checkpointed turn may be where it is
            restored = sessions.restore(activation)
            if isinstance(restored, Outcome):
                self.done(restored)
                return
            if restored is not None:
                self._queue(activation, asyncio.create_task(restored.run()))
                return
        agent = sessions.agents[activation.agent]
        instant = sessions.instant(agent)
        if (
            instant is not None
            and (not agent.tools or not sessions.offered(agent))
            and not sessions.remembers(agent)
        ):
            # The hot spot (see the module's docstring): answered here and now.
            messages = sessions.messages(agent, activation)
            prepared = sessions.prepare(activation, agent, messages, reserve=False)
            if isinstance(prepared, BudgetRefused):
                self.done(Outcome(activation, error=str(prepared), refused=True))
                return
            if prepared is not None:
                request, grant = prepared
                response = instant(request)
                usage = sessions.answered(activation, grant, response)
                self.done(outcome_of(activation, response.text, usage))
                return
            # calls in flight hold the budget it needs: it waits, as a task
        session = Session(sessions, activation)
        self._queue(activation, asyncio.create_task(session.run()))

    def done(self, outcome: Outcome) -> None:
        if not self.clock.logical:
            self.answered.append(outcome)  # no heap: the wall clock takes it next batch
            return
        self._queue(outcome.activation, outcome)

    def _queue(self, activation: Activation, item: asyncio.Task[Outcome] | Outcome) -> None:
        heapq.heappush(self.pending, (self.clock.finish(activation.agent), activation.seq, item))

    def ready(self) -> list[Outcome] | None:
        if self.pending:
            return None
        # all answered already (instant providers, wall clock): nothing to await
        batch, self.answered = self.answered, []
        self.clock.tick()
        return batch

    async def next_batch(self, timeout: float | None) -> list[Outcome] | None:
        pending, answered, clock = self.pending, self.answered, self.clock
        if not pending:
            return self.ready()
        if clock.logical:
            finish = pending[0][0]
            items = []
            while pending and pending[0][0] == finish:
                items.append(heapq.heappop(pending)[2])
            try:
                outcomes = await asyncio.wait_for(_gather(items), timeout)
            except TimeoutError:
                return None
            clock.tick_to(finish)
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
        clock.tick()
        outcomes = answered + [task.result() for task in taken]
        answered.clear()
        return sorted(outcomes, key=_sequence)

    def cancel(self) -> None:
        for _, _, item in self.pending:
            if isinstance(item, asyncio.Task):
                item.cancel()


async def _gather(items: list[asyncio.Task[Outcome] | Outcome]) -> list[Outcome]:
    return [item if isinstance(item, Outcome) else await item for item in items]


def _sequence(outcome: Outcome) -> int:
    return outcome.activation.seq
