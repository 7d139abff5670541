"""Run records in the state directory: create, lock, resume, list and show.

Layout (`<state>/runs/<run_id>/`, directories 0700, files 0600): `plan.json`, the signal table
the run executes (no secrets, so a resumed run can show what changed); `journal.jsonl`, the
append-only journal (`axoc.kernel.journal`: a header, `started` / `tick` / `snapshot` records,
`stopped`); `lock`, held (flock) by the one process running it; `checkpoints/<agent>/`, the
run's agent checkpoints (`axoc.kernel.checkpoint`), until it ends. Everything a report says —
status, stop reason, tokens per agent, what was in flight, the timeline — is read from the
journal, the single source of truth. A run id is an id, never a path (`run_folder`).
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axoc.kernel.files import ensure_dir
from axoc.kernel.journal import Contents, JournalError, Writer, read
from axoc.kernel.table import SignalTable, TableError
from axoc.kernel.usage import recorded
from axoc.statedir import RUN_ID_EXAMPLE, is_run_id, new_run_id, runs, write_text


class RunsError(Exception):
    """A run record cannot be used; the message says why, `code` names the kind (as
    `RunRefused`'s). Nothing was started."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Summary:
    run_id: str
    target: str
    started: str
    status: str  # a stop reason, or "live" / "interrupted"
    usage: dict[str, list[int]] = field(default_factory=dict)  # agent → [input, output]
    timeline: list[tuple[float, str, str]] = field(default_factory=list)  # (t, agent, what)
    warnings: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # started, no outcome recorded
    input: str = ""
    config: str | None = None  # the config's path (a saved plan's), when the run recorded it
    dry_run: bool | None = None  # None: recorded before runs said
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (agent, text), in order

    @property
    def tokens(self) -> int:
        return sum(i + o for i, o in self.usage.values())


class Lock:
    """An exclusive lock on a run: one process runs (or resumes) it at a time."""

    def __init__(self, folder: Path) -> None:
        self._fd = os.open(folder / "lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise RunsError(
                f"run {folder.name} is still live in another process", "run_live"
            ) from None

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def run_folder(root: Path, run_id: str) -> Path:
    """The folder of run `run_id` in the state directory `root` (it may not exist). An id is
    an id, never a path: anything but a run id (`../other/runs/ID`, an absolute path, a
    separator) is refused before any file is looked at."""
    if not is_run_id(run_id):
        shown = repr(run_id[:80]) + ("…" if len(run_id) > 80 else "")
        raise RunsError(
            f"{shown} is not a run id: run ids look like {RUN_ID_EXAMPLE} (axoc runs list "
            "shows them), and name a run of the state directory (--state-dir picks another)",
            "bad_run_id",
        )
    return root / "runs" / run_id


def create(root: Path, table: SignalTable, header: dict[str, Any]) -> tuple[str, Writer, Lock]:
    """A new run: its folder, plan and journal, locked. Fails before any work if the state
    directory cannot be written (read-only, disk full)."""
    run_id = new_run_id()
    folder = root / "runs" / run_id
    try:
        ensure_dir(folder)
        lock = Lock(folder)
        # canonical: what `axoc plan` writes; its folder is synced with the journal's creation
        write_text(folder / "plan.json", table.to_json(), sync_dir=False)
        writer = Writer(folder / "journal.jsonl", {"run_id": run_id, "digest": table.digest,
                        "started": _now(), **header})  # fmt: skip
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise RunsError(f"cannot write the run record in {root}: {why}", "state_dir") from exc
    return run_id, writer, lock


def reopen(root: Path, run_id: str) -> tuple[Path, Contents, Lock]:
    """An interrupted run to resume: its folder and journal contents (warnings included), locked."""
    folder = run_folder(root, run_id)
    if folder.is_symlink() or not (folder / "journal.jsonl").is_file():  # a link is no run
        raise RunsError(f"no run '{run_id}' in {root / 'runs'}", "unknown_run")
    lock = Lock(folder)
    try:
        contents = read(folder / "journal.jsonl")
    except JournalError as exc:
        lock.release()
        raise RunsError(str(exc), "bad_journal") from exc
    if contents.records and contents.records[-1].get("k") == "stopped":
        lock.release()
        raise RunsError(
            f"run {run_id} already ended: {contents.records[-1]['reason']}", "run_ended"
        )
    return folder, contents, lock


def old_plan(folder: Path) -> SignalTable | None:
    try:
        return SignalTable.from_json((folder / "plan.json").read_text(encoding="utf-8"))
    except (OSError, TableError):
        return None


def summarize(folder: Path, *, outputs: bool = False) -> Summary:
    """What a run's journal says; with `outputs`, its final output too (so far, if it has not
    ended): the texts of the agents its `stopped` record names, or else of its workflow's sinks."""
    contents = read(folder / "journal.jsonl")
    header = contents.header
    dry_run = header.get("dry_run")
    summary = Summary(
        run_id=str(header.get("run_id", folder.name)),
        target=str(header.get("target", "?")),
        started=str(header.get("started", "?")),
        status=_status(folder, contents.records),
        warnings=contents.warnings,
        input=str(header.get("input", "")),
        config=str(header["config"]) if header.get("config") else None,
        dry_run=dry_run if isinstance(dry_run, bool) else None,
    )
    texts: dict[str, str] = {}  # each agent's latest output
    started: dict[int, str] = {}
    for record in contents.records:
        if record.get("k") == "started":
            for seq, agent in record["s"]:
                started[int(seq)] = agent
                summary.timeline.append((float(record["t"]), agent, "started"))
        if record.get("k") != "tick":
            continue
        for outcome in record["o"]:
            started.pop(int(outcome["s"]), None)
            agent = outcome["a"]
            what = "completed" if outcome.get("x") is not None else f"failed: {outcome.get('e')}"
            summary.timeline.append((float(record["t"]), agent, what))
            if outputs and outcome.get("x") is not None:
                texts[agent] = str(outcome["x"])
            if outcome.get("u"):
                counts = recorded(outcome["u"])
                if counts is None:  # written before counts were checked, or tampered with
                    summary.warnings.append(_impossible(folder, record, agent))
                    continue
                used = summary.usage.setdefault(agent, [0, 0])
                used[0] += counts[0]
                used[1] += counts[1]
    summary.usage = dict(sorted(summary.usage.items()))
    if summary.status in ("live", "interrupted"):
        summary.in_flight = [started[seq] for seq in sorted(started)]
    if outputs:
        names = _output_agents(folder, header, contents.records)
        summary.outputs = [(agent, texts[agent]) for agent in names if agent in texts]
    return summary


def _impossible(folder: Path, record: dict[str, Any], agent: str) -> str:
    number = record.get("n")
    where = f"record {number} (line {number + 1})" if isinstance(number, int) else "a record"
    return (
        f"{folder / 'journal.jsonl'}: {where}: the token usage of '{agent}' is not a possible "
        "count; it is not counted"
    )


def _output_agents(
    folder: Path, header: dict[str, Any], records: list[dict[str, Any]]
) -> list[str]:
    """The agents whose outputs make the run's output: as its `stopped` record names them; for
    a workflow run without one (not ended, or recorded before they were named), its sinks."""
    last = records[-1] if records else {}
    if last.get("k") == "stopped" and isinstance(last.get("outputs"), list):
        return [str(agent) for agent in last["outputs"]]
    table = old_plan(folder) if header.get("workflow") else None
    if table is None:
        return []
    try:
        return list(table.workflow(str(header["workflow"])).sinks)
    except (KeyError, ValueError):
        return []


def all_runs(root: Path) -> list[Summary]:
    return Summaries().all(root)


class Summaries:
    """The summaries of every run, for a process that lists them again and again (`axoc serve`'s
    `GET /runs`): a run that has ended is read once, and again only when its journal changes
    (size or modification time) — what has not ended is read every time, as its status comes
    from its lock as well as its journal. Callers must not change the summaries they get."""

    def __init__(self) -> None:
        self._ended: dict[Path, tuple[tuple[int, int], Summary]] = {}

    def all(self, root: Path) -> list[Summary]:
        found = []
        kept: dict[Path, tuple[tuple[int, int], Summary]] = {}
        for folder in runs(root):
            try:
                stat = (folder / "journal.jsonl").stat()
            except OSError:
                continue
            version = (stat.st_size, stat.st_mtime_ns)
            known = self._ended.get(folder)
            if known is not None and known[0] == version:
                summary = known[1]
            else:
                try:
                    summary = summarize(folder)
                except JournalError:
                    continue  # not a run record: reported by `runs show` when asked for
            if summary.status not in ("live", "interrupted", "unknown"):
                kept[folder] = (version, summary)
            found.append(summary)
        self._ended = kept  # runs pruned since are let go
        return found


def _status(folder: Path, records: list[dict[str, Any]]) -> str:
    if records and records[-1].get("k") == "stopped":
        return str(records[-1]["reason"])
    held = live(folder)
    return "unknown" if held is None else "live" if held else "interrupted"


def live(folder: Path) -> bool | None:
    """Whether a process runs the run in `folder` (holds its lock), asked without writing
    anything, so that a read-only state directory, or another user's, can be inspected: the
    lock file is opened read-only, a shared lock tried — it is refused while the run's
    exclusive one is held — and let go at once. None when the lock file cannot be read."""
    try:
        fd = os.open(folder / "lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return False  # never locked: a run's lock is created before its journal
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # releases the shared lock, if it was taken
    return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
