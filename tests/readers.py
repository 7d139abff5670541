"""Run axoc as a process that file permissions bind, to test read-only and unreadable paths.

Tests may run as root, whom permission bits do not bind (CAP_DAC_OVERRIDE and friends). Then
the child drops, before it executes axoc, the capabilities that override file permissions from
its bounding set (prctl PR_CAPBSET_DROP): it stays root — it can still read the interpreter,
which may live under root's 0700 home — but a file without write bits is read-only to it, a
directory without read bits unreadable, and a tree owned by another user is that user's. Not
root: the child is this user, already bound. `may_write` tells whether that really holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import Result

# Capabilities 1, 2, 3: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER (linux/capability.h)
_DROP_THEN_EXEC = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for cap in (1, 2, 3):
    if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        sys.exit(f"cannot drop capability {cap}: {os.strerror(ctypes.get_errno())}")
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def _argv(*args: str) -> list[str]:
    if os.geteuid() != 0:
        return [sys.executable, *args]
    return [sys.executable, "-c", _DROP_THEN_EXEC, *args]


def as_reader(*args: str, timeout: float = 60) -> Result:
    """`python -m axoc ARGS`, bound by file permissions."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        _argv("-m", "axoc", *args), capture_output=True, text=True, timeout=timeout, env=env
    )
    return Result(done.returncode, done.stdout, done.stderr)


def may_write(path: Path) -> bool:
    """Whether such a process can create a file in the directory `path`: the proof that the
    permissions a test set up do bind."""
    probe = "import sys, tempfile\ntry:\n    tempfile.TemporaryFile(dir=sys.argv[1])\nexcept OSError:\n    sys.exit(1)\n"
    done = subprocess.run(_argv("-c", probe, str(path)), capture_output=True, timeout=60)
    return done.returncode == 0


def may_list(path: Path) -> bool:
    """Whether such a process can list the directory `path`."""
    probe = "import os, sys\ntry:\n    os.listdir(sys.argv[1])\nexcept OSError:\n    sys.exit(1)\n"
    done = subprocess.run(_argv("-c", probe, str(path)), capture_output=True, timeout=60)
    return done.returncode == 0


def chmod_tree(root: Path, remove: int) -> None:
    """Remove the mode bits `remove` from `root` and everything below it (`chmod -R`)."""
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & ~remove)
    os.chmod(root, os.stat(root).st_mode & ~remove)


def give_back(root: Path) -> None:
    """Make a tree the test restricted writable and readable by its owner again (for cleanup)."""
    os.chmod(root, 0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
