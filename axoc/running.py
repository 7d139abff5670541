"""`axoc run`: wire a table, providers and the kernel's driver.

In: a config or a saved plan, the run's target (`-w` workflow or `--fire` skill), the input.
Out: the final output (the sinks' outputs in topological order) on stdout — or, with `--json`,
one JSON object per event —, a live status on stderr when it is a terminal, a summary with the
stop reason, a usage record in the state directory, and the exit code of the stop reason
(completed 0, failed 1, config or usage error 2, budget_exhausted 4, max_activations 5,
timeout 6, interrupted 130). Nothing is sent to a provider before every check has passed:
the config compiles without errors, no `${VAR}` is unset, every provider has what it needs.

This module only wires `axoc.runtime`: starting (`startup`), providers (`providers`), the
driver (`execution`), the terminal (`terminal`) and the end (`outcome`).
"""

from __future__ import annotations

import asyncio
import sys

from axoc import runs
from axoc.kernel.checkpoint import Checkpointer, CheckpointError
from axoc.kernel.durable import ReplayMismatch
from axoc.runnable import RunRefused, Target
from axoc.runtime import startup
from axoc.runtime.execution import execute, make_driver
from axoc.runtime.outcome import EXIT_FAILED, interrupted, refuse, report
from axoc.runtime.terminal import Console, Live, OutputClosed, emit
from axoc.statedir import state_dir


def run_command(
    path: str, wanted: Target, text: str | None, dry_run: bool, as_json: bool, state: str | None,
    resume: str | None = None, allow_drift: bool = False, workspace: str | None = None,
) -> int:  # fmt: skip
    try:
        root = state_dir(state)
        if resume is not None:
            if text is not None:
                print("axoc run: warning: -i is ignored with --resume: the run goes on with the "
                      "input it started with", file=sys.stderr)  # fmt: skip
            loaded, run, built = startup.resume(root, resume, path, dry_run, allow_drift, workspace)
        else:
            loaded, run, built = startup.new_run(root, path, wanted, text, dry_run, workspace)
    except ValueError as invalid:  # an adapter refusing its settings (a malformed base_url)
        return refuse(str(invalid), as_json, "provider")
    except RunRefused as refused:
        return refuse(str(refused), as_json, refused.code, refused.diagnostics)
    except runs.RunsError as refused:
        return refuse(str(refused), as_json, refused.code)
    if loaded.note is not None:
        print(f"axoc run: note: {loaded.note}", file=sys.stderr)
    table = loaded.table
    members = len(table.workflow(run.workflow).agents) if run.workflow else len(table.agents)
    live = Live(sys.stderr, members) if sys.stderr.isatty() and not as_json else None
    console = Console(as_json, live)
    checkpointer = Checkpointer(run.store)
    driver = make_driver(table, built, run, console, checkpointer)
    try:
        if as_json:
            emit({"t": 0.0, "event": "run", "run_id": run.run_id, "target": loaded.target.name,
                  "resumed": run.replay is not None})  # fmt: skip
        result = execute(driver, built, live, run)
    except RunRefused as refused:  # an MCP server that does not start, a tool that changed
        return refuse(str(refused), as_json, refused.code)
    except KeyboardInterrupt:
        return interrupted(driver, run.run_id, console, "by Ctrl-C")
    except asyncio.CancelledError:  # the main task, cancelled by SIGTERM
        return interrupted(driver, run.run_id, console, "by SIGTERM")
    except OutputClosed:
        return interrupted(driver, run.run_id, console, "as stdout was closed")
    except ReplayMismatch as mismatch:
        return refuse(f"cannot resume {run.run_id}: {mismatch}", as_json, "replay_mismatch")
    except (CheckpointError, OSError) as exc:  # the state directory refused a write mid-run
        why = str(exc) if isinstance(exc, CheckpointError) else exc.strerror or str(exc)
        print(f"axoc run {run.run_id}: stopped, the state directory refused a write: {why}; "
              f"what was recorded is kept: resume with --resume {run.run_id} once it can be "
              "written again", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    finally:
        checkpointer.close()
        run.writer.close()
        run.lock.release()
        if console.live is not None:
            console.live.close()
            console.live = None
        if run.replay is not None:
            for warning in dict.fromkeys(run.replay.warnings):
                print(f"axoc run: warning: {warning}", file=sys.stderr)
        if run.memory is not None:  # saves the semantic indexes
            for warning in run.memory.close():
                print(f"axoc run: warning: {warning}", file=sys.stderr)
    report(result, run.run_id, as_json)
    return result.exit_code
