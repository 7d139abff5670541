"""A consolidation pass (`axoc.memory.consolidation`) as a run: opened like any run, driven to
its one answer, then concluded — the edits applied and the pass recorded.

In: the state directory, the config path, a `Pass`, the environment the config was compiled
with, whether it is a dry run. Out: the pass's `Report`. `axoc memory consolidate` calls
`run_pass`; `axoc serve` opens a pass with `open_pass`, drives it with its other runs, and calls
`conclude` when it ends.

Guaranteed: the run is recorded (journal, usage, `origin: consolidation` in its header), its
lock, journal and providers are closed however it ends, and the edits are applied only after
the run answered — a pass stopped earlier changes no block.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from axoc.fingerprint import Reads
from axoc.kernel.checkpoint import Checkpointer
from axoc.kernel.driver import RunResult
from axoc.kernel.ports import Provider
from axoc.memory.consolidation import ORIGIN, Pass, Report, claim_pass
from axoc.memory.core import CoreMemory, CoreStore
from axoc.runnable import Runnable, RunRefused
from axoc.runtime import startup
from axoc.runtime.execution import execute, make_driver


def open_pass(
    root: Path, path: str, chosen: Pass, reads: Reads, dry_run: bool,
    pool: dict[str, Provider] | None = None,
) -> tuple[Runnable, startup.Started, dict[str, Provider]]:  # fmt: skip
    """The pass's run, recorded and ready to drive (`startup.open_run`); `pool` as there. A
    provider whose settings its adapter refuses (a malformed base_url) is `RunRefused`."""
    try:
        return startup.open_run(
            root, path, chosen.runnable, reads, chosen.input, dry_run, origin=ORIGIN, pool=pool
        )
    except ValueError as invalid:
        raise RunRefused(str(invalid), "provider") from None


def conclude(
    root: Path, chosen: Pass, run: startup.Started, result: RunResult, dry_run: bool
) -> Report:
    """The pass concluded from its run's result: the answer's edits applied to the agent's
    core memory (a dry run changes nothing), the pass recorded."""
    answer = dict(result.outputs).get(chosen.agent.id) if result.exit_code == 0 else None
    error = "; ".join(result.errors.values()) if answer is None else ""
    core = CoreMemory(CoreStore(root), dry_run=dry_run)
    return chosen.finish(root, core, run.run_id, result.stop_reason, answer, time.time(), error)


def run_pass(root: Path, path: str, chosen: Pass, reads: Reads, dry_run: bool) -> Report:
    """The pass run to its end on a new event loop, and concluded (`RunRefused` and
    `runs.RunsError` before anything is recorded, as for any run)."""
    _, run, built = open_pass(root, path, chosen, reads, dry_run)
    checkpointer = Checkpointer(run.store)
    try:
        driver = make_driver(chosen.runnable.table, built, run, lambda record: None, checkpointer)
        result = execute(driver, built, None, run)
        return conclude(root, chosen, run, result, dry_run)
    finally:
        for step in (checkpointer.close, run.writer.close, run.lock.release):
            with contextlib.suppress(OSError):
                step()


def run_due(
    root: Path, path: str, loaded: Runnable, agents: list[str], reads: Reads, *, force: bool,
    dry_run: bool,
) -> list[Report | tuple[str, str]]:  # fmt: skip
    """A pass of each of `agents` that is due (all of them with `force`, when they have new
    memories), one after the other: its `Report`, or (agent, why it is not due)."""
    done: list[Report | tuple[str, str]] = []
    for agent in agents:
        claimed = claim_pass(root, loaded, agent, time.time(), force=force)
        if isinstance(claimed, str):
            done.append((agent, claimed))
            continue
        chosen, claim = claimed
        try:
            done.append(run_pass(root, path, chosen, reads, dry_run))
        finally:
            claim.release()
    return done
