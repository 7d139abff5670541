"""The daemon's hold on its state directory and config, and what it picks up when it starts.

In: the config path, the state directory, the most runs executed at once. Out: a `Daemon` —
its `RunManager`, `start()` (resume the runs a previous daemon on this state directory left in
flight) and `stop()` (interrupt what is running, leaving it resumable, and let go of the lock).

Guarantees:
- One daemon per state directory: `DaemonLock` holds an exclusive `flock` on
  `<state>/serve.lock` for the daemon's life; a second one is refused (`ServeRefused`) naming the
  process that holds it. The kernel lets go of a `flock` when its holder dies, `kill -9`
  included, so a crashed daemon never blocks the next one.
- A config that does not compile to anything runnable refuses the daemon at start; errors that
  concern some targets only are reported once, and runs of those targets are refused when asked
  for (as `axoc run` refuses them), while every healthy target runs.
- Resumed at start: the runs this daemon's config started through `axoc serve` (their header
  says `origin: serve`) whose journal has no `stopped` record and no process holds — a daemon
  that was killed, or stopped while they ran. A run `axoc run` started is never taken over.
  A run that cannot be resumed (its config changed since it started, its record is
  unreadable) stays as it is, with a warning; `axoc run --resume` can still take it.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from axoc import runs, statedir
from axoc.kernel.journal import JournalError, read
from axoc.runnable import RunRefused
from axoc.serve.manager import RunManager

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


class Daemon:
    def __init__(self, config: str, root: Path, max_runs: int) -> None:
        self.config = str(Path(config).resolve())
        self.root = root
        self.lock = DaemonLock(root)
        self.manager = RunManager(root, self.config, max_runs)

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

    async def start(self) -> list[str]:
        """The in-flight runs, resumed; their ids."""
        resumed = []
        for run_id, dry_run in self.in_flight():
            try:
                await self.manager.resume(run_id, dry_run)
            except (RunRefused, runs.RunsError) as refused:
                first = str(refused).splitlines()[0]
                print(f"axoc serve: warning: run {run_id} is not resumed: {first}",
                      file=sys.stderr)  # fmt: skip
                continue
            resumed.append(run_id)
        return resumed

    async def stop(self) -> None:
        await self.manager.stop()
        self.lock.release()
