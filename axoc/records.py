"""`axoc runs list|show` and `axoc tokens report`: what the run records in a state directory say.

In: the state directory (`--state-dir`, `AXOC_STATE_DIR`, `.axoc/`) and a run id (the latest
run when none is given, for `tokens report`). Out: a report on stdout, exit 0; exit 2 when there
is no such run or its journal cannot be read. Everything is read from the runs' journals
(`axoc.runs`); nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from axoc import runs
from axoc.kernel.journal import JournalError
from axoc.statedir import runs as runs_in
from axoc.statedir import state_dir
from axoc.wording import plural

EXIT_OK, EXIT_USAGE = 0, 2


def tokens_report(run_id: str | None, fmt: str, state: str | None) -> int:
    summary = _chosen(state_dir(state), run_id, "tokens report")
    if summary is None:
        return EXIT_USAGE
    for warning in summary.warnings:
        print(f"axoc tokens report: warning: {warning}", file=sys.stderr)
    document = usage_document(summary)
    if fmt == "json":
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return EXIT_OK
    usage, totals = document["usage"], document["totals"]
    width = max([5, *map(len, usage)])
    print(f"run {summary.run_id} ({summary.target}): {summary.status}")
    print(f"{'agent':<{width}}  {'input':>9}  {'output':>9}  {'total':>9}")
    for agent, u in usage.items():
        print(f"{agent:<{width}}  {u['input']:>9}  {u['output']:>9}  {u['total']:>9}")
    print(f"{'total':<{width}}  {totals['input']:>9}  {totals['output']:>9}  {totals['total']:>9}")
    return EXIT_OK


def usage_document(summary: runs.Summary) -> dict[str, Any]:
    """A run's tokens per agent (input, output, total) and their totals: what `axoc tokens
    report --format json` prints and `axoc serve` answers."""
    usage = {a: {"input": i, "output": o, "total": i + o} for a, (i, o) in summary.usage.items()}
    totals = {k: sum(u[k] for u in usage.values()) for k in ("input", "output", "total")}
    return {"run_id": summary.run_id, "target": summary.target, "status": summary.status,
            "usage": usage, "totals": totals}  # fmt: skip


def runs_list(state: str | None) -> int:
    root = state_dir(state)
    found = runs.all_runs(root)
    for summary in found:
        for warning in summary.warnings:
            print(f"axoc runs list: warning: {warning}", file=sys.stderr)
    if not found:
        print(f"no runs in {root}")
        return EXIT_OK
    ids = max(len("run"), *(len(s.run_id) for s in found))
    targets = max(len("target"), *(len(s.target) for s in found))
    statuses = max(len("status"), *(len(s.status) for s in found))
    print(f"{'run':<{ids}}  {'target':<{targets}}  {'status':<{statuses}}  {'tokens':>8}  started")
    for s in found:
        print(f"{s.run_id:<{ids}}  {s.target:<{targets}}  {s.status:<{statuses}}  "
              f"{s.tokens:>8}  {s.started}")  # fmt: skip
    return EXIT_OK


def runs_show(run_id: str, state: str | None) -> int:
    """One run: status and tokens, where it came from (config, dry run, input), its output (so
    far, if it has not ended), tokens per agent, what was in flight, and its timeline."""
    summary = _chosen(state_dir(state), run_id, "runs show", outputs=True)
    if summary is None:
        return EXIT_USAGE
    print(f"run {summary.run_id}: {summary.target}, started {summary.started}")
    print(f"status: {summary.status}; {plural(summary.tokens, 'token')}")
    for warning in summary.warnings:
        print(f"warning: {warning}")
    if summary.config is not None:
        print(f"config: {summary.config}")
    if summary.dry_run is not None:
        print(f"dry run: {'yes' if summary.dry_run else 'no'}")
    print(_labelled("input", summary.input or "(empty)"))
    ended = summary.status not in ("live", "interrupted")
    label = "output" if ended else "output so far"
    print(f"{label}:" if summary.outputs else f"{label}: none")
    for agent, text in summary.outputs:
        print(f"  [{agent}]")
        print(_indented(text, "    "))
    if summary.usage:
        print("tokens by agent:")
    for agent, (i, o) in summary.usage.items():
        print(f"  {agent}: {i} input, {o} output")
    if summary.in_flight:
        print(f"in flight (started, no outcome recorded): {', '.join(summary.in_flight)}")
    print("timeline:")
    for t, agent, what in summary.timeline:
        print(f"  {t:10.3f}s  {agent}: {what}")
    return EXIT_OK


def _labelled(label: str, text: str) -> str:
    """`label: text` on one line, or the label then the text's lines indented."""
    if "\n" not in text:
        return f"{label}: {text}"
    return f"{label}:\n{_indented(text, '  ')}"


def _indented(text: str, indent: str) -> str:
    return "\n".join(indent + line for line in text.splitlines() or [""])


def _chosen(
    root: Path, run_id: str | None, command: str, *, outputs: bool = False
) -> runs.Summary | None:
    if run_id is not None:
        try:
            runs.run_folder(root, run_id)
        except runs.RunsError as exc:
            print(f"axoc {command}: {exc}", file=sys.stderr)
            return None
    folders = runs_in(root)
    chosen = next((f for f in folders if f.name == run_id), None) if run_id else None
    if run_id is None and folders:
        chosen = folders[-1]
    if chosen is None:
        which = f"run '{run_id}'" if run_id else "any run"
        print(f"axoc {command}: no record of {which} in {root}", file=sys.stderr)
        return None
    try:
        return runs.summarize(chosen, outputs=outputs)
    except JournalError as exc:
        print(f"axoc {command}: {exc}", file=sys.stderr)
        return None
