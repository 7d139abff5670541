"""The state directory: where runs leave their records (`--state-dir`, `AXOC_STATE_DIR`, or
`.axoc/` in the current directory, for every command: `axoc tokens report` after `axoc run
sub/x.axoc.yaml` finds the run). Directories are created 0700 and files written 0600, atomically:
a temporary file in the same directory, fsync, `os.replace`, then fsync of the directory, so a
reader sees the old file or the new one, never a torn one.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from axoc.kernel.files import ensure_dir, fsync_dir


def state_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get("AXOC_STATE_DIR"):
        return Path(os.environ["AXOC_STATE_DIR"])
    return Path(".axoc")


# What `new_run_id` makes, and all a run id may be: ASCII digits, `T`, `.`, `-` and lower-case
# hex, so an id is a single path component that cannot leave `runs/` (no separator, no `..`).
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{6}-[0-9a-f]{6}")
RUN_ID_EXAMPLE = "20261124T081502.093311-3f2a9c"


def new_run_id() -> str:
    """`<UTC start to the microsecond>-<random>`: ids sort by start time, even within a second."""
    now = time.time_ns() // 1000
    seconds = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000))
    return f"{seconds}.{now % 1_000_000:06d}-{secrets.token_hex(3)}"


def is_run_id(text: str) -> bool:
    """Whether `text` is a run id (the whole of it): never a path."""
    return RUN_ID.fullmatch(text) is not None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `<path>.lock` (made, owner only, with its folder) while the block
    runs: one process or thread at a time reads, changes and writes `path`. `OSError` when the
    lock file cannot be made."""
    ensure_dir(path.parent)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # lets go of the flock


def write_text(path: Path, text: str, *, sync_dir: bool = True) -> None:
    """Write `text` to `path` atomically, readable by the owner only; durable on return, unless
    `sync_dir` is False: then its name is durable once the caller syncs the folder (it is about
    to, for another file: one directory sync for both)."""
    ensure_dir(path.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def runs(root: Path) -> list[Path]:
    """Run directories, oldest first (run ids sort by start time): the directories of `runs/`
    named by a run id. Anything else there — a run being deleted by `axoc runs prune`
    (`.pruning-<id>`), a symbolic link, a stray folder — is no run."""
    folder = root / "runs"
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if is_run_id(p.name) and p.is_dir() and not p.is_symlink()
    )
