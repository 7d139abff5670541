"""`axoc memory show|edit|export`: a person reads and fixes what agents remember.

In: the state directory (`--state-dir`, as every command), optionally the config (FILE: its
agents' blocks, limits and initial values; without it, the blocks stored on disk), `--agent`.
Out: `show` prints each agent's core-memory blocks (and how many semantic memories it has);
`edit` sets one block (`--value TEXT` or `--file PATH`, `-` for standard input) under the
same lock and limit the tools use; `export` prints one JSON object: core blocks and semantic
memories (texts and times, not vectors).

Exit codes: 0 done; 1 `edit` refused by the block's limit (nothing written); 2 a usage error:
an unknown agent or block, a config with errors, an unreadable memory file or value file.
A person may edit a `read_only` block (read-only is a rule for agents' tools).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from axoc import runs
from axoc.fingerprint import Reads
from axoc.kernel.table import AgentSpec, CoreBlock
from axoc.memory.consolidation import PASS_STATUSES, Passes, Report, candidates, settings_of
from axoc.memory.core import (
    DEFAULT_LIMITS,
    SHARED,
    CoreMemory,
    CoreStore,
    EditRefused,
    MemoryFileError,
    Scope,
    check_limit,
    scope_of,
    stored_block,
)
from axoc.memory.stored import agents_with_memories, recollections
from axoc.runnable import Runnable, RunRefused, Target, prepare
from axoc.statedir import state_dir

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class Refused(Exception):
    """A usage error: the message is printed, the exit code is 2."""


def show(config: str | None, agent: str | None, state: str | None) -> int:
    return _guarded("show", lambda: _show(config, agent, state_dir(state)))


def edit(
    config: str | None, agent: str | None, shared: bool, label: str, value: str | None,
    file: str | None, state: str | None,
) -> int:  # fmt: skip
    def act() -> int:
        text = _value(value, file)
        return _edit(config, agent, shared, label, text, state_dir(state))

    return _guarded("edit", act)


def export(config: str | None, agent: str | None, state: str | None) -> int:
    def act() -> int:
        document = _export(config, agent, state_dir(state))
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK

    return _guarded("export", act)


def consolidate(
    config: str | None, agent: str | None, now: bool, dry_run: bool, as_json: bool,
    state: str | None,
) -> int:  # fmt: skip
    def act() -> int:
        from axoc.runtime.consolidating import run_due

        if config is None:
            raise Refused("name the config: axoc memory consolidate FILE")
        root = state_dir(state)
        reads = Reads(os.environ)
        loaded, chosen = _consolidated(config, agent, dry_run, reads)
        done = run_due(root, config, loaded, chosen, reads, force=now, dry_run=dry_run)
        reports = [d for d in done if isinstance(d, Report)]
        if as_json:
            found = [d.as_dict() if isinstance(d, Report) else
                     {"agent": d[0], "status": "not_due", "why": d[1]} for d in done]  # fmt: skip
            sys.stdout.write(json.dumps({"passes": found, "dry_run": dry_run}) + "\n")
        else:
            for d in done:
                sys.stdout.write(_pass_lines(d) if isinstance(d, Report) else
                                 f"{d[0]}: not due: {d[1]}\n")  # fmt: skip
        failed = [r for r in reports if r.status not in PASS_STATUSES]
        return EXIT_REFUSED if failed else EXIT_OK

    return _guarded("consolidate", act)


def _consolidated(
    config: str, agent: str | None, dry_run: bool, reads: Reads
) -> tuple[Runnable, list[str]]:
    """The compiled config and the agents to consolidate: `agent`, or every one that has core
    and semantic memory."""
    first = agent
    if first is None:  # compiled once more, for the id of one agent to compile it for
        agents = _agents(config) or []
        if not agents:
            raise Refused(f"{config} has no agents")
        first = agents[0].id
    try:
        loaded = prepare(config, Target(agent=first), dry_run, reads)
    except RunRefused as refused:
        raise Refused(str(refused)) from None
    if not settings_of(loaded).enabled:
        raise Refused(f"{config} turns consolidation off (consolidation.enabled: false)")
    served = [a.id for a in candidates(loaded)]
    if agent is not None and agent not in served:
        raise Refused(f"agent '{agent}' is not consolidated: {NEEDS}")
    if not served:
        raise Refused(f"no agent of {config} is consolidated: {NEEDS}")
    return loaded, [agent] if agent is not None else served


NEEDS = (
    "consolidation needs an agent with core memory (a core_memory_* tool or its own blocks, "
    "one not read-only) and semantic memory (recall_search or recall_timeframe, with "
    "memory.enabled)"
)


def _pass_lines(report: Report) -> str:
    edits = f"{len(report.applied)} edit(s) applied, {len(report.refused)} refused"
    lines = [f"{report.agent}: {report.status} ({report.memories} memories read; {edits}; "
             f"run {report.run_id})"]  # fmt: skip
    lines += [f"  applied {line}" for line in report.applied]
    lines += [f"  refused {line}" for line in report.refused]
    lines += [f"  error: {report.error}"] if report.error else []
    return "\n".join(lines) + "\n"


def _guarded(command: str, act: Any) -> int:
    try:
        code: int = act()
        return code
    except (Refused, MemoryFileError, RunRefused, runs.RunsError) as exc:
        print(f"axoc memory {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EditRefused as exc:
        print(f"axoc memory {command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED


# --- what there is -------------------------------------------------------------------------------


def _agents(config: str | None) -> list[AgentSpec] | None:
    """The config's agents (None without a config)."""
    if config is None:
        return None
    from axoc.pipeline import compile_file

    unit = compile_file(config, os.environ)
    if unit.lowered is None:
        first = unit.errors()[0].message if unit.errors() else "it does not compile"
        raise Refused(f"{config}: the config has errors ({first}); see: axoc check {config}")
    return list(unit.lowered.table.agents)


