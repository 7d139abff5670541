"""`axoc runs prune`: delete old finished runs from a state directory.

In: the state directory and which runs are old — `--older-than DURATION` (started longer ago
than `30d`, `12h`, `90m`, `45s`, `2w`, or a sum such as `1h30m`) or `--keep N` (all but the N
most recent). Out: one line per run deleted (or that would be, with `--dry-run`) and per old
run kept, a summary, and the exit code: 0 done (nothing to delete included), 1 a run could not
be deleted (the others were), 2 a usage error.

Guaranteed: a live run (its lock held by the process running it) is never deleted, and an
unfinished one (interrupted, so resumable, or whose journal cannot be read) only with
`--include-unfinished`. A run is deleted holding its lock, its folder first renamed out of the
listing (`runs/.pruning-<id>`) and then removed, so no listing shows half a run; what a prune
killed halfway leaves is removed by the next one, and a run's checkpoints (in its folder) go
with it.
"""

from __future__ import annotations

import calendar
import os
import re
import shutil
import sys
import time
from pathlib import Path

from axoc import runs
from axoc.kernel.journal import JournalError, read
from axoc.statedir import runs as runs_in
from axoc.statedir import state_dir
from axoc.wording import plural

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
LEFTOVER = ".pruning-"
_PART = re.compile(r"(\d+)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> int | None:
    """Seconds in `30d`, `12h`, `1h30m`...; None when `text` is not such a duration."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _SECONDS[u] for n, u in parts)


def prune_command(
    state: str | None, older_than: str | None, keep: int | None, include_unfinished: bool,
    dry_run: bool,
) -> int:  # fmt: skip
    if keep is not None and keep < 0:
        return _usage(f"--keep: {keep} is negative; keep N ≥ 0 runs")
    age = parse_duration(older_than) if older_than is not None else None
    if older_than is not None and age is None:
        return _usage(f"--older-than: '{older_than}' is not a duration (e.g. 30d, 12h, 1h30m)")
    root = state_dir(state)
    if not dry_run:
        _remove_leftovers(root)
    folders = runs_in(root)
    if keep is not None:
        old = folders[: max(0, len(folders) - keep)]
    else:
        assert age is not None
        cutoff = time.time() - age
        old = [folder for folder in folders if _started(folder) < cutoff]
    counts = {"deleted": 0, "live": 0, "unfinished": 0, "failed": 0}
    for folder in old:
        outcome = _prune(folder, include_unfinished, dry_run)
        counts[outcome] += 1
    verb = "would delete" if dry_run else "deleted"
    kept = counts["live"] + counts["unfinished"]
    summary = f"{verb} {counts['deleted']} of {plural(len(folders), 'run')} in {root}"
    if kept:
        summary += (f"; kept {plural(kept, 'old run')} ({counts['live']} live, "
                    f"{counts['unfinished']} unfinished)")  # fmt: skip
    print(summary)
    return EXIT_FAILED if counts["failed"] else EXIT_OK


def _prune(folder: Path, include_unfinished: bool, dry_run: bool) -> str:
    """Delete one old run, if it may be: "deleted", "live", "unfinished" or "failed"."""
    try:
        lock = runs.Lock(folder)
    except runs.RunsError:
        print(f"kept {folder.name}: live in another process")
        return "live"
    except OSError as exc:  # a read-only state directory, another user's
        print(f"axoc runs prune: cannot delete {folder.name}: {exc.strerror or exc}",
              file=sys.stderr)  # fmt: skip
        return "failed"
    try:
        status = _ended(folder)
        if status is None and not include_unfinished:
            print(f"kept {folder.name}: unfinished (resumable; --include-unfinished deletes it)")
            return "unfinished"
        if not dry_run:
            hidden = folder.with_name(LEFTOVER + folder.name)
            os.rename(folder, hidden)
            shutil.rmtree(hidden)
    except OSError as exc:
        print(
            f"axoc runs prune: cannot delete {folder.name}: {exc.strerror or exc}", file=sys.stderr
        )
        return "failed"
    finally:
        lock.release()
    print(f"{'would delete' if dry_run else 'deleted'} {folder.name} ({status or 'unfinished'})")
    return "deleted"


def _ended(folder: Path) -> str | None:
    """The stop reason of a run that ended; None for one that did not (or cannot be read)."""
    try:
        records = read(folder / "journal.jsonl").records
    except JournalError:
        return None
    if records and records[-1].get("k") == "stopped":
        return str(records[-1].get("reason"))
    return None


def _started(folder: Path) -> float:
    """When the run started: from its id (`20261124T080233.417203-5c1f0e`, UTC), else the
    time its journal was last written."""
    try:
        return calendar.timegm(time.strptime(folder.name[:15], "%Y%m%dT%H%M%S"))
    except ValueError:
        pass
    try:
        return (folder / "journal.jsonl").stat().st_mtime
    except OSError:
        return folder.stat().st_mtime


def _remove_leftovers(root: Path) -> None:
    folder = root / "runs"
    if folder.is_dir():
        for leftover in folder.glob(LEFTOVER + "*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _usage(message: str) -> int:
    print(f"axoc runs prune: {message}", file=sys.stderr)
    return EXIT_USAGE
