"""Agent checkpoints of one run: one file per finished turn, written atomically, all kept
until the run ends.

In: `Checkpoint`s — an agent's turn: its session transcript (the messages sent, the answer, and
in a tool loop the tool calls the answer made and their results), the turn's token usage, the
activation's usage so far and the agent's cumulative usage in the run, the events it emitted so
far, and its behaviour state.
Out: files `<root>/<agent>/<version:016>.json`, where root is the run's own folder
`runs/<run id>/checkpoints/` — so no other run ever touches them —, and on loading, the valid
checkpoints of an agent newest first, with a warning for every file that was skipped. A store
with `nested=True` reads the layout of earlier versions, `agents/<agent>/checkpoints/`, shared
by every run of a state directory.

Guarantees:
- A checkpoint appears whole or not at all: it is written to a temporary file in the same
  directory — an unnamed one (O_TMPFILE) where Linux allows, so a killed writer leaves nothing
  behind —, made durable (fsync), linked into place under its version, then the directory is
  made durable. `link(2)` instead of `rename(2)`: it is as atomic, and it never replaces a file,
  so two processes checkpointing the same agent cannot overwrite each other's version — the
  loser takes the next number.
- `commit` writes a batch with one flush for all its files (group commit): each file is written,
  one `syncfs` makes their contents durable, each is linked, and a second `syncfs` makes the
  links durable. A batch of one is flushed with fsync of the file and of its directory.
- Versions grow by one per agent. None is removed while the run goes on: until its journal is
  flushed to disk at its end, a power cut can lose any of the outcomes it records, and each
  checkpoint is then what spares asking for that answer again. `discard` removes them all,
  once the run has ended.
- Reading never raises for a bad file: a truncated, empty, garbage or other-version checkpoint
  (every file carries the CRC-32 of its content) is skipped with a warning naming it and the
  checkpoint used instead. Temporary files left by a killed writer are ignored, and removed once
  their process is gone.

`Checkpointer` writes on a thread, group-committing whatever queued while it last wrote; the
caller waits on the future `submit` returns (without blocking its event loop). Standard library
only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from axoc.kernel.files import ensure_dir, fsync_dir
from axoc.kernel.ports import Message, ToolCall, Usage
from axoc.kernel.usage import recorded, written

FORMAT = "axoc.checkpoint/2"  # /1: no tool calls, results, emitted events nor activation usage
READS = frozenset({"axoc.checkpoint/1", FORMAT})
MAX_BATCH = 256  # checkpoints per group commit
_NAME = re.compile(r"^(\d{16})\.json$")
_TEMP = re.compile(r"^\.(\d{16})\.(\d+)\.(\d+)\.tmp$")  # .<version>.<pid>.<n>.tmp
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # a config's agent ids all are


class CheckpointError(Exception):
    """A checkpoint could not be written; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    agent: str
    run: str
    seq: int  # the activation
    turn: int  # 1, 2, ... within the activation: one model call and the tool results it led to
    final: bool  # the turn gave the activation's answer: nothing follows it
    # The session so far: the messages sent, then the answer (final), or the answer's tool calls
    # and their results (a turn of the tool loop). (role, content) pairs are read as messages.
    transcript: tuple[Message, ...]
    usage: tuple[int, ...]  # this turn's (input, output[, cached, cache_write]) tokens
    cumulative: tuple[int, ...]  # the agent's in this run, this turn included
    state: dict[str, Any] = field(default_factory=dict)  # behaviour: status, unit, activations
    version: int = 0  # set when written
    spent: tuple[int, ...] | None = None  # the activation's so far, this turn included
    # (None, in a checkpoint of format /1: its usage, the activation's one turn)
    emitted: tuple[tuple[str, str], ...] = ()  # (event, payload) emitted so far, in order

    def __post_init__(self) -> None:
        if any(type(m) is not Message for m in self.transcript):
            messages = tuple(m if type(m) is Message else Message(*m) for m in self.transcript)
            object.__setattr__(self, "transcript", messages)

    @property
    def answer(self) -> str:
        return self.transcript[-1].content if self.transcript else ""

    @property
    def activation_usage(self) -> tuple[int, ...]:
        """What the activation used up to this turn, this turn included."""
        return self.spent if self.spent is not None else self.usage

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "agent": self.agent,
            "version": self.version,
            "run": self.run,
            "seq": self.seq,
            "turn": self.turn,
            "final": self.final,
            "transcript": [_message_json(m) for m in self.transcript],
            "usage": written(Usage(*self.usage)),
            "cumulative": written(Usage(*self.cumulative)),
            "state": self.state,
        }
        if self.spent is not None:
            data["spent"] = written(Usage(*self.spent))
        if self.emitted:
            data["emitted"] = [list(e) for e in self.emitted]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        """Strict: raises KeyError, TypeError or ValueError on anything malformed. A checkpoint
        of format /1 has none of the optional fields."""
        transcript = tuple(_message(m) for m in data["transcript"])
        usage, cumulative = recorded(data["usage"]), recorded(data["cumulative"])
        spent = recorded(data["spent"]) if "spent" in data else None
        if usage is None or cumulative is None or ("spent" in data and spent is None):
            raise ValueError("its token usage is not a possible count")
        if not isinstance(data["state"], dict) or not isinstance(data["final"], bool):
            raise TypeError("state must be an object and final a boolean")
        emitted = tuple((str(name), str(payload)) for name, payload in data.get("emitted", ()))
        return cls(
            agent=str(data["agent"]),
            run=str(data["run"]),
            seq=int(data["seq"]),
            turn=int(data["turn"]),
            final=data["final"],
            transcript=transcript,
            usage=usage,
            cumulative=cumulative,
            state=data["state"],
            version=int(data["version"]),
            spent=spent,
            emitted=emitted,
        )


