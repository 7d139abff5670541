"""Core memory (tier 3, MemGPT/Letta style): named text blocks an agent edits with tools and sees
in its system prompt under `## Core Memory`.

In: the state directory, and the agents' block settings (`axoc.kernel.table.CoreBlock`: label,
initial value, character limit, `shared`, `read_only`, description; the plan holds persona 2000,
human 2000, project 3000 when the config lists none). Out: `CoreStore` — the blocks on disk —
and `CoreMemory`, the blocks of a run's agents: `render(agent)`, and the three edits behind the
tools, `append`, `replace` (first occurrence) and `set`.

Layout: `<state>/memory/agents/<agent>.json` holds an agent's own blocks, `<state>/memory/
shared.json` the `shared: true` blocks every agent that declares the label reads and edits. A
file is `{"format": 1, "blocks": {label: {"value", "limit", "read_only", "description",
"updated"}}}`; a block not in its file yet has its configured initial value.

Guarantees:
- **No lost update**: an edit reads, changes and writes its file under an exclusive `flock` on
  `<file>.lock`, held across the read-modify-write, so two agents or two processes editing one
  block both land, in some order.
- **Atomic**: a file is replaced with temp + fsync + rename + fsync of the directory
  (`axoc.statedir.write_text`): a reader, or a process killed mid-write, sees the old file or
  the new one.
- **Limits**: an edit that would leave a block over its limit (0: no limit) changes nothing and
  is an `EditRefused` naming the limit and the block's current size; so is an edit of a
  `read_only` block, of an unknown label, or a replace whose `old` text does not occur. The
  limit and `read_only` are the config's (the run's plan); the file keeps the last ones seen,
  for `axoc memory` without a config.
- A file that is not a core-memory file (unreadable, not JSON) is a `MemoryFileError` naming
  it, never a traceback; the run refuses (an edit never overwrites what it could not read).
- Dry runs (`dry_run=True`) read the blocks on disk and keep edits in this process only: the
  agent sees its edits within the run, nothing is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axoc.kernel.table import AgentSpec, CoreBlock
from axoc.statedir import locked, write_text
from axoc.wording import shortened

FORMAT = 1
SHARED = None  # the scope of shared blocks (an agent's own blocks: its id)
Scope = str | None
DEFAULT_LIMITS = {"persona": 2000, "human": 2000, "project": 3000}
# the blocks of an agent that configures none (`axoc.lower`)
DEFAULT_BLOCKS = tuple(
    CoreBlock(label, "", limit, False, "") for label, limit in DEFAULT_LIMITS.items()
)
# Their fields as uses_core compares them, made once (it is asked of every agent of a run).
_DEFAULT_FIELDS = tuple(
    (b.label, b.value, b.limit, b.shared, b.description) for b in DEFAULT_BLOCKS
)
CORE_HEADER = "## Core Memory"


class MemoryFileError(Exception):
    """A core-memory file that cannot be read or written; the message names it."""


class EditRefused(Exception):
    """An edit that would break a rule (limit, read-only, unknown block, absent text); the
    message says what to do instead, for the model that asked."""


@dataclass(frozen=True, slots=True)
class Block:
    """A block as stored: its value and the settings last seen for it."""

    label: str
    value: str
    limit: int = 0
    read_only: bool = False
    description: str = ""
    updated: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value, "limit": self.limit, "read_only": self.read_only,
            "description": self.description, "updated": self.updated,
        }  # fmt: skip


class CoreStore:
    """The core-memory files of one state directory."""

    def __init__(self, state: Path) -> None:
        self.root = state / "memory"

    def path(self, scope: Scope) -> Path:
        if scope is SHARED:
            return self.root / "shared.json"
        return self.root / "agents" / f"{scope}.json"

    def scopes(self) -> list[Scope]:
        """The scopes with a file: shared first, then agents by id."""
        found: list[Scope] = [SHARED] if self.path(SHARED).is_file() else []
        folder = self.root / "agents"
        if folder.is_dir():
            found.extend(sorted(p.stem for p in folder.glob("*.json")))
        return found

    def read(self, scope: Scope) -> dict[str, Block]:
        """The blocks stored for `scope` (none when it has no file). Needs no lock: files are
        replaced atomically."""
        path = self.path(scope)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise MemoryFileError(f"{path}: cannot be read: {exc}") from None
        return _parse(path, text)

    @contextmanager
    def editing(self, scope: Scope) -> Iterator[dict[str, Block]]:
        """The blocks of `scope` under its exclusive lock, written back (atomically) when the
        block leaves without an exception and changed them."""
        path = self.path(scope)
        with locked(path):
            blocks = self.read(scope)
            before = dict(blocks)
            yield blocks
            if blocks != before:
                document = {
                    "format": FORMAT,
                    "blocks": {label: b.as_json() for label, b in sorted(blocks.items())},
                }
                write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _parse(path: Path, text: str) -> dict[str, Block]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MemoryFileError(f"{path}: not JSON: {exc}") from None
    blocks = document.get("blocks") if isinstance(document, dict) else None
    if not isinstance(blocks, dict):
        raise MemoryFileError(f"{path}: not a core-memory file (no 'blocks' object)")
    found: dict[str, Block] = {}
    for label, entry in blocks.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            raise MemoryFileError(f"{path}: block '{label}' has no text 'value'")
        limit = entry.get("limit", 0)
        found[label] = Block(
            label, entry["value"], limit if isinstance(limit, int) else 0,
            entry.get("read_only") is True, str(entry.get("description", "")),
            str(entry.get("updated", "")),
        )  # fmt: skip
    return found


def scope_of(agent: str, block: CoreBlock) -> Scope:
    return SHARED if block.shared else agent


def uses_core(agent: AgentSpec) -> bool:
    """Whether core memory is shown to `agent`: it lists a core_memory_* tool, or configures
    blocks other than the defaults."""
    if any(name.startswith("core_memory_") for name in agent.tools):
        return True
    blocks = agent.memory.blocks
    return tuple((b.label, b.value, b.limit, b.shared, b.description) for b in blocks) != (
        _DEFAULT_FIELDS
    )


def check_limit(tool: str, block: CoreBlock | Block, new: str, old: str) -> None:
    if block.limit and len(new) > block.limit:
        raise EditRefused(
            f"{tool}: block '{block.label}' would hold {len(new)} characters, over its limit of "
            f"{block.limit} (it holds {len(old)} now); nothing was changed: write less, or "
            "condense the block with core_memory_replace or core_memory_set"
        )


class CoreMemory:
    """The core memory of a run's agents, over a `CoreStore`. Safe to call from several
    threads (edits lock their file); its methods block on file I/O: call them off the event
    loop."""

    def __init__(self, store: CoreStore, *, dry_run: bool = False) -> None:
        self.store = store
        self.dry_run = dry_run
        self._overlay: dict[tuple[Scope, str], str] = {}  # dry runs: edits kept in memory

    def values(self, agent: AgentSpec) -> list[tuple[CoreBlock, str]]:
        """The agent's blocks, in the configured order, with their current values."""
        stored: dict[Scope, dict[str, Block]] = {}
        found = []
        for block in agent.memory.blocks:
            scope = scope_of(agent.id, block)
            if scope not in stored:
                stored[scope] = self.store.read(scope)
            value = self._overlay.get((scope, block.label))
            if value is None:
                kept = stored[scope].get(block.label)
                value = kept.value if kept is not None else block.value
            found.append((block, value))
        return found

    def render(self, agent: AgentSpec) -> str:
        """The `## Core Memory` section of the agent's system prompt."""
        lines = [
            CORE_HEADER,
            "Your memory blocks, kept across activations and runs. Edit them with "
            "core_memory_append, core_memory_replace and core_memory_set.",
        ]
        for block, value in self.values(agent):
            notes = [f"{len(value)}/{block.limit or 'unlimited'} characters"]
            if block.read_only:
                notes.append("read-only")
            if block.shared:
                notes.append("shared with the team")
            lines.append(f"<{block.label} {'; '.join(notes)}>")
            if block.description:
                lines.append(f"({block.description})")
            lines.append(value)
            lines.append(f"</{block.label}>")
        return "\n".join(lines)

    def append(self, agent: AgentSpec, label: str, text: str) -> str:
        def change(old: str) -> str:
            return f"{old}\n{text}" if old else text

        return self._edit("core_memory_append", agent, label, change)

    def replace(self, agent: AgentSpec, label: str, old: str, new: str) -> str:
        if not old:
            raise EditRefused("core_memory_replace: 'old' is empty: say which text to replace")

        def change(value: str) -> str:
            if old not in value:
                shown = shortened(value, 400)
                raise EditRefused(
                    f"core_memory_replace: the text {json.dumps(old)} does not occur in block "
                    f"'{label}'; nothing was changed. Its value is: {json.dumps(shown)}"
                )
            return value.replace(old, new, 1)

        return self._edit("core_memory_replace", agent, label, change)

    def set(self, agent: AgentSpec, label: str, value: str) -> str:
        return self._edit("core_memory_set", agent, label, lambda _old: value)

    def _edit(self, tool: str, agent: AgentSpec, label: str, change: Callable[[str], str]) -> str:
        block = _block(tool, agent.memory.blocks, label)
        if block.read_only:
            raise EditRefused(f"{tool}: block '{label}' is read-only; nothing was changed")
        scope = scope_of(agent.id, block)
        if self.dry_run:
            old = self._overlay.get((scope, label))
            if old is None:
                kept = self.store.read(scope).get(label)
                old = kept.value if kept is not None else block.value
            new = change(old)
            check_limit(tool, block, new, old)
            self._overlay[(scope, label)] = new
            return _done(block, new, dry_run=True)
        with self.store.editing(scope) as blocks:
            kept = blocks.get(label)
            old = kept.value if kept is not None else block.value
            new = change(old)
            check_limit(tool, block, new, old)
            blocks[label] = stored_block(block, new)
        return _done(block, new, dry_run=False)


def stored_block(block: CoreBlock, value: str) -> Block:
    updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return Block(block.label, value, block.limit, block.read_only, block.description, updated)


def _block(tool: str, blocks: Sequence[CoreBlock], label: str) -> CoreBlock:
    for block in blocks:
        if block.label == label:
            return block
    labels = ", ".join(b.label for b in blocks) or "none"
    raise EditRefused(f"{tool}: no core memory block '{label}' (blocks: {labels})")


def _done(block: CoreBlock, value: str, *, dry_run: bool) -> str:
    limit = f"/{block.limit}" if block.limit else ""
    note = " (dry run: kept for this run only)" if dry_run else ""
    return f"block '{block.label}' updated: {len(value)}{limit} characters{note}"