def _chosen(agents: list[AgentSpec], agent: str | None) -> list[AgentSpec]:
    if agent is None:
        return agents
    found = [a for a in agents if a.id == agent]
    if not found:
        ids = ", ".join(a.id for a in agents) or "none"
        raise Refused(f"no agent '{agent}' in the config (agents: {ids})")
    return found


def _stored_scopes(store: CoreStore, agent: str | None) -> list[Scope]:
    scopes = store.scopes()
    if agent is not None:
        if agent not in scopes:
            raise Refused(f"no core memory stored for agent '{agent}' in {store.root}")
        return [s for s in scopes if s in (SHARED, agent)]
    return scopes


def _show(config: str | None, agent: str | None, root: Path) -> int:
    store = CoreStore(root)
    agents = _agents(config)
    counts = _semantic_counts(root)
    try:
        passes = Passes(root).read()
    except MemoryFileError as exc:  # blocks are shown all the same
        print(f"axoc memory show: warning: {exc}", file=sys.stderr)
        passes = {}
    if agents is not None:
        memory = CoreMemory(store)
        for spec in _chosen(agents, agent):
            print(f"agent {spec.id}:")
            for block, value in memory.values(spec):
                print(_block_line(block.label, value, block.limit, block.read_only, block.shared))
                print(_indented(value))
            if spec.id in counts:
                print(f"  semantic memories: {counts[spec.id]}")
            if spec.id in passes:
                print(_last_pass(passes[spec.id]))
        return EXIT_OK
    scopes = _stored_scopes(store, agent)
    if not scopes and not counts:
        print(f"no memory stored in {root}")
        return EXIT_OK
    for scope in scopes:
        print("shared blocks:" if scope is SHARED else f"agent {scope}:")
        for b in store.read(scope).values():
            print(_block_line(b.label, b.value, b.limit, b.read_only, scope is SHARED))
            print(_indented(b.value))
        if scope is not SHARED and scope in counts:
            print(f"  semantic memories: {counts[scope]}")
        if scope is not SHARED and scope in passes:
            print(_last_pass(passes[scope]))
    for name in sorted(set(counts) - set(scopes)):
        if agent in (None, name):
            print(f"agent {name}:\n  semantic memories: {counts[name]}")
    return EXIT_OK


def _last_pass(entry: dict[str, Any]) -> str:
    """An agent's last consolidation, as `show` prints it."""
    attempted = entry.get("attempted")
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(attempted))
        if isinstance(attempted, int | float)
        else "?"
    )
    refused = entry.get("refused")
    count = len(refused) if isinstance(refused, list) else 0
    return (
        f"  last consolidation: {when}, {entry.get('status')} ({entry.get('applied', 0)} "
        f"edit(s) applied, {count} refused; run {entry.get('run_id')})"
    )


