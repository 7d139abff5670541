"""What the user sees when `axoc run` ends, stops early or is refused.

In: the driver's `RunResult` (or the driver itself, when interrupted), the run's id, `--json`.
Out: the final output on stdout (the sinks' outputs in topological order, or one `output`
object), a summary on stderr (stop reason, exit code, activations, tokens, time, failures and
what never ran), and the exit code. A refusal is one line on stderr (and one `error` object on
stdout with `--json`) and exit 2.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from typing import Any

from axoc.diagnostics import Diagnostic
from axoc.kernel.driver import Driver, RunResult
from axoc.report import as_dict
from axoc.runtime.terminal import Console, OutputClosed, emit, silence_stdout
from axoc.wording import plural

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def refuse(message: str, as_json: bool, code: str, diagnostics: Sequence[Diagnostic] = ()) -> int:
    """Exit 2: the message on stderr; with `--json`, also one error object on stdout."""
    print(f"axoc run: {message}", file=sys.stderr)
    if as_json:
        with contextlib.suppress(OutputClosed):
            emit(refusal(code, message, diagnostics))
    return EXIT_USAGE


def refusal(code: str, message: str, diagnostics: Sequence[Diagnostic] = ()) -> dict[str, Any]:
    """The `--json` error object of a refusal: `message` is its first line (what happened);
    `diagnostics` (as `axoc check --format json` gives them) when the config's problems are the
    reason, else `details`, the message's other lines (such as what changed in the config)."""
    first, *rest = message.splitlines() or [""]
    record: dict[str, Any] = {"event": "error", "code": code, "message": first.rstrip(":"),
                              "exit_code": EXIT_USAGE}  # fmt: skip
    if diagnostics:
        record["diagnostics"] = [as_dict(d) for d in diagnostics]
    elif rest:
        record["details"] = rest
    return record


def interrupted(driver: Driver, run_id: str, console: Console, why: str) -> int:
    """The run stopped before its end (Ctrl-C, SIGTERM, a closed stdout). Its journal has no
    `stopped` record, so it can be resumed; the stream ends as a finished run's does."""
    if console.as_json:
        try:
            outputs = dict(driver.outputs_so_far())
            emit({"t": round(driver.elapsed(), 6), "event": "stopped", "reason": "interrupted"})
            emit({"event": "output", "run_id": run_id, "stop_reason": "interrupted",
                  "exit_code": EXIT_INTERRUPTED, "outputs": outputs})  # fmt: skip
        except OutputClosed:
            pass
    if console.live is not None:
        console.live.close()
        console.live = None
    print(
        f"axoc run {run_id}: interrupted (exit {EXIT_INTERRUPTED}) {why}; "
        f"{plural(driver.state.activations, 'activation')} so far; "
        f"resume with --resume {run_id}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def report(result: RunResult, run_id: str, as_json: bool) -> None:
    try:
        if as_json:
            emit({"event": "output", "run_id": run_id, "stop_reason": result.stop_reason,
                  "exit_code": result.exit_code, "outputs": dict(result.outputs)})  # fmt: skip
        else:
            for agent, output in result.outputs:
                one = len(result.outputs) == 1
                sys.stdout.write(output if one else f"[{agent}]\n{output}\n")
                sys.stdout.write("\n")
            sys.stdout.flush()
    except (OutputClosed, BrokenPipeError):  # the reader went away: the summary still counts
        silence_stdout()
    used = result.ledger.used
    print(
        f"axoc run {run_id}: {result.stop_reason} (exit {result.exit_code}); "
        f"{plural(result.activations, 'activation')}, {plural(used, 'token')}, "
        f"{result.elapsed:.2f} s",
        file=sys.stderr,
    )
    for agent, error in result.errors.items():
        print(f"  {agent} failed: {error}", file=sys.stderr)
    if any("ConnectionRefusedError" in error for error in result.errors.values()):
        print(
            "  hint: is the provider's server running? --dry-run runs without one", file=sys.stderr
        )
    skipped = sorted(a for a, status in result.status.items() if status == "skipped")
    if skipped and result.errors:
        print(f"  skipped, as they could no longer run: {', '.join(skipped)}", file=sys.stderr)
    elif skipped and result.stop_reason == "max_activations":
        print(f"  never ran, max_activations was reached: {', '.join(skipped)}", file=sys.stderr)
    elif skipped:
        print(f"  never ran, nothing activated them: {', '.join(skipped)}", file=sys.stderr)
