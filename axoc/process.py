"""Process-wide settings for a one-shot `axoc` command; only the CLI's entry point calls these.

`one_shot()` turns the cyclic garbage collector off for the whole command: `check` and `plan`
build a few objects per YAML node, with hardly a cycle among them, and exit; the collector's
passes over them, and the full pass Python makes at exit, cost more than compiling (about 1 s
of a 10,000-agent check). `settle()` is called by a command about to do long work after
compiling (`axoc run` starting the kernel): what the compile left alive is frozen — moved out
of the collector's view, still freed by reference counting — and the collector turned back on,
so the run collects its own garbage without one big pass over the config first (0.37 s instead
of 1.0-1.5 s for 10,000 agents). Library code never calls either: a process hosting the
compiler keeps its own collector settings (tests/test_compile_memory.py).

`nothing_at_exit()` is called by a command that only compiles and prints (`check`, `plan`): it
starts no thread and leaves nothing to run at exit, so `leave()` ends its process as soon as
its output is flushed, without the interpreter's teardown of every module it imported (10-15
ms of `axoc check` on a small config). Any other command leaves through `sys.exit`.
"""

from __future__ import annotations

import gc
import os
import sys

_one_shot = False
_nothing_at_exit = False


def one_shot() -> None:
    """The process runs one command and exits: no collector passes (see above)."""
    global _one_shot
    _one_shot = True
    gc.disable()


def settle() -> None:
    """Before long work in a one-shot process: freeze what is alive, collect from here on."""
    if _one_shot and not gc.isenabled():
        gc.freeze()
        gc.enable()


def finish() -> None:
    """At the end of a one-shot command: freeze what is alive, so exiting does not pass over it."""
    if _one_shot:
        gc.freeze()


def nothing_at_exit() -> None:
    """The command runs nothing at exit (see above): `leave` may skip the teardown."""
    global _nothing_at_exit
    _nothing_at_exit = True


def leave(code: int) -> None:
    """End a one-shot command with `code`, its output flushed."""
    sys.stdout.flush()
    if _one_shot and _nothing_at_exit:
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