def _block_line(label: str, value: str, limit: int, read_only: bool, shared: bool) -> str:
    notes = [f"{len(value)}/{limit or 'unlimited'} characters"]
    if read_only:
        notes.append("read-only")
    if shared:
        notes.append("shared")
    return f"  {label} ({', '.join(notes)}):"


def _indented(text: str) -> str:
    if not text:
        return "    (empty)"
    return "\n".join(f"    {line}" for line in text.splitlines())


# --- edit ----------------------------------------------------------------------------------------


def _value(value: str | None, file: str | None) -> str:
    if (value is None) == (file is None):
        raise Refused("give the block's new text with exactly one of --value TEXT or --file PATH")
    if value is not None:
        return value
    assert file is not None
    try:
        if file == "-":
            return sys.stdin.read()
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"--file {file}: cannot be read: {exc}") from None


def _edit(
    config: str | None, agent: str | None, shared: bool, label: str, text: str, root: Path
) -> int:
    if (agent is None) == (not shared):
        raise Refused("say whose block: --agent AGENT, or --shared for a team block")
    store = CoreStore(root)
    block = _block_to_edit(config, agent, shared, label, store)
    scope = SHARED if shared else scope_of(agent or "", block)
    with store.editing(scope) as blocks:
        kept = blocks.get(label)
        old = kept.value if kept is not None else block.value
        check_limit("axoc memory edit", block, text, old)
        blocks[label] = stored_block(block, text)
    where = "shared" if scope is SHARED else f"agent {scope}"
    limit = f"/{block.limit}" if block.limit else ""
    print(f"{where}: block '{label}' set ({len(text)}{limit} characters)")
    return EXIT_OK


def _block_to_edit(
    config: str | None, agent: str | None, shared: bool, label: str, store: CoreStore
) -> CoreBlock:
    """The block's settings: the config's when given, else those stored with it, else the
    default block of that label (persona, human, project)."""
    agents = _agents(config)
    if agents is not None:
        candidates = agents if agent is None else _chosen(agents, agent)
        for spec in candidates:
            for block in spec.memory.blocks:
                if block.label == label and (block.shared or not shared):
                    return block
        labels = sorted({b.label for a in candidates for b in a.memory.blocks})
        whose = f"agent '{agent}'" if agent else "any agent (as a shared block)"
        raise Refused(f"no block '{label}' of {whose} in {config} (blocks: {', '.join(labels)})")
    stored = store.read(SHARED if shared else agent).get(label)
    if stored is not None:
        return CoreBlock(label, stored.value, stored.limit, shared, stored.description,
                         stored.read_only)  # fmt: skip
    if label in DEFAULT_LIMITS and not shared:
        return CoreBlock(label, "", DEFAULT_LIMITS[label], False, "")
    raise Refused(
        f"no block '{label}' stored for {'the team' if shared else f'agent {agent!r}'} in "
        f"{store.root}: give the config (FILE) that declares it"
    )


# --- export --------------------------------------------------------------------------------------


def _export(config: str | None, agent: str | None, root: Path) -> dict[str, Any]:
    store = CoreStore(root)
    agents = _agents(config)
    document: dict[str, Any] = {"format": 1, "shared": {}, "agents": {}}
    if agents is not None:
        memory = CoreMemory(store)
        for spec in _chosen(agents, agent):
            own: dict[str, Any] = {}
            for block, value in memory.values(spec):
                entry = stored_block(block, value).as_json()
                entry.pop("updated")
                if block.shared:
                    document["shared"][block.label] = entry
                else:
                    own[block.label] = entry
            document["agents"][spec.id] = {"core": own}
    else:
        for scope in _stored_scopes(store, agent):
            blocks = {label: b.as_json() for label, b in store.read(scope).items()}
            if scope is SHARED:
                document["shared"] = blocks
            else:
                document["agents"][scope] = {"core": blocks}
    for name, memories in _semantic(root).items():
        if agent in (None, name):
            document["agents"].setdefault(name, {"core": {}})["semantic"] = memories
    return document


def _semantic_counts(root: Path) -> dict[str, int]:
    return {name: len(found) for name, found in _semantic(root).items()}


def _semantic(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Each agent's semantic memories, read from `memories.jsonl` (no model needed), oldest
    first; a torn or foreign line is left out."""
    return {
        name: [{"time": r.time, "text": r.text} for r in recollections(root, name)]
        for name in agents_with_memories(root)
    }
