"""The runs of one `axoc serve` process: started, resumed, watched, cancelled.

In: the state directory and the config the daemon holds; per run, its target and input (a new
run) or its id (an interrupted one, resumed). Out: `LiveRun`s — each run's status and its event
records (the same records `axoc run --json` prints, from the `run` record to the `output`
record), which any number of readers follow as they come (`LiveRun.follow`).

Guarantees:
- Compiling a run's target and creating its record happen in a worker thread, never on the
  event loop; a refusal (`RunRefused`, `runs.RunsError`) comes back to the caller before any
  record exists, exactly as `axoc run` refuses.
- At most `max_runs` runs execute at once; the others wait, `queued`, in the order they came.
- A run ends in one of three ways: its stop reason recorded by the kernel (completed, failed,
  budget_exhausted, ...); `cancelled` (`cancel`), recorded in its journal, so it is never
  resumed; or `interrupted` when the daemon stops (its journal has no `stopped` record, so the
  next daemon on this state directory resumes it, as `axoc run --resume` would). However it
  ends, its journal, checkpoints, lock and providers are closed.
- Memory per run is bounded: at most `MAX_EVENTS` records are kept (a reader that falls
  further behind gets a `gap` record saying how many it missed), and at most `MAX_FINISHED`
  finished runs are kept in memory; what is older is read from the journals (`axoc.runs`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axoc.fingerprint import Reads
from axoc.kernel.checkpoint import Checkpointer, CheckpointError
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.durable import ReplayMismatch
from axoc.kernel.ports import Provider
from axoc.memory.consolidation import Claim, Pass
from axoc.memory.core import MemoryFileError
from axoc.runnable import Runnable, RunRefused, Target, live_agents, prepare
from axoc.runtime import startup
from axoc.runtime.consolidating import conclude, open_pass
from axoc.runtime.execution import make_driver, start_tools
from axoc.runtime.outcome import EXIT_INTERRUPTED, EXIT_USAGE
from axoc.runtime.providers import providers
from axoc.serve import log
from axoc.serve.lattice import board

MAX_EVENTS = 20_000
MAX_FINISHED = 1_000
CANCELLED = "cancelled"
EXIT_CANCELLED = 130  # as an interrupted run's: the run did not reach its end


@dataclass
class LiveRun:
    """One run of this process and what it has said so far."""

    run_id: str
    target: str
    status: str = "queued"  # queued, running, then a stop reason, cancelled or interrupted
    exit_code: int | None = None
    events: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=MAX_EVENTS)
    )
    total: int = 0  # records ever added (the first kept is number total - len(events))
    task: asyncio.Task[None] | None = None
    cancel_asked: bool = False
    driver: Driver | None = None  # while it runs: its state is the dashboard's board
    final: dict[str, Any] | None = None  # the board when it ended (the driver is let go)
    tokens: dict[str, int] = field(default_factory=dict)  # per agent, from `usage` records
    agents: frozenset[str] = frozenset()  # the agents it may activate (`runnable.live_agents`)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def done(self) -> bool:
        return self.exit_code is not None

    def add(self, record: dict[str, Any]) -> None:
        """A record for the readers (the kernel's listener, and the manager's own records)."""
        self.events.append(record)
        self.total += 1
        if record["event"] == "usage":
            agent = record["agent"]
            self.tokens[agent] = self.tokens.get(agent, 0) + record["input"] + record["output"]
        self._wake()

    async def changed(self) -> None:
        """Returns at the next record, or at once when the run has ended."""
        if not self.done:
            await self._changed.wait()

    def finish(self, status: str, exit_code: int) -> None:
        self.status, self.exit_code = status, exit_code
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self, start: int = 0) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """(number, record) of every record from number `start` on, as they come, until the
        run has ended and every record was given; a `gap` record where some were dropped."""
        position = start
        while True:
            first = self.total - len(self.events)
            if position < first:
                yield first - 1, {"event": "gap", "missed": first - position}
                position = first
            while position < self.total:
                yield position, self.events[position - first]
                position += 1
                first = self.total - len(self.events)
                if position < first:
                    break
            if position >= self.total and self.done:
                return
            if position >= self.total:
                await self._changed.wait()


class Generation:
    """One compiled version of the daemon's config: each target compiled once, on first use,
    and the providers its runs share (so a provider's limits hold across runs)."""

    def __init__(self, config: str, number: int) -> None:
        self.config = config
        self.number = number
        self._compiled: dict[tuple[Target, bool], tuple[Runnable, Reads]] = {}
        self.providers: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def compiled(self, wanted: Target, dry_run: bool) -> tuple[Runnable, Reads]:
        """`wanted` compiled, and its providers built into `providers` — once, under a lock:
        runs are opened in worker threads, and two threads building one provider each would
        give it two sets of limits."""
        key = (wanted, dry_run)
        with self._lock:
            found = self._compiled.get(key)
            if found is None:
                reads = Reads(os.environ)
                loaded = prepare(self.config, wanted, dry_run, reads)
                providers(loaded, dry_run, self.providers)
                found = self._compiled[key] = loaded, reads
        return found


class RunManager:
    """The runs of one daemon: at most `max_runs` execute at once."""

    def __init__(self, root: Path, config: str, max_runs: int) -> None:
        self.root = root
        self.config = config
        self.max_runs = max_runs
        self.generation = Generation(config, 1)
        self.retired: list[Generation] = []  # replaced by a reload; their providers still open
        self.runs: dict[str, LiveRun] = {}
        self.listeners: list[Callable[[LiveRun, dict[str, Any]], None]] = []
        self._slots = asyncio.Semaphore(max_runs)
        self._finished: collections.deque[str] = collections.deque()

    def reload(self) -> None:
        """The config is compiled anew for runs started from now on; runs going on keep theirs."""
        self.retired.append(self.generation)
        self.generation = Generation(self.config, self.generation.number + 1)

    async def submit(self, wanted: Target, text: str, dry_run: bool) -> LiveRun:
        """A new run, recorded and queued; `RunRefused` or `runs.RunsError` when it cannot
        start (nothing was recorded then)."""
        generation = self.generation
        loaded, started, built = await asyncio.to_thread(
            self._open, generation, wanted, text, dry_run
        )
        return self._launch(loaded, started, built, resumed=False)

    async def submit_pass(self, chosen: Pass, claim: Claim, dry_run: bool) -> LiveRun:
        """A consolidation pass (`axoc.memory.consolidation`), recorded and queued like any run;
        when its run ends, its edits are applied and a `consolidation` record (the pass's
        report) goes to its readers before the `output` record; `claim` is let go of when the
        run ends, however it ends (the caller's, when it does not start)."""
        generation = self.generation
        loaded, started, built = await asyncio.to_thread(
            open_pass, self.root, self.config, chosen, Reads(os.environ), dry_run,
            generation.providers,
        )  # fmt: skip

        def then(result: RunResult) -> dict[str, Any]:
            try:
                report = conclude(self.root, chosen, started, result, dry_run)
            except MemoryFileError as exc:  # the record of passes cannot be written
                log.say(f"run {started.run_id}: consolidation not recorded: {exc}")
                return {"event": "consolidation", "agent": chosen.agent.id,
                        "status": "not_recorded", "error": str(exc)}  # fmt: skip
            return {"event": "consolidation", **report.as_dict()}

        live = self._launch(loaded, started, built, resumed=False, then=then)
        assert live.task is not None
        live.task.add_done_callback(lambda _: claim.release())
        return live

    def busy(self, agent: str) -> bool:
        """Whether a run of this daemon that has not ended may activate `agent`."""
        return any(agent in r.agents for r in self.runs.values() if not r.done)

    def _open(
        self, generation: Generation, wanted: Target, text: str, dry_run: bool
    ) -> tuple[Runnable, startup.Started, dict[str, Provider]]:
        loaded, reads = generation.compiled(wanted, dry_run)
        return startup.open_run(
            self.root, self.config, loaded, reads, text, dry_run, origin="serve",
            pool=generation.providers,
        )  # fmt: skip

    async def resume(self, run_id: str, dry_run: bool) -> LiveRun:
        """An interrupted run of this daemon, reopened and queued; refused as `axoc run
        --resume` refuses (its config changed, its record is unreadable, it is live)."""
        loaded, started, built = await asyncio.to_thread(
            startup.resume, self.root, run_id, self.config, dry_run, False, None,
            self.generation.providers,
        )  # fmt: skip
        return self._launch(loaded, started, built, resumed=True)

    def _launch(
        self, loaded: Runnable, started: startup.Started, built: dict[str, Provider],
        *, resumed: bool, then: Callable[[RunResult], dict[str, Any]] | None = None,
    ) -> LiveRun:  # fmt: skip
        live = LiveRun(started.run_id, loaded.target.name)
        live.agents = frozenset(live_agents(loaded.table, loaded.target))
        self.runs[live.run_id] = live
        live.task = asyncio.create_task(self._drive(live, loaded, started, built, resumed, then))
        return live

    def cancel(self, live: LiveRun) -> None:
        if live.task is not None and not live.done:
            live.cancel_asked = True
            live.task.cancel()

    async def stop(self) -> None:
        """Every run still going is interrupted (left resumable) and closed; then every
        generation's providers."""
        tasks = [r.task for r in self.runs.values() if r.task is not None and not r.done]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for generation in (*self.retired, self.generation):
            for provider in {id(p): p for p in generation.providers.values()}.values():
                with contextlib.suppress(Exception):  # one that fails to close loses nothing
                    await provider.aclose()

    def live_count(self) -> int:
        return sum(1 for r in self.runs.values() if not r.done)

    async def _drive(
        self, live: LiveRun, loaded: Runnable, started: startup.Started,
        built: dict[str, Provider], resumed: bool,
        then: Callable[[RunResult], dict[str, Any]] | None,
    ) -> None:  # fmt: skip
        checkpointer = Checkpointer(started.store)
        driver: Driver | None = None
        try:
            async with self._slots:
                live.status = "running"
                driver = make_driver(loaded.table, built, started, self._listener(live),
                                     checkpointer)  # fmt: skip
                live.driver = driver
                live.add({"t": 0.0, "event": "run", "run_id": live.run_id,
                          "target": live.target, "resumed": resumed})  # fmt: skip
                if started.toolbox is not None:  # MCP servers start with the run
                    await start_tools(started.toolbox, started)
                result = await driver.run()
            if then is not None:  # blocks' files are locked and written: off the loop
                live.add(await asyncio.to_thread(then, result))
            live.add({"event": "output", "run_id": live.run_id, "stop_reason": result.stop_reason,
                      "exit_code": result.exit_code, "outputs": dict(result.outputs)})  # fmt: skip
            live.finish(result.stop_reason, result.exit_code)
        except asyncio.CancelledError:
            self._stopped(live, started, driver)
        except RunRefused as refused:  # an MCP server that does not start, a changed tool
            live.add({"event": "error", "code": refused.code, "message": str(refused)})
            live.finish("refused", EXIT_USAGE)
            log.say(f"run {live.run_id}: refused: {refused}")
        except (ReplayMismatch, CheckpointError, OSError) as exc:
            why = str(exc) if not isinstance(exc, OSError) else exc.strerror or str(exc)
            message = f"stopped, the run could not go on: {why}; what was recorded is kept"
            live.add({"event": "error", "code": "state", "message": message})
            live.finish("interrupted", EXIT_INTERRUPTED)
            log.say(f"run {live.run_id}: {message}")
        finally:
            if started.toolbox is not None:
                await started.toolbox.aclose()
            _close(started, checkpointer)
            if live.driver is not None:
                live.final = board(live.driver.state, live.tokens)
                live.driver = None
            self._forget_old(live)

    def board(self, live: LiveRun) -> dict[str, Any] | None:
        """The run's live numbers (`axoc.serve.lattice.board`); None before it starts."""
        if live.driver is not None:
            return board(live.driver.state, live.tokens)
        return live.final

    def _listener(self, live: LiveRun) -> Callable[[dict[str, Any]], None]:
        def heard(record: dict[str, Any]) -> None:
            live.add(record)
            for listener in self.listeners:
                listener(live, record)

        return heard

    def _stopped(self, live: LiveRun, started: startup.Started, driver: Driver | None) -> None:
        outputs = dict(driver.outputs_so_far()) if driver is not None else {}
        elapsed = round(driver.elapsed(), 6) if driver is not None else 0.0
        if live.cancel_asked:
            with contextlib.suppress(OSError):
                started.writer.append("stopped", reason=CANCELLED, outputs=[])
                started.writer.commit()
            status, code = CANCELLED, EXIT_CANCELLED
        else:
            status, code = "interrupted", EXIT_INTERRUPTED
        live.add({"t": elapsed, "event": "stopped", "reason": status})
        live.add({"event": "output", "run_id": live.run_id, "stop_reason": status,
                  "exit_code": code, "outputs": outputs})  # fmt: skip
        live.finish(status, code)

    def _forget_old(self, live: LiveRun) -> None:
        self._finished.append(live.run_id)
        while len(self._finished) > MAX_FINISHED:
            self.runs.pop(self._finished.popleft(), None)


def _close(started: startup.Started, checkpointer: Checkpointer) -> None:
    """A run's records and lock; its providers are its generation's, closed with the daemon."""
    for step in (checkpointer.close, started.writer.close, started.lock.release):
        with contextlib.suppress(OSError):
            step()
    if started.memory is not None:  # its memories stored, its semantic indexes saved
        for warning in started.memory.close():
            log.warn(f"run {started.run_id}: {warning}")
