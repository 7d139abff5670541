"""What the user sees while `axoc run` runs: a live status line, or JSON lines.

In: the kernel's event records (`Driver` listener). Out: with `--json`, one JSON object per
record on stdout; else, on a terminal, a one-line status on stderr redrawn in place; in both
cases budget warnings and retries on stderr. Guaranteed: a reader closing stdout raises
`OutputClosed` once, and later writes go nowhere (no second EPIPE, no traceback at exit).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any, TextIO


class Live:
    """A one-line status on stderr (only on a terminal): how many agents are waiting, running,
    done, failed and skipped, which are running and which failed, the tokens used and the time
    elapsed. Redrawn after events, at most every `FRAME` seconds (a dry run of 10,000 agents
    would otherwise write 30,000 lines to the terminal), and every `TICK` seconds while calls are
    out, so the clock moves during a long call."""

    TICK = 0.25
    FRAME = 0.05

    def __init__(self, stream: TextIO, members: int) -> None:
        self.stream = stream
        self.members = members
        self.running: dict[str, None] = {}  # in the order they started
        self.failed: dict[str, None] = {}
        self.done = self.skipped = self.tokens = 0
        self.t = 0.0
        self.drawn = -self.FRAME  # when the line was last drawn

    def __call__(self, record: dict[str, Any]) -> None:
        kind = record["event"]
        agent = record.get("agent", "")
        if kind == "activated":
            self.running[agent] = None
        elif kind == "completed":
            self.running.pop(agent, None)
            self.done += 1
        elif kind == "failed":
            self.running.pop(agent, None)
            self.failed[agent] = None
        elif kind == "skipped":
            self.skipped += 1
        elif kind == "usage":
            self.tokens += record["input"] + record["output"]
        self.t = max(self.t, record["t"])
        if self.t - self.drawn >= self.FRAME:
            self.draw(self.t)

    def draw(self, t: float) -> None:
        self.t = self.drawn = max(self.t, t)
        seen = len(self.running) + self.done + len(self.failed) + self.skipped
        waiting = max(0, self.members - seen)
        head = f"waiting {waiting}  running {len(self.running)}"
        tail = (
            f"  done {self.done}  failed {len(self.failed)}  skipped {self.skipped}  "
            f"tokens {self.tokens}  t {self.t:.1f}s"
        )
        width = shutil.get_terminal_size((80, 24)).columns - 1
        names = fitting_names(list(self.running), width - len(head) - len(tail) - 3)
        failed = fitting_names(list(self.failed), width - len(head) - len(tail) - len(names) - 14)
        line = head + (f" ({names})" if names else "") + tail
        line += f"  failed: {failed}" if failed else ""
        self.stream.write(f"\r\x1b[2K{line[:width]}")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own above the status line."""
        self.stream.write(f"\r\x1b[2K{text}\n")
        self.draw(self.t)

    def close(self) -> None:
        """The last state, and the line is left as it is."""
        self.draw(self.t)
        self.stream.write("\n")
        self.stream.flush()


def fitting_names(names: list[str], room: int) -> str:
    """As many of `names` as fit in `room` characters, then `+N` for the others."""
    shown: list[str] = []
    used = 0
    for i, name in enumerate(names):
        cost = len(name) + (2 if shown else 0)
        others = len(names) - i - 1
        if used + cost + (len(f" +{others}") if others else 0) > room:
            return ", ".join(shown) + f" +{len(names) - i}" if shown else ""
        shown.append(name)
        used += cost
    return ", ".join(shown)


class Console:
    """The listener of `axoc run`: every record as one JSON line on stdout with `--json`, else
    the live status on a terminal; in both cases, budget warnings and retries on stderr (what
    `overflow_policy: warn` logs). A closed stdout raises `OutputClosed`."""

    def __init__(self, as_json: bool, live: Live | None) -> None:
        self.as_json = as_json
        self.live = live

    def __call__(self, record: dict[str, Any]) -> None:
        if self.as_json:
            emit(record)
        elif self.live is not None:
            self.live(record)
        kind = record["event"]
        if kind == "budget_warning":
            self.note(f"axoc run: warning: budget: {record['message']}")
        elif kind == "retry":
            self.note(
                f"axoc run: {record['agent']}: attempt {record['attempt']} failed "
                f"({record['error']}); retrying in {record['delay']:g} s"
            )

    def note(self, text: str) -> None:
        if self.live is not None and not self.as_json:
            self.live.note(text)
        else:
            print(text, file=sys.stderr, flush=True)


class OutputClosed(Exception):
    """stdout was closed by its reader (`axoc run --json ... | head -1`)."""


def emit(record: dict[str, Any]) -> None:
    try:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError as exc:
        silence_stdout()
        raise OutputClosed from exc


def silence_stdout() -> None:
    """After EPIPE: further writes (and the interpreter's final flush) go nowhere."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
