"""An agent's semantic memories as `memories.jsonl` holds them — texts and times, read without
the model or the index (so `axoc memory export` and consolidation need no `axoc[memory]` extra).

In: the folder of semantic memory (`<state>/memory/semantic`). Out: `Recollection`s, oldest
first; a torn or foreign line is left out (the store itself repairs it: `axoc.memory.semantic`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from axoc.memory.core import MemoryFileError

FILE = "memories.jsonl"


class Recollection(NamedTuple):
    time: float  # seconds since the epoch, UTC
    text: str


def folder_of(root: Path) -> Path:
    """The semantic memory of the state directory `root`."""
    return root / "memory" / "semantic"


def agents_with_memories(root: Path) -> list[str]:
    folder = folder_of(root)
    if not folder.is_dir():
        return []
    return sorted(lines.parent.name for lines in folder.glob(f"*/{FILE}"))


def recollections(root: Path, agent: str) -> list[Recollection]:
    """The agent's memories, oldest first (none when it has no file); `MemoryFileError` when
    the file cannot be read."""
    lines = folder_of(root) / agent / FILE
    try:
        text = lines.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MemoryFileError(f"{lines}: cannot be read: {exc}") from None
    found = []
    for raw in text.splitlines():
        try:
            entry = json.loads(raw)
            found.append(Recollection(float(entry["time"]), str(entry["text"])))
        except (ValueError, KeyError, TypeError, RecursionError):
            continue
    return sorted(found, key=lambda r: r.time)
