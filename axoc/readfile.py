"""Read a file the user named, in bounded time and memory, whatever it turns out to be: a
config's bytes, or a saved plan.

In: a path and a size limit. Out: at most `limit` + 1 bytes of a regular file (more than
`limit` means too large: a file's claimed size may be wrong, or it may grow while it is read),
or `NotRegular` naming what it is instead: a FIFO would block the reader forever, a device
such as /dev/zero never end. Symlinks are followed, so a link to a device is refused too.
"""

from __future__ import annotations

import os
import stat

from axoc.kernel.table import SignalTable, TableError

MAX_CONFIG_BYTES = 20 * 1024 * 1024  # a 50,000-agent config is about 6 MB
MAX_PLAN_BYTES = 256 * 1024 * 1024  # a saved plan of 50,000 agents is about 40 MB

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class NotRegular(OSError):
    """The path is not a regular file; `kind` says what it is."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind}, expected a regular file")
        self.kind = kind


def read_bounded(path: str, limit: int) -> bytes:
    """The first `limit` + 1 bytes of the regular file at `path`."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegular(_KINDS.get(stat.S_IFMT(mode), "not a regular file"))
    with open(path, "rb") as handle:
        # Checked again on the open file: the path may have been replaced in between.
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotRegular("not a regular file")
        return handle.read(limit + 1)


class PlanError(Exception):
    """A saved plan that cannot be used: unreadable (`unreadable`), or too large, not UTF-8,
    not a signal table (a wrong format, a bad digest, an inconsistency). The message says which,
    with the path."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.unreadable = unreadable


def read_plan(path: str) -> SignalTable:
    try:
        data = read_bounded(path, MAX_PLAN_BYTES)
    except OSError as exc:
        raise PlanError(f"cannot read {path}: {exc.strerror or exc}", unreadable=True) from exc
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError(f"{path} is larger than {MAX_PLAN_BYTES:,} bytes, the limit of a plan")
    try:
        return SignalTable.from_json(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"{path} is not a signal table: not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from exc
    except TableError as exc:
        raise PlanError(f"{path} is not a signal table: {exc}") from exc
