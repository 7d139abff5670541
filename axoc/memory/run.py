"""A run's memory: the `MemoryPort` the kernel's sessions use, over core memory (tier 3) and,
when it is on, semantic memory (tier 4).

In: the state directory, the run's table, whether it is a dry run, the config's `memory:`
settings. Out: `RunMemory` — `uses(agent)`, `context(agent, prompt)` (the `## Core Memory` and
`## Relevant memory` sections of the system prompt), `remember(agent, prompt, answer)` (one
semantic memory per finished activation) — and the tool bodies behind `recall_search` and
`recall_timeframe`; `close()` at the run's end.

Storing is off the turn: `remember` hands the memory to one worker thread and returns; the
agent's next `context` waits until its last memory is stored (so it can be recalled), and
`close` waits for all. A memory that fails to store is a warning, never a failed run; one whose
process is killed before the worker wrote it is lost (the run's journal keeps the answer).

Which agents have memory: core memory is shown to an agent that lists a `core_memory_*` tool or
configures its own blocks (`axoc.memory.core.uses_core`); semantic memory serves an agent that
lists `recall_search` or `recall_timeframe`, when the config's `memory.enabled` is true (the
default). Other agents' prompts are exactly what they were without memory.

Dry runs read memory (blocks and recall) and write none: core edits stay in the process
(`CoreMemory(dry_run=True)`), nothing is stored in the semantic index.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axoc.kernel.table import AgentSpec
from axoc.memory.core import CoreMemory, CoreStore, EditRefused, uses_core
from axoc.wording import shortened

if TYPE_CHECKING:
    from axoc.memory.semantic import SemanticStore

RECALL_TOOLS = ("recall_search", "recall_timeframe")
RELEVANT_HEADER = "## Relevant memory"
MAX_TIMEFRAME = 50  # memories recall_timeframe lists at most


def uses_recall(agent: AgentSpec) -> bool:
    return any(name in RECALL_TOOLS for name in agent.tools)


class RunMemory:
    """The memory of one run (see the module's docstring)."""

    def __init__(
        self, core: CoreMemory, semantic: SemanticStore | None = None, *, dry_run: bool = False
    ) -> None:
        self.core = core
        self.semantic = semantic
        self.dry_run = dry_run
        # Memories are stored by one worker thread, in the order the turns finished, off the
        # turn: `remember` returns at once; the agent's next `context` waits for its last one.
        self._storing: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[int]] = {}

    @classmethod
    def open(
        cls, state: Path, *, dry_run: bool, semantic: SemanticStore | None = None
    ) -> RunMemory:
        return cls(CoreMemory(CoreStore(state), dry_run=dry_run), semantic, dry_run=dry_run)

    # --- the kernel's port -----------------------------------------------------------------------

    def uses(self, agent: AgentSpec) -> bool:
        return uses_core(agent) or self._recalls(agent)

    def _recalls(self, agent: AgentSpec) -> bool:
        return self.semantic is not None and uses_recall(agent)

    async def context(self, agent: AgentSpec, prompt: str) -> str:
        pending = self._pending.get(agent.id)
        if pending is not None:  # the agent's last memory is being stored: recall sees it
            await asyncio.wait([asyncio.wrap_future(pending)])
        return await asyncio.to_thread(self.context_now, agent, prompt)

    def context_now(self, agent: AgentSpec, prompt: str) -> str:
        parts = []
        if uses_core(agent):
            parts.append(self.core.render(agent))
        settings = agent.memory
        if self._recalls(agent) and settings.passive_inject and prompt.strip():
            assert self.semantic is not None
            hits = self.semantic.search(agent.id, prompt, settings.top_k, settings.min_score)
            if hits:
                lines = [RELEVANT_HEADER, "Memories of earlier activations close to this task:"]
                lines.extend(f"- [{hit.when}] {_one_line(hit.text)}" for hit in hits)
                parts.append("\n".join(lines))
        return "\n\n".join(parts)

    async def remember(self, agent: AgentSpec, prompt: str, answer: str) -> None:
        if self.dry_run or not self._recalls(agent) or not answer.strip():
            return
        semantic = self.semantic
        assert semantic is not None
        text = f"Asked: {shortened(prompt, 500)}\nAnswered: {answer}" if prompt.strip() else answer
        if self._storing is None:
            self._storing = ThreadPoolExecutor(1, thread_name_prefix="axoc-memory")
        stored = self._storing.submit(semantic.add, agent.id, text, time.time())
        stored.add_done_callback(self._failed)
        self._pending[agent.id] = stored

    def _failed(self, stored: Future[int]) -> None:
        error = stored.exception()
        if error is not None and self.semantic is not None:
            why = f"{type(error).__name__}: {error}"
            self.semantic.warnings.append(f"a memory could not be stored: {why}")

    def close(self) -> list[str]:
        """Finish storing, save the semantic indexes that changed; the warnings of the run's
        memory (an index rebuilt, a line skipped, a memory or index that could not be
        written), once each."""
        if self.semantic is None:
            return []
        if self._storing is not None:
            self._storing.shutdown(wait=True)
            self._storing = None
        try:
            if not self.dry_run:  # a dry run writes no memory, a repaired index included
                self.semantic.close()
        except OSError as exc:
            self.semantic.warnings.append(
                f"a semantic index could not be saved ({exc}); it is rebuilt from its "
                "memories.jsonl when next opened"
            )
        return list(dict.fromkeys(self.semantic.warnings))

    # --- the recall tools ------------------------------------------------------------------------

    def search_text(self, agent: AgentSpec, arguments: Mapping[str, Any]) -> str:
        assert self.semantic is not None
        k = min(20, max(1, int(arguments.get("k", 5))))
        hits = self.semantic.search(agent.id, str(arguments["query"]), k, 0.0)
        if not hits:
            return "no memories yet"
        return "\n".join(f"[{h.when}] (score {h.score:.2f}) {_one_line(h.text)}" for h in hits)

    def timeframe_text(self, agent: AgentSpec, arguments: Mapping[str, Any]) -> str:
        assert self.semantic is not None
        start, end = _timeframe(arguments)
        found = self.semantic.between(agent.id, start.timestamp(), end.timestamp())
        if not found:
            return f"no memories between {_iso(start)} and {_iso(end)}"
        shown = found[:MAX_TIMEFRAME]
        more = len(found) - len(shown)
        tail = [f"({more} more: narrow the timeframe)"] if more else []
        return "\n".join([*(f"[{h.when}] {_one_line(h.text)}" for h in shown), *tail])


