"""A run's beginning: a new run's record, or an interrupted run reopened; and its input.

In: the state directory, the config (or saved plan) path, the target, `-i`, whether it is a dry
run, `--workspace`. Out: `Started` — the run's id, target and input, its journal writer, its
lock, its checkpoint store, its retry-jitter seed, its toolbox (file tools over the workspace,
WASM tools, memory tools), its memory (`axoc.memory.setup`: none when no agent has any) and,
when resumed, what to replay — with the `Runnable` it runs and its providers
(`axoc.runtime.providers`).

The workspace is `--workspace DIR` (relative to the current directory), else the config's
`workspace` (relative to the config's directory), else the config's (or saved plan's) own
directory; it is recorded in the journal's header, and a resumed run keeps it unless
`--workspace` is given again. A workspace that is not an existing directory refuses the run
(`no_workspace`).

Guaranteed: everything is refused (`RunRefused`, `runs.RunsError`) before a run record is
created or a lock is held past the refusal: nothing is left to undo. A resumed run is refused
when its config changed since it started, unless drift is allowed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axoc import runs, stdin
from axoc.fingerprint import Reads, record, saved
from axoc.kernel.checkpoint import CheckpointStore
from axoc.kernel.driver import random_seed
from axoc.kernel.durable import Replay
from axoc.kernel.journal import Writer
from axoc.kernel.ports import Message, Provider
from axoc.memory.consolidation import ORIGIN as CONSOLIDATION
from axoc.memory.run import RunMemory
from axoc.memory.setup import MemoryUnavailable
from axoc.memory.setup import for_run as memory_for_run
from axoc.memory.tools import memory_tools
from axoc.plan import diff
from axoc.runnable import Runnable, RunRefused, Target, prepare
from axoc.runtime.providers import providers
from axoc.tools.mcp import REDACTED
from axoc.tools.toolbox import Toolbox, ToolsError, for_run


@dataclass
class Started:
    """A run ready to go: new, or reopened from its journal (then with what to replay)."""

    run_id: str
    workflow: str | None
    skill: str | None
    input: str
    writer: Writer
    lock: runs.Lock
    store: CheckpointStore
    seed: int  # of the retry jitter: recorded in the journal's header, reused on resume
    replay: Replay | None = None
    toolbox: Toolbox | None = None
    memory: RunMemory | None = None  # when an agent has memory (axoc.memory.setup)
    # the conversation an entry activation continues (`axoc chat`), recorded in the header
    history: tuple[Message, ...] = ()
    # of the MCP tools, as the journal's last `tools` record has them (None: a new run, or none)
    tool_digests: dict[str, str] | None = None


def new_run(
    root: Path, path: str, wanted: Target, text: str | None, dry_run: bool,
    workspace: str | None = None,
) -> tuple[Runnable, Started, dict[str, Provider]]:  # fmt: skip
    """A new run of `wanted` in `path`, its input read (`-i`) and checked, its providers and
    toolbox built."""
    reads = Reads(os.environ)
    loaded = prepare(path, wanted, dry_run, reads)
    return open_run(root, path, loaded, reads, read_input(text), dry_run, workspace)


def open_run(
    root: Path, path: str, loaded: Runnable, reads: Reads, given: str, dry_run: bool,
    workspace: str | None = None, origin: str | None = None,
    pool: dict[str, Provider] | None = None, history: tuple[Message, ...] = (),
) -> tuple[Runnable, Started, dict[str, Provider]]:  # fmt: skip
    """A new run of the compiled `loaded` with the input `given`, checked; its providers and
    toolbox built. `reads`: the environment `loaded` was compiled with (what it read is
    recorded, so a resume can skip compiling); `origin`: who started it, recorded in its
    header (`serve` for the daemon, which resumes its own runs when it starts again); `pool`:
    providers to reuse by name, and to add the new ones to (`axoc.runtime.providers`);
    `history`: the conversation the run continues (`axoc chat`), kept in its header so a
    resume continues the same one."""
    check_input(given)
    space = find_workspace(path, loaded.workspace, workspace)
    memory = make_memory(loaded, root, dry_run)
    toolbox = make_toolbox(loaded, path, space, dry_run, memory)
    built = providers(loaded, dry_run, pool)  # refused before any record: nothing to undo
    source = {**record(path, loaded, reads), "workspace": str(space)}
    if origin is not None:
        source["origin"] = origin
    if history:
        source["history"] = [{"role": m.role, "content": m.content} for m in history]
    started = start(root, path, loaded, given, dry_run, source)
    started.toolbox, started.memory, started.history = toolbox, memory, history
    return loaded, started, built


def find_workspace(path: str, configured: str | None, given: str | None) -> Path:
    """The run's workspace, resolved: `--workspace`, else the config's `workspace` (relative
    to the config's directory), else that directory; refused unless it is a directory."""
    base = Path(path).resolve().parent
    if given is not None:
        chosen, said = Path(given), f"--workspace {given}"
    elif configured is not None:
        chosen, said = base / configured, f"workspace '{configured}' (in {base})"
    else:
        chosen, said = base, f"the config's directory {base}"
    try:
        real = chosen.resolve(strict=True)
    except (OSError, RuntimeError):
        raise RunRefused(f"{said}: no such directory", "no_workspace") from None
    if not real.is_dir():
        raise RunRefused(f"{said}: not a directory", "no_workspace")
    return real


def make_toolbox(
    loaded: Runnable, path: str, workspace: Path, dry_run: bool, memory: RunMemory | None = None
) -> Toolbox:
    """The run's toolbox (with the memory tools, if it has memory); a WASM tool that does not
    load refuses the run (`tool`). Its MCP servers start with the run (`axoc.runtime.execution`)."""
    extra = memory_tools(memory) if memory is not None else []
    base = Path(path).resolve().parent
    try:
        return for_run(
            loaded.table, workspace, base, dry_run=dry_run, extra=extra,
            web_search=loaded.web_search, fetch_url=loaded.fetch_url,
            mcp_values=loaded.mcp_values, environ=os.environ,
        )  # fmt: skip
    except ToolsError as exc:
        raise RunRefused(str(exc), "tool") from None


def make_memory(loaded: Runnable, root: Path, dry_run: bool) -> RunMemory | None:
    """The run's memory (docs/memory.md); refused (`memory`) when semantic memory is needed and
    the `axoc[memory]` extra or its model is missing."""
    try:
        return memory_for_run(loaded.table, root, dry_run=dry_run, settings=loaded.memory)
    except MemoryUnavailable as exc:
        raise RunRefused(str(exc), "memory") from None


def start(
    root: Path, path: str, loaded: Runnable, text: str, dry_run: bool, source: dict[str, Any]
) -> Started:
    """A new run's record, created and locked, with the seed of its retry jitter and what its
    plan was compiled from (`axoc.fingerprint.record`)."""
    seed = random_seed()
    target = loaded.target
    header = {
        "target": target.name, "workflow": target.workflow, "skill": target.skill,
        "agent": target.agent, "input": text, "dry_run": dry_run,
        "config": str(Path(path).resolve()), "jitter_seed": seed, **source,
    }  # fmt: skip
    run_id, writer, lock = runs.create(root, loaded.table, header)
    store = CheckpointStore(runs.run_folder(root, run_id) / "checkpoints")
    return Started(run_id, target.workflow, target.skill, text, writer, lock, store, seed)


def read_input(given: str | None) -> str:
    """`-i TEXT`; with `-i -`, standard input; without `-i`, nothing — and a warning when
    something was piped in, rather than a run on an empty prompt in silence."""
    if given is None:
        if stdin.waiting(sys.stdin):
            print("axoc run: warning: standard input is not read, so the run's input is empty; "
                  "pass -i - to use it as the input", file=sys.stderr)  # fmt: skip
        return ""
    if given != "-":
        return given
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise RunRefused("-i -: there is no standard input to read", "bad_input")
    if stdin.is_terminal(sys.stdin):
        print("axoc run: reading the input from the terminal; end it with Ctrl-D", file=sys.stderr)
    try:
        return stdin.run_input(stream)
    except stdin.TooLarge as exc:
        raise RunRefused(f"-i -: {exc}", "bad_input") from None
    except OSError as exc:
        raise RunRefused(
            f"-i -: cannot read standard input: {exc.strerror or exc}", "bad_input"
        ) from None


def check_input(text: str) -> None:
    """`-i` must be text a provider can be sent: a byte that is not UTF-8 reaches Python as a
    lone surrogate (`surrogateescape`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise RunRefused(
            f"-i: the input is not valid UTF-8 ({what} at character {exc.start + 1})", "bad_input"
        ) from None


def resume(
    root: Path, run_id: str, path: str, dry_run: bool, allow_drift: bool,
    workspace: str | None = None, pool: dict[str, Provider] | None = None,
) -> tuple[Runnable, Started, dict[str, Provider]]:  # fmt: skip
    """The interrupted run, reopened (locked) on the table its target compiles to now: refused
    when that is not the table it started with, unless `allow_drift`; its providers and its
    toolbox (over the workspace it started with, unless `workspace` is given); `pool` as for
    `open_run`."""
    folder, contents, lock = runs.reopen(root, run_id)
    try:
        header = contents.header
        if header.get("origin") == CONSOLIDATION:
            raise RunRefused(
                f"run {run_id} is a memory consolidation of agent '{header.get('agent')}', "
                "which is not resumed: the next one reads its memories again (axoc memory "
                "consolidate)",
                "not_resumable",
            )
        wanted = Target(header.get("workflow"), header.get("skill"), header.get("agent"))
        if wanted.agent is not None:
            wanted = Target(agent=wanted.agent)
        # not compiled again when nothing it was compiled from changed (docs/durability.md)
        loaded = saved(folder, header, path, dry_run)
        if loaded is None or _keeps_values(loaded):
            loaded = prepare(path, wanted, dry_run, os.environ)
        for warning in contents.warnings:
            print(f"axoc run: warning: {warning}", file=sys.stderr)
        if header.get("digest") != loaded.table.digest and not allow_drift:
            old = runs.old_plan(folder)
            changes = (
                diff(old, loaded.table) if old is not None else ["(its plan.json is unreadable)"]
            )
            raise RunRefused(
                f"the config changed since run {run_id} started; resume anyway with "
                "--allow-config-drift:\n" + "\n".join(changes),
                "config_drift",
            )
        recorded = header.get("workspace")
        if workspace is None and isinstance(recorded, str):
            space = Path(recorded)
            if not space.is_dir():
                raise RunRefused(
                    f"the workspace run {run_id} started in, {recorded}, is no longer a "
                    "directory: give one with --workspace",
                    "no_workspace",
                )
        else:
            space = find_workspace(path, loaded.workspace, workspace)
        memory = make_memory(loaded, root, dry_run)
        toolbox = make_toolbox(loaded, path, space, dry_run, memory)
        built = providers(loaded, dry_run, pool)
    except BaseException:
        lock.release()
        raise
    store = CheckpointStore(folder / "checkpoints")
    # A run interrupted before checkpoints were kept per run has its own in the `agents/`
    # folder that earlier versions shared: read there too, never written.
    shared = CheckpointStore(root / "agents", nested=True)
    seed = header.get("jitter_seed")
    if not isinstance(seed, int):  # a journal written before seeds were recorded: one per run
        seed = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big")
    writer = Writer(folder / "journal.jsonl", contents=contents)  # read under the lock we hold
    started = Started(
        run_id, header.get("workflow"), header.get("skill"), str(header.get("input", "")),
        writer, lock, store, seed, Replay.of(contents.records, (store, shared), run_id), toolbox,
        memory, recorded_history(header), _recorded_digests(contents.records),
    )  # fmt: skip
    return loaded, started, built


def recorded_history(header: dict[str, Any]) -> tuple[Message, ...]:
    """The conversation a run's header records (`open_run`); what is not one is no history."""
    found = header.get("history")
    if not isinstance(found, list):
        return ()
    return tuple(
        Message(str(m["role"]), str(m["content"]))
        for m in found
        if isinstance(m, dict) and m.get("role") in ("user", "assistant") and "content" in m
    )


def _keeps_values(loaded: Runnable) -> bool:
    """Whether the table's MCP servers have values only the config holds (written without a
    `${VAR}`): then the run's plan alone cannot start them, and the config is compiled again."""
    return any(
        REDACTED in (*s.env.values(), *s.headers.values()) or REDACTED in (s.url or "")
        for s in loaded.table.mcp_servers
    )


def _recorded_digests(records: list[dict[str, Any]]) -> dict[str, str] | None:
    """The MCP tools' digests of the journal's last `tools` record."""
    for entry in reversed(records):
        digests = entry.get("digests")
        if entry.get("k") == "tools" and isinstance(digests, dict):
            return {str(k): str(v) for k, v in digests.items()}
    return None
