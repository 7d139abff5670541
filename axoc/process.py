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

`keep(value)` is for a command that is done with what it compiled (`check`, `plan`): in a
one-shot process the value stays alive, and `end()` then ends the process without freeing
it object by object (60-80 ms for a 10,000-agent config: a million objects, whose memory the
operating system takes back at once), after flushing the output. Elsewhere it does nothing.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any, NoReturn

_one_shot = False
_kept: list[Any] = []


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


def keep(value: Any) -> None:
    """In a one-shot process, keep `value` until `end()`, which then skips freeing it."""
    if _one_shot:
        _kept.append(value)


def end(code: int) -> NoReturn:
    """End the command with exit status `code`, its output flushed: at once when something was
    kept (no object is freed, no exit handler runs: `check` and `plan` register none), else
    through `sys.exit`."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _kept:
        os._exit(code)
    sys.exit(code)