def _message_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments}
            | ({} if c.signature is None else {"signature": c.signature})
            for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        data["name"] = message.name
    if message.is_error:
        data["is_error"] = True
    return data


def _message(data: dict[str, Any]) -> Message:
    calls = tuple(
        ToolCall(
            str(c["id"]),
            str(c["name"]),
            str(c["arguments"]),
            None if c.get("signature") is None else str(c["signature"]),
        )
        for c in data.get("tool_calls", ())
    )
    call_id, name = data.get("tool_call_id"), data.get("name")
    is_error = data.get("is_error", False)
    if not isinstance(is_error, bool):
        raise TypeError("is_error must be a boolean")
    return Message(
        str(data["role"]), str(data["content"]), calls,
        None if call_id is None else str(call_id), None if name is None else str(name), is_error,
    )  # fmt: skip


def encode(checkpoint: Checkpoint) -> bytes:
    body = json.dumps(checkpoint.to_json(), ensure_ascii=False, separators=(",", ":"))
    crc = zlib.crc32(body.encode("utf-8"))
    return (body[:-1] + f',"crc":{crc}}}\n').encode("utf-8")


def decode(raw: bytes) -> Checkpoint:
    """The checkpoint in `raw`; ValueError saying what is wrong with it."""
    if not raw.strip():
        raise ValueError("it is empty")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON or UTF-8, a 4,301-digit number, nesting
        raise ValueError("it is truncated or not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("it is not a JSON object")
    if not isinstance(data.get("format"), str) or data["format"] not in READS:
        raise ValueError(
            f"its format is {data.get('format')!r}, this axoc reads "
            f"{' and '.join(map(repr, sorted(READS)))}"
        )
    crc = data.pop("crc", None)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if crc != zlib.crc32(body.encode("utf-8")):
        raise ValueError("its checksum does not match its content")
    try:
        return Checkpoint.from_json(data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"a field is missing or malformed ({exc})") from None


@dataclass
class Loaded:
    checkpoints: list[Checkpoint]  # valid ones, newest first
    warnings: list[str]

    @property
    def latest(self) -> Checkpoint | None:
        return self.checkpoints[0] if self.checkpoints else None


@dataclass
class _Staged:
    checkpoint: Checkpoint
    folder: Path
    fd: int
    temp: Path | None  # None: an unnamed (O_TMPFILE) file

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)


