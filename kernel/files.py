"""Private folders and durable directory entries: what the state directory's writers share.

`ensure_dir` creates a folder and its missing parents, each 0700 (mkdir's mode covers only the
last, and the umask may narrow it). `fsync_dir` makes a folder's entries — a file created,
renamed or linked into it — durable against power loss. Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path


def ensure_dir(path: Path) -> Path:
    """Create `path` and any missing parents, each 0700; `path`."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    return path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
