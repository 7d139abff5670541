"""Sleep-time consolidation: an idle agent's recent semantic memories turned into core-memory
edits by one budgeted model call.

In: the state directory, the config's compiled `Runnable` (its table, its `consolidation:` and
`memory:` settings), an agent, the time. Out: a `Pass` — the run to start (a table holding the
agent alone, under the workflow `consolidate:<agent>`, with no tools, no skills and no
triggers, so the run is exactly one model call) and its input (the memories) — and, once the
run has answered, `Pass.finish`: the proposed edits applied through the same checks as the
agent's own core-memory tools (limits, read-only blocks, unknown blocks, text not found), and
the pass recorded in `<state>/memory/consolidation.json`.

Which agents: those with core memory (a `core_memory_*` tool or blocks of their own) and
semantic memory (a recall tool, `memory.enabled` true) and at least one block they may edit.

When (`due`): the agent has memories newer than its last consolidation (`through`); its newest
memory is at least `idle_threshold_secs` old (each finished activation stores one, so that is
the time since it last worked); and its last attempt is at least `interval_secs` old. The
newest `recent` of the new memories are read. A pass whose run does not answer (a budget
refusal, a provider error, a kill) leaves `through` where it was — the next pass reads those
memories again —, but counts as an attempt for `interval_secs`, so a failing provider is not
called every minute.

The run is an ordinary run (journaled, budgeted, retried, in `axoc runs list` and the tokens
report, origin `consolidation`); the agent's budgets, sampling, timeout and provider apply. Its
system prompt is `INSTRUCTIONS` then the agent's `## Core Memory` section, as the agent sees it
when the pass is prepared; its input lists the memories. An interrupted consolidation is not
resumed: the next pass reads its memories again.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axoc.kernel.files import ensure_dir
from axoc.kernel.table import AgentSpec
from axoc.memory.core import (
    DEFAULT_BLOCKS,
    CoreMemory,
    CoreStore,
    EditRefused,
    MemoryFileError,
    uses_core,
)
from axoc.memory.run import uses_recall
from axoc.memory.stored import Recollection, recollections
from axoc.runnable import Runnable, Target
from axoc.statedir import locked, write_text
from axoc.wording import shortened

if TYPE_CHECKING:
    from axoc.config import Consolidation

PREFIX = "consolidate:"  # the workflow of a consolidation run: consolidate:<agent>
ORIGIN = "consolidation"  # in the run's header
STATE_FILE = "consolidation.json"  # in <state>/memory/
MAX_MEMORY = 1500  # characters of one memory shown to the model
MAX_EDITS = 20  # edits applied from one answer; the rest are refused
# a pass that ran to its answer (else its status is the run's stop reason: failed, ...)
PASS_STATUSES = ("consolidated", "no_edits", "unreadable_answer")

INSTRUCTIONS = """\
You consolidate the long-term memory of an AI agent while it is idle. The agent sees its core \
memory blocks (below) at the start of every activation; the user message lists its most \
recent memories of earlier activations, which it sees only when they are recalled.

Propose edits that move durable facts from the recent memories into the core blocks: what was \
learnt about the user, the project, or how the agent should work. Correct facts the memories \
show are out of date; condense a block that nears its limit. Leave out one-off details, \
greetings and anything already in the blocks. Respect each block's character limit; read-only \
blocks cannot be edited.

