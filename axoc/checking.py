"""`axoc check`: find the configs, compile each, report every diagnostic of every file at once.

In: paths (files; directories, searched by `axoc.discover`; `-` for a config on standard input,
named `<stdin>` in diagnostics or as `--stdin-filename` says), a format and `--strict`. Out: the
report on stdout, and the exit code: 0 no errors (warnings allowed unless strict), 1 errors, 2
a path that cannot be read (AX100, AX112, AX113), 3 a bug of axoc's met on some file (named on
stderr; every other file is still reported).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from axoc import pipeline, process, stdin, yamlload
from axoc.diagnostics import Diagnostic, Severity, Span, error
from axoc.discover import STDIN, discover
from axoc.pipeline import Compilation, InternalError, compile_each, compile_file
from axoc.report import REPORTERS

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
UNREADABLE = frozenset({"AX100", "AX112", "AX113"})
STDIN_NAME = "<stdin>"


def check_command(paths: list[str], fmt: str, strict: bool, stdin_name: str | None) -> int:
    files, problems = discover(paths or ["."])
    units: list[Compilation] = []
    failures: list[InternalError] = []
    for path in files:  # each on its own: a bug one file triggers never hides another's report
        if path == STDIN:
            done, failed = _isolated(stdin_name or STDIN_NAME, os.environ)
        else:
            done, failed = compile_each([path], os.environ)
        units += done
        failures += failed
    process.keep(units)  # freed by the process's end, not one object at a time
    diagnostics = problems + [d for unit in units for d in unit.diagnostics]
    sources = {unit.file: unit.text for unit in units if unit.text is not None}
    sys.stdout.write(REPORTERS[fmt](diagnostics, len(files), sources))
    for failure in failures:
        print(f"axoc: internal error in {failure} (please report it)", file=sys.stderr)
    if failures:
        return EXIT_INTERNAL
    if any(d.code in UNREADABLE for d in diagnostics):
        return EXIT_USAGE
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return EXIT_ERRORS if any(d.severity in failing for d in diagnostics) else EXIT_OK


def _isolated(name: str, env: Mapping[str, str]) -> tuple[list[Compilation], list[InternalError]]:
    """`compile_stdin`, a bug in it returned as `compile_each` returns one."""
    try:
        return [compile_stdin(name, env)], []
    except Exception as exc:  # no input should get here: a bug, reported by the caller
        if env.get("AXOC_DEBUG") == "1":
            raise
        return [], [InternalError(name, exc)]


def compile_stdin(name: str, env: Mapping[str, str]) -> Compilation:
    """Compile the config on standard input as if it were the file `name`: every stage as for
    a file, but the text comes from stdin (at most `yamlload.MAX_BYTES`)."""
    if stdin.is_terminal(sys.stdin):
        print("axoc check: reading a config from the terminal; end it with Ctrl-D", file=sys.stderr)
    data, problem = _read(name)

    def load(unit: Compilation) -> list[Diagnostic]:
        if data is None:
            return [problem] if problem is not None else []
        unit.text, found = yamlload.decode(unit.file, data)
        if unit.text is None:
            return found
        unit.document, parsed = yamlload.parse(unit.file, unit.text)
        return found + parsed

    stages = tuple(load if stage is pipeline.load else stage for stage in pipeline.STAGES)
    if load not in stages:  # the pipeline's first stage changed: say so, never read a file "-"
        raise RuntimeError("axoc.pipeline has no load stage to read standard input with")
    return compile_file(name, env, stages)


def _read(name: str) -> tuple[bytes | None, Diagnostic | None]:
    where = Span.point(name, 1, 1)
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return None, error("AX100", "cannot read: there is no standard input", where)
    try:
        return stdin.read_bytes(stream, yamlload.MAX_BYTES), None
    except stdin.TooLarge:
        limit = yamlload.MAX_BYTES // 1024 // 1024
        msg = f"standard input holds more than {limit} MB; configs are limited to {limit} MB"
        return None, error("AX112", msg, where)
    except OSError as exc:
        return None, error("AX100", f"cannot read: {exc.strerror or exc}", where)