class CheckpointStore:
    """The checkpoints of one run: its `runs/<run id>/checkpoints/` folder."""

    def __init__(self, root: Path, *, unnamed: bool | None = None, nested: bool = False) -> None:
        """`unnamed`: write temporary files with O_TMPFILE (True), named (False), or the first
        when this system supports it (None). `nested`: the layout of earlier versions, each
        agent's files in `<root>/<agent>/checkpoints/` (root being the state's `agents/`)."""
        self.root = root
        self._kept: dict[str, list[int]] = {}  # agent → versions on disk, oldest first
        self._temps = 0
        self._unnamed = unnamed
        self._nested = nested

    def folder(self, agent: str) -> Path:
        """`<root>/<agent>` (`<root>/<agent>/checkpoints` nested); an id that is no safe file
        name (possible only in a hand-edited plan) is replaced by a digest of it."""
        name = (
            agent
            if _SAFE.fullmatch(agent)
            else "_" + hashlib.sha256(agent.encode()).hexdigest()[:16]
        )
        return self.root / name / "checkpoints" if self._nested else self.root / name

    def discard(self) -> None:
        """Remove every checkpoint of the store (the run ended: its journal, flushed to disk,
        holds every outcome). What cannot be removed stays, for `axoc runs prune`."""
        if self._nested:
            raise ValueError("the shared checkpoints of earlier versions are not a run's own")
        shutil.rmtree(self.root, ignore_errors=True)
        self._kept.clear()

    # --- writing ------------------------------------------------------------------------------

    def write(self, checkpoint: Checkpoint) -> Checkpoint:
        """Write one checkpoint, durable on return; it, with its version."""
        return self.commit([checkpoint])[0]

    def commit(self, batch: Sequence[Checkpoint]) -> list[Checkpoint]:
        """Write a batch, durable on return with one flush for all; them, with their versions.
        Raises CheckpointError; a checkpoint that was not linked in place is not on disk."""
        done: list[Checkpoint] = []
        for start in range(0, len(batch), MAX_BATCH):  # bounded: each holds a descriptor open
            done += self._commit(batch[start : start + MAX_BATCH])
        return done

    def _commit(self, batch: Sequence[Checkpoint]) -> list[Checkpoint]:
        staged: list[_Staged] = []
        try:
            for checkpoint in batch:
                staged.append(self._stage(checkpoint))
            _flush([s.fd for s in staged], None if len(staged) == 1 else staged[0].folder)
        except OSError as exc:
            for item in staged:
                item.discard()
                self._forget(item.checkpoint)
            raise CheckpointError(f"cannot write a checkpoint in {self.root}: {_why(exc)}") from exc
        done: list[Checkpoint] = []
        folders: dict[Path, None] = {}
        try:
            for item in staged:
                done.append(self._link(item))
                folders[item.folder] = None
            if len(folders) == 1:
                fsync_dir(next(iter(folders)))
            elif folders:
                _flush([], next(iter(folders)))
        except OSError as exc:
            for item in staged[len(done) :]:
                item.discard()
                self._forget(item.checkpoint)
            raise CheckpointError(f"cannot write a checkpoint in {self.root}: {_why(exc)}") from exc
        return done

    def _stage(self, checkpoint: Checkpoint) -> _Staged:
        """The checkpoint written to a temporary file in its folder, under the next version."""
        folder = self.folder(checkpoint.agent)
        kept = self._kept.get(checkpoint.agent)
        if kept is None:
            kept = self._kept[checkpoint.agent] = self._scan(folder)
        checkpoint = replace(checkpoint, version=(kept[-1] if kept else 0) + 1)
        kept.append(checkpoint.version)  # taken: the next one gets a later number
        try:
            if self._unnamed is None:
                self._unnamed = _unnamed_temps_work(folder)
            temp = None
            if self._unnamed:  # Linux: an unnamed file in the folder, nothing left if killed
                fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
            else:
                self._temps += 1
                temp = folder / f".{checkpoint.version:016}.{os.getpid()}.{self._temps}.tmp"
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            self._forget(checkpoint)
            raise
        staged = _Staged(checkpoint, folder, fd, temp)
        try:
            _write_all(fd, encode(checkpoint))
        except OSError:
            staged.discard()
            self._forget(checkpoint)
            raise
        return staged

    def _forget(self, checkpoint: Checkpoint) -> None:
        """A version taken for a checkpoint that was not written: not on disk, not kept."""
        kept = self._kept.get(checkpoint.agent, [])
        if checkpoint.version in kept:
            kept.remove(checkpoint.version)

    def _link(self, item: _Staged) -> Checkpoint:
        """Put the file in place under its version, or a later one if another writer took it."""
        checkpoint = item.checkpoint
        while True:
            target = item.folder / f"{checkpoint.version:016}.json"
            try:
                if item.temp is not None:
                    os.link(item.temp, target)
                else:
                    _link_unnamed(item.fd, target)
                break
            except FileExistsError:
                kept = self._kept[checkpoint.agent] = self._scan(item.folder)
                # the version is inside the file too: rewrite it under the new number
                checkpoint = replace(checkpoint, version=kept[-1] + 1)
                kept.append(checkpoint.version)
                os.ftruncate(item.fd, 0)
                _write_all(item.fd, encode(checkpoint), at=0)
                os.fsync(item.fd)
        os.close(item.fd)
        if item.temp is not None:
            os.unlink(item.temp)
        return checkpoint

    def _scan(self, folder: Path) -> list[int]:
        """The versions in `folder`, oldest first (creating it if need be); temporary files of
        writers that are gone are removed on the way."""
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            ensure_dir(folder)
            return []
        versions = []
        for name in names:
            if (match := _NAME.fullmatch(name)) is not None:
                versions.append(int(match.group(1)))
            elif (temp := _TEMP.fullmatch(name)) is not None and not _alive(int(temp.group(2))):
                (folder / name).unlink(missing_ok=True)
        return sorted(versions)

    # --- reading ------------------------------------------------------------------------------

    def load(self, agent: str) -> Loaded:
        """The agent's valid checkpoints, newest first; a warning per skipped file."""
        folder = self.folder(agent)
        try:
            names = sorted((n for n in os.listdir(folder) if _NAME.fullmatch(n)), reverse=True)
        except (FileNotFoundError, NotADirectoryError):
            return Loaded([], [])
        except OSError as exc:
            return Loaded([], [f"{folder}: cannot be read ({_why(exc)}); no checkpoint used"])
        loaded = Loaded([], [])
        newer: list[str] = []  # bad files newer than any good one: the warning names the one used
        for name in names:
            path = folder / name
            try:
                checkpoint = decode(path.read_bytes())
                if checkpoint.agent != agent:
                    raise ValueError(f"it belongs to agent '{checkpoint.agent}'")
            except (OSError, ValueError) as exc:
                why = f"{path}: skipped, {exc.strerror if isinstance(exc, OSError) else exc}"
                (loaded.warnings if loaded.checkpoints else newer).append(why)
                continue
            if not loaded.checkpoints:
                loaded.warnings += [f"{why}; using {name} instead" for why in newer]
                newer = []
            loaded.checkpoints.append(checkpoint)
        loaded.warnings += [f"{why}; no earlier checkpoint to use" for why in newer]
        return loaded