def _one_line(text: str) -> str:
    """A memory as one line of a list: its whitespace runs (newlines too) made one space."""
    return " ".join(text.split())


def _timeframe(arguments: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """The UTC interval `date` (that whole day) or `from`..`to` (a date's `to` is the whole
    day); refused (EditRefused, a message for the model) when neither is given or unreadable."""
    date = arguments.get("date")
    if date is not None:
        day = _parse(str(date), "date")
        return day, day + timedelta(days=1) - timedelta(microseconds=1)
    if "from" not in arguments and "to" not in arguments:
        raise EditRefused("recall_timeframe: give 'date' (YYYY-MM-DD) or 'from' and/or 'to'")
    start = _parse(str(arguments["from"]), "from") if "from" in arguments else datetime.min
    end = datetime.max
    if "to" in arguments:
        given = str(arguments["to"])
        end = _parse(given, "to")
        if len(given) == 10:  # a date: the whole day
            end = end + timedelta(days=1) - timedelta(microseconds=1)
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end
    if end < start:
        raise EditRefused(f"recall_timeframe: 'to' ({_iso(end)}) is before 'from' ({_iso(start)})")
    return start, end


def _parse(text: str, name: str) -> datetime:
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise EditRefused(
            f"recall_timeframe: '{name}' is not a date (YYYY-MM-DD) or ISO 8601 time: {text!r}"
        ) from None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")
