"""The daemon's hold on its state directory and config, and what it picks up when it starts.

In: the config path, the state directory, the most runs executed at once. Out: a `Daemon` —
its `RunManager`, `start()` (resume the runs a previous daemon on this state directory left in
flight) and `stop()` (interrupt what is running, leaving it resumable, and let go of the lock).

Guarantees:
- One daemon per state directory: `DaemonLock` holds an exclusive `flock` on
  `<state>/serve.lock` for the daemon's life; a second one is refused (`ServeRefused`) naming the
  process that holds it. The kernel lets go of a `flock` when its holder dies, `kill -9`
  included, so a crashed daemon never blocks the next one.
- A config that does not compile to anything runnable refuses the daemon at start, and a
  reload (`reload`: SIGHUP or `POST /reload`) to it is refused while the config in use goes on;
  errors that concern some targets only are reported once, and runs of those targets are
  refused when asked for (as `axoc run` refuses them), while every healthy target runs. Runs
  in flight finish on the plan they started with.
- Schedules (`axoc.serve.schedules`) fire on `clock` (wall-clock seconds; a test passes its
  own and calls `wake` after moving it); a fire that cannot start its run is logged, and the
  schedule waits for its next slot.
- Resumed at start: the runs this daemon's config started through `axoc serve` (their header
  says `origin: serve`) whose journal has no `stopped` record and no process holds — a daemon
  that was killed, or stopped while they ran. A run `axoc run` started is never taken over.
  A run that cannot be resumed (its config changed since it started, its record is
  unreadable) stays as it is, with a warning; `axoc run --resume` can still take it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Protocol

from axoc import runs, statedir
from axoc.config import Config, Consolidation
from axoc.kernel.journal import JournalError, read
from axoc.memory.consolidation import Claim, Pass, candidates, claim_pass
from axoc.memory.core import MemoryFileError
from axoc.runnable import RunRefused, Target
from axoc.serve import log
from axoc.serve.manager import RunManager
from axoc.serve.schedules import FILE, Timetable, fires

LOCK_NAME = "serve.lock"


class ServeRefused(Exception):
    """The daemon cannot start; the message says why."""


class DaemonLock:
    """The exclusive hold of one daemon on a state directory."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        path = root / LOCK_NAME
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip()
            os.close(self._fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise ServeRefused(
                f"another axoc serve{who} uses the state directory {root}; stop it, or give "
                "this one its own --state-dir"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


class Clock(Protocol):
    """Wall-clock seconds since the epoch, which schedules are kept in (they outlive processes)."""

    def time(self) -> float: ...


class SystemClock:
    def time(self) -> float:
        return time.time()


class Daemon:
    def __init__(
        self, config: str, root: Path, max_runs: int, *, dry_run: bool = False,
        clock: Clock | None = None,
    ) -> None:  # fmt: skip
        self.config = str(Path(config).resolve())
        self.root = root
        self.dry_run = dry_run  # scheduled runs too use the echo provider
        self.clock = clock or SystemClock()
        self.lock = DaemonLock(root)
        self.manager = RunManager(root, self.config, max_runs)
        self.timetable: Timetable | None = None
        self.workflows: list[str] = []  # of the config in use, for the dashboard's run form
        self._wake: asyncio.Event | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.consolidation: Consolidation | None = None  # of the config in use
        # the target the config is compiled for to find the agents to consolidate
        self._first_agent: str | None = None
        self._consolidator: asyncio.Task[None] | None = None
        self._warned: set[str] = set()  # consolidation warnings given, once per config generation

    def compile(self) -> Config:
        """The config, compiled to check it can be served: `ServeRefused` with its errors when
        nothing of it can run; errors of some targets only are a warning (their runs are
        refused when asked for)."""
        from axoc.pipeline import compile_file
        from axoc.report import render_text

        unit = compile_file(self.config, os.environ)
        errors = unit.errors()
        if unit.lowered is None or unit.config is None:
            sources = {self.config: unit.text} if unit.text is not None else {}
            shown = render_text(errors, 1, sources).rstrip()
            raise ServeRefused(f"{self.config} cannot be served:\n{shown}")
        if errors:
            log.warn(f"{self.config} has {len(errors)} error(s); runs of the targets they "
                     "concern are refused (axoc check shows them)")  # fmt: skip
        return unit.config

    def in_flight(self) -> list[tuple[str, bool]]:
        """(run id, dry run) of the runs to resume: see the module's docstring."""
        found = []
        for folder in statedir.runs(self.root):
            if runs.live(folder) is not False:
                continue
            try:
                contents = read(folder / "journal.jsonl")
            except (JournalError, OSError):
                continue
            header = contents.header
            finished = contents.records and contents.records[-1].get("k") == "stopped"
            if finished or header.get("origin") != "serve" or header.get("config") != self.config:
                continue
            found.append((folder.name, header.get("dry_run") is True))
        return found

    async def start(self, config: Config) -> list[str]:
        """The schedules of `config` (compiled by `compile`) started, the in-flight runs
        resumed; their ids."""
        self._wake = asyncio.Event()
        self._schedule(config)
        self._ticker = asyncio.create_task(self._fire_schedules())
        self._consolidator = asyncio.create_task(self._consolidate())
        resumed = []
        for run_id, dry_run in self.in_flight():
            try:
                await self.manager.resume(run_id, dry_run)
            except (RunRefused, runs.RunsError) as refused:
                first = str(refused).splitlines()[0]
                log.warn(f"run {run_id} is not resumed: {first}")
                continue
            resumed.append(run_id)
        return resumed

    async def reload(self) -> str | None:
        """The config read and compiled again: runs started from now on use it, and its
        schedules replace the old ones (each keeps its grid). None when done; else why it was
        refused — the config in use stays."""
        try:
            config = await asyncio.to_thread(self.compile)
        except ServeRefused as refused:
            return str(refused)
        self.manager.reload()
        self._schedule(config)
        return None

    def _schedule(self, config: Config) -> None:
        self.workflows = [w.id for w in config.workflows]
        self.consolidation = config.consolidation
        self._first_agent = config.agents[0].id if config.agents else None
        self._warned.clear()
        self.timetable = Timetable(self.root / FILE, fires(config), self.clock.time())
        if self.timetable.warning is not None:
            log.warn(self.timetable.warning)
        for fire_id, missed in self.timetable.skipped.items():
            if missed:
                log.warn(f"{fire_id}: {missed} fire(s) missed while no daemon ran were skipped")
        self.wake()

    def wake(self) -> None:
        """Look at the timetable again (it changed, or the clock was moved)."""
        if self._wake is not None:
            self._wake.set()

    async def _fire_schedules(self) -> None:
        assert self._wake is not None
        while True:
            timetable = self.timetable
            assert timetable is not None
            now = self.clock.time()
            for fire in timetable.due(now):
                try:
                    live = await self.manager.submit(fire.target, fire.input, self.dry_run)
                except (RunRefused, runs.RunsError, ValueError) as refused:
                    log.warn(f"{fire.id} did not start a run: {str(refused).splitlines()[0]}")
                else:
                    log.say(f"{fire.id} started run {live.run_id}")
                timetable.fired(fire, now)
            self._wake.clear()
            wake_at = timetable.wake_at()
            wait = None if wake_at is None else max(0.0, wake_at - self.clock.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _consolidate(self) -> None:
        """Sleep-time consolidation (`axoc.memory.consolidation`): every few seconds, a pass
        for each consolidated agent that is due and that no run of this daemon may activate."""
        while True:
            settings, first = self.consolidation, self._first_agent
            on = settings is not None and settings.enabled and first is not None
            if on and self.dry_run:  # a dry run records no pass: the same one would recur
                self._warn_once("memory consolidation is not done under --dry-run")
            elif on and first is not None:
                try:
                    found = await asyncio.to_thread(self._due_passes, first)
                except (RunRefused, runs.RunsError, MemoryFileError, OSError) as exc:
                    self._warn_once(f"memory consolidation is not done: {_first_line(exc)}")
                    found = []
                for chosen, claim in found:
                    if self.manager.busy(chosen.agent.id):
                        claim.release()
                        continue
                    try:  # the manager lets go of the claim when the pass's run ends
                        live = await self.manager.submit_pass(chosen, claim, self.dry_run)
                    except (RunRefused, runs.RunsError, ValueError) as refused:
                        claim.release()
                        self._warn_once(f"agent {chosen.agent.id}'s memory consolidation did "
                                        f"not start: {_first_line(refused)}")  # fmt: skip
                    else:
                        log.say(f"consolidating the memory of agent {chosen.agent.id}: "
                                f"run {live.run_id}")  # fmt: skip
            await asyncio.sleep(_poll(settings))

    def _due_passes(self, agent: str) -> list[tuple[Pass, Claim]]:
        """The passes due now, of the config in use (compiled once per generation), each with
        the claim on its agent (an agent another process consolidates now is left out)."""
        loaded, _ = self.manager.generation.compiled(Target(agent=agent), self.dry_run)
        now = self.clock.time()
        found: list[tuple[Pass, Claim]] = []
        try:
            for spec in candidates(loaded):
                claimed = claim_pass(self.root, loaded, spec.id, now)
                if not isinstance(claimed, str):
                    found.append(claimed)
        except BaseException:  # an unreadable record: no pass starts, no claim is kept
            for _, claim in found:
                claim.release()
            raise
        return found

    def _warn_once(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            log.warn(text)

    async def stop(self) -> None:
        for task in (self._ticker, self._consolidator):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.manager.stop()
        self.lock.release()


def _poll(settings: Consolidation | None) -> float:
    """Seconds between two looks for idle agents: a quarter of the idle threshold, 1 to 30."""
    if settings is None or not settings.enabled:
        return 30.0
    return min(30.0, max(1.0, settings.idle_threshold_secs / 4))


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
