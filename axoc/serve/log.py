"""The daemon's log: one line per happening on stderr, `axoc serve: ...`, flushed at once (a
supervisor reading the stream sees each line as it happens)."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    print(f"axoc serve: {text}", file=sys.stderr, flush=True)


def warn(text: str) -> None:
    say(f"warning: {text}")
