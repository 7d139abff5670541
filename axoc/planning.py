"""`axoc plan`: compile a config and print its signal table, a diagram of it, or a diff.

In: a config path and options. Out: the rendering on stdout (or `-o OUT`), diagnostics on
stderr, and an exit code: 0 ok (with `--against`: unchanged), 2 changed (with `--against`) or a
usage problem (an unknown workflow, Graphviz missing for svg), 1 when the config has errors or
the old plan cannot be read. A workflow with errors of its own does not stop the others:
without `-w`, they are planned and it is left out (exit 1); `-w` names a healthy one (exit 0).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from axoc import process
from axoc.kernel.table import SignalTable
from axoc.pipeline import compile_file
from axoc.readfile import PlanError, read_plan
from axoc.report import render_text as render_diagnostics
from axoc.wording import unknown

EXIT_OK, EXIT_ERRORS, EXIT_CHANGED, EXIT_USAGE = 0, 1, 2, 2
GRAPHVIZ_HELP = (
    "axoc plan --format svg needs Graphviz's `dot` on PATH: install it with "
    "`apt-get install graphviz`, `brew install graphviz` or `winget install graphviz`, "
    "or write --format dot and render it elsewhere"
)


def plan_command(
    path: str, workflow: str | None, fmt: str, output: str | None, against: str | None
) -> int:
    unit = compile_file(path, os.environ)
    process.keep(unit)  # freed by the process's end, not one object at a time
    if unit.diagnostics:
        sources = {unit.file: unit.text} if unit.text is not None else {}
        sys.stderr.write(render_diagnostics(unit.diagnostics, 1, sources))
    if unit.lowered is not None and workflow is not None:
        names = [w.id for w in unit.lowered.table.workflows]
        if workflow not in names:
            print(f"axoc plan: {path}: {unknown('workflow', workflow, names)}", file=sys.stderr)
            return EXIT_USAGE
    table = unit.table(workflow)
    if table is None:
        codes = {d.code for d in unit.diagnostics}
        return EXIT_USAGE if codes & {"AX100", "AX112"} else EXIT_ERRORS
    # Workflows with errors of their own are left out; the others are planned all the same.
    left_out = [] if workflow is not None else unit.broken_workflows()
    if left_out:
        print(
            f"axoc plan: left out of the plan for their errors: {', '.join(left_out)}",
            file=sys.stderr,
        )
    if against is not None:
        return _against(table, against)
    if fmt == "svg":
        from axoc.plan import render_dot

        return _svg(render_dot(table, workflow), output) or (EXIT_ERRORS if left_out else EXIT_OK)
    text = table.to_json() if fmt == "json" else _rendered(table, workflow, fmt)
    _write(text, output)
    return EXIT_ERRORS if left_out else EXIT_OK


def _rendered(table: SignalTable, workflow: str | None, fmt: str) -> str:
    """The text, mermaid or dot rendering. Their module (and the differ's, and subprocess for
    svg) is imported for the formats that use it: `--format json` does without."""
    from axoc.plan import render_dot, render_mermaid, render_text

    renderers: dict[str, Callable[[SignalTable, str | None], str]] = {
        "text": render_text,
        "mermaid": render_mermaid,
        "dot": render_dot,
    }
    return renderers[fmt](table, workflow)


def _against(table: SignalTable, old_path: str) -> int:
    from axoc.plan import diff

    try:
        old = read_plan(old_path)
    except PlanError as exc:
        print(f"axoc plan: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    changes = diff(old, table)
    if not changes:
        print(f"unchanged ({table.digest[:19]})")
        return EXIT_OK
    print(f"{len(changes)} change{'s' if len(changes) != 1 else ''} since {old_path}:")
    print("\n".join(changes))
    return EXIT_CHANGED


def _svg(dot_source: str, output: str | None) -> int:
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        print(GRAPHVIZ_HELP, file=sys.stderr)
        return EXIT_USAGE
    done = subprocess.run(
        [dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        print(f"axoc plan: Graphviz failed: {done.stderr.strip()}", file=sys.stderr)
        return EXIT_ERRORS
    _write(done.stdout, output)
    return EXIT_OK


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)
