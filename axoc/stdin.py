"""Standard input: what a command reads from it, and whether input is waiting there unread.

In: the process's stdin. Out: a run's input (`axoc run -i -`), a config's bytes (`axoc check
-`), or whether something was piped in that nobody asked for (`axoc run` then warns instead of
running on an empty prompt in silence).

Guaranteed: reading is bounded (`MAX_BYTES`; `yes | axoc run -i -` is refused, never an
out-of-memory). Telling whether input waits never reads and never blocks: a regular file counts
when bytes are left in it, a pipe or a socket when bytes are already in it (FIONREAD); a
terminal, /dev/null, a closed stdin or a pipe nothing was written to yet never do.
"""

from __future__ import annotations

import array
import fcntl
import os
import stat
import termios
from typing import BinaryIO, TextIO

MAX_BYTES = 20 * 1024 * 1024  # as for a config file


class TooLarge(Exception):
    """More than `MAX_BYTES` came in."""


def read_bytes(stream: BinaryIO, limit: int = MAX_BYTES) -> bytes:
    """Everything on `stream` up to end of file, at most `limit` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"standard input holds more than {limit // 1024 // 1024} MB")
    return data


def run_input(stream: BinaryIO) -> str:
    """The input of `axoc run -i -`: stdin as UTF-8, without the line break that ends it
    (`echo question | axoc run ... -i -` runs on `question`). A byte that is not UTF-8 is kept as
    a lone surrogate, as in an argument, so the run refuses it with the same message as `-i`."""
    text = read_bytes(stream).decode("utf-8", "surrogateescape")
    return text.removesuffix("\r\n") if text.endswith("\r\n") else text.removesuffix("\n")


def is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def waiting(stream: TextIO | None) -> bool:
    """Whether input was given on `stream` that has not been read: without reading it."""
    try:
        fd = stream.fileno() if stream is not None else -1
        mode = os.fstat(fd)
    except (AttributeError, OSError, ValueError):  # closed, or not a file (a test's replacement)
        return False
    if stat.S_ISREG(mode.st_mode):
        try:
            return mode.st_size > os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            return mode.st_size > 0
    if stat.S_ISFIFO(mode.st_mode) or stat.S_ISSOCK(mode.st_mode):
        pending = array.array("i", [0])
        try:
            fcntl.ioctl(fd, termios.FIONREAD, pending)
        except OSError:
            return False
        return pending[0] > 0
    return False  # a terminal, /dev/null, another device