class Checkpointer:
    """Writes checkpoints on a thread: what queues while it writes is the next group commit, so
    concurrent turns share their flushes. The thread starts with the first checkpoint: a run
    that keeps none (an echo run, a run of one-turn agents) never starts one."""

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._queue: list[tuple[Checkpoint, Future[Checkpoint]]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._error: CheckpointError | None = None
        self._busy = False  # a batch is being written
        self._thread: threading.Thread | None = None

    def submit(self, checkpoint: Checkpoint) -> Future[Checkpoint]:
        """Queue a checkpoint; the future is done once it is durable (or failed)."""
        done: Future[Checkpoint] = Future()
        with self._wake:
            if self._closed:
                raise RuntimeError("checkpointer closed")
            self._queue.append((checkpoint, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="axoc-checkpoints", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()
        return done

    def flush(self) -> None:
        """Wait until everything submitted is written; raise the first error, if any."""
        with self._wake:
            self._wake.wait_for(lambda: not self._queue and not self._busy)
            if self._error is not None:
                raise self._error

    @property
    def error(self) -> CheckpointError | None:
        """The first error a write met, if any (every later write still ran)."""
        return self._error

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _work(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self._busy = True
            try:
                written = self.store.commit([checkpoint for checkpoint, _ in batch])
            except CheckpointError as exc:
                for _, done in batch:
                    _settle(done, exc)
                with self._wake:
                    self._error = self._error or exc
            else:
                for (_, done), checkpoint in zip(batch, written, strict=True):
                    _settle(done, checkpoint)
            with self._wake:
                self._busy = False
                self._wake.notify_all()


def _settle(done: Future[Checkpoint], outcome: Checkpoint | CheckpointError) -> None:
    """Tell the waiter; one that stopped waiting (its session was cancelled: the run ended)
    cancelled the future, and is told nothing — the writer thread goes on."""
    with contextlib.suppress(InvalidStateError):
        if isinstance(outcome, CheckpointError):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


# --- file system helpers ----------------------------------------------------------------------


def _write_all(fd: int, data: bytes, at: int | None = None) -> None:
    written = os.write(fd, data) if at is None else os.pwrite(fd, data, at)
    if written != len(data):
        raise OSError(28, "short write (is the disk full?)")


def _link_unnamed(fd: int, target: Path) -> None:
    """Give the unnamed file open as `fd` the name `target`: linkat(2) of /proc/self/fd/N with
    AT_SYMLINK_FOLLOW, as open(2) documents for O_TMPFILE. CPython calls linkat (not link)
    only when a dir_fd is given; the path is absolute, so linkat ignores it."""
    os.link(f"/proc/self/fd/{fd}", target, src_dir_fd=fd, follow_symlinks=True)


def _unnamed_temps_work(folder: Path) -> bool:
    """Whether this system can create an unnamed file in `folder` and link it in place."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return False
    probe = folder / f".probe.{os.getpid()}"
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
    except OSError:
        return False
    try:
        _link_unnamed(fd, probe)
        os.unlink(probe)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


_syncfs: Any = None


def _flush(fds: list[int], anywhere: Path | None) -> None:
    """Make written data durable: fsync each file, or — for many files, `anywhere` naming a
    path on their file system — one syncfs(2) (sync(2) where there is none)."""
    global _syncfs
    if anywhere is None:
        for fd in fds:
            os.fsync(fd)
        return
    if _syncfs is None:
        _syncfs = False
        if sys.platform.startswith("linux"):
            import ctypes  # only here: the standard library has no syncfs

            _syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", False)
    if not _syncfs:
        os.sync()
        return
    fd = os.open(anywhere, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            import ctypes

            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