Answer with one JSON object and nothing else:
{"edits": [
  {"op": "append", "block": "<label>", "text": "<a new line to add>"},
  {"op": "replace", "block": "<label>", "old": "<exact text in the block>", "new": "<text>"},
  {"op": "set", "block": "<label>", "value": "<the whole new value>"}
]}
Answer {"edits": []} when nothing is worth keeping."""


def consolidates(agent: AgentSpec, semantic_enabled: bool = True) -> bool:
    """Whether `agent` is consolidated (see the module's docstring)."""
    return (
        semantic_enabled
        and uses_core(agent)
        and uses_recall(agent)
        and any(not block.read_only for block in agent.memory.blocks)
    )


def settings_of(loaded: Runnable) -> Consolidation:
    """The config's `consolidation:` settings, or their defaults where it has none."""
    if loaded.consolidation is not None:
        return loaded.consolidation
    from axoc.config import Consolidation

    return Consolidation()


def candidates(loaded: Runnable) -> list[AgentSpec]:
    """The agents of `loaded` that consolidation serves (see the module's docstring)."""
    semantic = loaded.memory is None or loaded.memory.enabled
    return [a for a in loaded.table.agents if consolidates(a, semantic)]


# --- what was done: <state>/memory/consolidation.json --------------------------------------------


class Passes:
    """Each agent's last consolidation: `{"format": 1, "agents": {id: {"attempted", "through",
    "run_id", "status", "applied", "refused"}}}` — times in seconds since the epoch. Written
    atomically under a `flock` (a daemon and `axoc memory consolidate` may both write it)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "memory" / STATE_FILE

    def read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise MemoryFileError(f"{self.path}: cannot be read: {exc}") from None
        try:
            agents = json.loads(text)["agents"]
        except (ValueError, KeyError, TypeError):
            raise MemoryFileError(
                f"{self.path}: not a consolidation record (no 'agents' object); move it "
                "aside to start over"
            ) from None
        if not isinstance(agents, dict):
            raise MemoryFileError(f"{self.path}: 'agents' is not an object")
        return {str(k): v for k, v in agents.items() if isinstance(v, dict)}

    def last(self, agent: str) -> dict[str, Any]:
        return self.read().get(agent, {})

    def record(self, agent: str, entry: dict[str, Any]) -> None:
        """`entry` as the agent's last pass; `MemoryFileError` when the file cannot be written."""
        try:
            with locked(self.path):
                agents = self.read()
                agents[agent] = entry
                document = {"format": 1, "agents": dict(sorted(agents.items()))}
                write_text(self.path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise MemoryFileError(f"{self.path}: cannot be written: {exc}") from None


class Claim:
    """One process's exclusive hold on consolidating one agent — a `flock` on
    `<state>/memory/consolidation-<agent>.lock` — so a daemon and `axoc memory consolidate`
    never consolidate one agent at once (each would apply the same edits). The kernel lets go of
    it when its process dies."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, root: Path, agent: str) -> Claim | None:
        """The claim, or None when another process holds it; `MemoryFileError` when the lock
        file cannot be made."""
        path = root / "memory" / f"consolidation-{agent}.lock"
        try:
            ensure_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise MemoryFileError(f"{path}: cannot be made: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # lets go of the flock
            self._fd = None


BUSY = "another process is consolidating it now"

# --- when ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """The memories a pass reads, or why none is due (`why`, for a person)."""

    memories: tuple[Recollection, ...] = ()
    why: str = ""
    since: float = 0.0  # the newest memory the agent's last consolidation took in (0: none)


def due(root: Path, agent: str, settings: Consolidation, now: float, *, force: bool = False) -> Due:
    """Whether `agent` is due (see the module's docstring); `force` skips the idle and interval
    waits, never the need for new memories."""
    last = Passes(root).last(agent)
    through = _number(last.get("through"))
    new = [m for m in recollections(root, agent) if m.time > through]
    if not new:
        return Due(why="no new memories since its last consolidation")
    if not force:
        idle = now - new[-1].time
        if idle < settings.idle_threshold_secs:
            return Due(why=f"not idle: its last memory is {idle:.0f} s old, the threshold "
                           f"{settings.idle_threshold_secs} s")  # fmt: skip
        since = now - _number(last.get("attempted"))
        if "attempted" in last and since < settings.interval_secs:
            return Due(why=f"consolidated {since:.0f} s ago; the interval is "
                           f"{settings.interval_secs} s")  # fmt: skip
    return Due(tuple(new[-settings.recent :]), since=through)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """One consolidation of one agent: the run to start, and what it read."""

    agent: AgentSpec
    memories: tuple[Recollection, ...]
    runnable: Runnable
    input: str
    since: float  # the `through` of the agent's last pass, kept when this one does not answer

    @property
    def through(self) -> float:
        return self.memories[-1].time

    def finish(
        self, root: Path, core: CoreMemory, run_id: str, status: str, answer: str | None,
        now: float, error: str = "",
    ) -> Report:  # fmt: skip
        """The answer's edits applied (when the run answered: else `status` is its stop
        reason and `error` why), the pass recorded."""
        if answer is None:
            report = Report(self.agent.id, run_id, status, len(self.memories), error=error)
        else:
            report = apply(self.agent, core, answer, run_id, len(self.memories))
        entry = {
            "attempted": now, "run_id": run_id, "status": report.status,
            "applied": len(report.applied), "refused": report.refused, "error": report.error,
            "through": self.through if answer is not None else self.since,
        }  # fmt: skip
        if not core.dry_run:  # a dry run writes no memory, and no record of a pass
            Passes(root).record(self.agent.id, entry)
        return report


def prepare(root: Path, loaded: Runnable, agent: str, found: Due) -> Pass:
    """The consolidation run of `agent` (of `loaded`, compiled from the config) reading the
    memories `found`, with the agent's core memory (in the state directory `root`) as it is
    now."""
    from axoc.lower import solo

    spec = loaded.table.by_id("agents")[agent]
    # The blocks are in the system prompt already; the run's agent has no memory of its own
    # (its run makes no memory port: axoc.memory.setup), so the session adds nothing to it.
    system = f"{INSTRUCTIONS}\n\n{CoreMemory(CoreStore(root)).render(spec)}"
    none = replace(spec.memory, blocks=DEFAULT_BLOCKS, passive_inject=False)
    alone = replace(spec, system_prompt=system, tools=(), emits=(), depends_on=(), memory=none)
    provider = [p for p in loaded.table.providers if p.name == spec.provider]
    bare = loaded.table.derived(
        providers=tuple(provider), agents=(alone,), workflows=(), skills=(), schedules=(),
        proactive=(), tools=(), units=(), routes=(), mcp_servers=(),
    )  # fmt: skip
    runnable = replace(
        loaded,
        table=solo(bare, agent, PREFIX),
        target=Target(workflow=f"{PREFIX}{agent}", agent=agent),
        note=None, web_search=None, fetch_url=None, mcp_values={},
    )  # fmt: skip
    return Pass(spec, found.memories, runnable, render_input(spec, found.memories), found.since)


def render_input(agent: AgentSpec, memories: tuple[Recollection, ...]) -> str:
    lines = [
        f"The agent '{agent.id}' works to these instructions:",
        shortened(agent.system_prompt, 2000) or "(none)",
        "",
        f"Its {len(memories)} most recent memories not consolidated yet, oldest first:",
    ]
    for memory in memories:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(memory.time))
        lines.append(f"- [{when}] {shortened(' '.join(memory.text.split()), MAX_MEMORY)}")
    return "\n".join(lines)


def claim_pass(
    root: Path, loaded: Runnable, agent: str, now: float, *, force: bool = False
) -> tuple[Pass, Claim] | str:
    """The pass of `agent` that is due now, with the claim on the agent that the caller lets go
    of when the pass ends; else why there is none (another process consolidates the agent, or
    `due` says why). What `axoc memory consolidate` and `axoc serve` both start from."""
    claim = Claim.take(root, agent)
    if claim is None:
        return BUSY
    try:
        found = due(root, agent, settings_of(loaded), now, force=force)
        if found.memories:
            return prepare(root, loaded, agent, found), claim
    except BaseException:
        claim.release()
        raise
    claim.release()
    return found.why


# --- the answer ----------------------------------------------------------------------------------


@dataclass
class Report:
    """What one pass did."""

    agent: str
    run_id: str
    status: str  # consolidated, no_edits, unreadable_answer, or the run's stop reason
    memories: int
    applied: list[str] = field(default_factory=list)  # what each applied edit did
    refused: list[str] = field(default_factory=list)  # why each refused edit was refused
    error: str = ""  # why the run did not answer

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent, "run_id": self.run_id, "status": self.status,
            "memories": self.memories, "applied": self.applied, "refused": self.refused,
            "error": self.error,
        }  # fmt: skip


def apply(agent: AgentSpec, core: CoreMemory, answer: str, run_id: str, memories: int) -> Report:
    """The edits `answer` proposes, each applied through `core` as the agent's tool would be
    (its limit, read-only and missing-text checks); one refused changes nothing and does not
    stop the others."""
    report = Report(agent.id, run_id, "consolidated", memories)
    edits = proposed(answer)
    if edits is None:
        report.status = "unreadable_answer"
        report.refused.append(
            'the answer is not a JSON object {"edits": [...]}; nothing was changed: '
            + json.dumps(shortened(answer.strip(), 200))
        )
        return report
    for number, edit in enumerate(edits, 1):
        if number > MAX_EDITS:
            report.refused.append(f"edit {number}: over {MAX_EDITS} edits in one pass")
            continue
        try:
            report.applied.append(f"edit {number}: " + _edit(agent, core, edit))
        except (EditRefused, MemoryFileError) as refused:
            report.refused.append(f"edit {number}: {refused}")
    if not report.applied:
        report.status = "no_edits"
    return report


_FIELDS = {
    "append": ("block", "text"),
    "replace": ("block", "old", "new"),
    "set": ("block", "value"),
}


def _edit(agent: AgentSpec, core: CoreMemory, edit: Any) -> str:
    if not isinstance(edit, Mapping):
        raise EditRefused(f"not an object: {json.dumps(edit)[:120]}")
    op = edit.get("op")
    if op not in _FIELDS:
        raise EditRefused(f"'op' is {json.dumps(op)}, not append, replace or set")
    missing = [name for name in _FIELDS[op] if not isinstance(edit.get(name), str)]
    if missing:
        raise EditRefused(f"{op}: {', '.join(repr(m) for m in missing)} must be text")
    if op == "append":
        return core.append(agent, edit["block"], edit["text"])
    if op == "replace":
        return core.replace(agent, edit["block"], edit["old"], edit["new"])
    return core.set(agent, edit["block"], edit["value"])


def proposed(answer: str) -> list[Any] | None:
    """The `edits` list of the answer's JSON object — the whole answer, or inside a ``` fence,
    or from its first `{` to its last `}` — or None when there is none."""
    text = answer.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        found = json.loads(text[start : end + 1])
    except (ValueError, RecursionError):
        return None
    edits = found.get("edits") if isinstance(found, dict) else None
    return edits if isinstance(edits, list) else None
