"""Render diagnostics in one place: text, json, github (workflow commands) and SARIF 2.1.0.

In: the diagnostics of a run, the number of files checked, and each file's source text (for the
source line and caret of the text format). Out: a string for stdout. Values of secret-bearing
keys are masked in every source line shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

from axoc import __version__
from axoc.codes import CODES
from axoc.diagnostics import Diagnostic, Summary, format_path
from axoc.wording import plural

_SECRET_VALUE = re.compile(  # linear: the value runs to the next `,` `}` `#`; blanks trail it
    r"(?i)((?:api[_-]?key|token|secret|password)[\"']?\s*:[ \t]*)"  # the key, then a value that
    r"(?![\"']?\$\{)([^\s,}#][^,}#]*)"  # is not a ${VAR} reference
)
_BREAK = re.compile(r"\r\n|\r|\n")  # YAML 1.2's line breaks, as the positions count them
WINDOW = 160  # characters of a long source line shown around a diagnostic's column

Reporter = Callable[[Sequence[Diagnostic], int, Mapping[str, str]], str]


def render_text(diagnostics: Sequence[Diagnostic], files: int, sources: Mapping[str, str]) -> str:
    lines: list[str] = []
    cache: dict[str, list[str]] = {}
    masked: dict[tuple[str, int], str] = {}
    for d in diagnostics:
        s = d.span
        lines.append(f"{s.file}:{s.line}:{s.column}: {d.severity}: {d.message} [{d.code}]")
        text = sources.get(s.file)
        if text is not None:
            if s.file not in cache:  # split once per file, not once per diagnostic
                cache[s.file] = _BREAK.split(text)
            source_lines = cache[s.file]
            if 0 < s.line <= len(source_lines):
                key = (s.file, s.line)
                if key not in masked:  # once per line, however many diagnostics it has
                    masked[key] = _mask(source_lines[s.line - 1]).expandtabs(1)
                lines += _excerpt(
                    masked[key], s.column, s.end_column if s.end_line == s.line else None
                )
        if d.hint:
            lines.append(f"  hint: {d.hint}")
    summary = Summary.of(files, diagnostics)
    lines.append(
        f"{plural(summary.errors, 'error')}, {plural(summary.warnings, 'warning')} "
        f"in {plural(files, 'file')}"
    )
    return "\n".join(lines) + "\n"


def _excerpt(source: str, column: int, end: int | None) -> list[str]:
    """The source line and a caret under columns [column, end) (to the line's end when the span
    ends on a later line). A line longer than `WINDOW` is shown as a window around the column,
    `…` marking what is cut, so output stays proportional to the diagnostics, not to them times
    the line's length (a minified config has one long line)."""
    stop = len(source) + 1 if end is None else min(end, len(source) + 1)
    width = max(1, stop - column)
    if len(source) <= WINDOW:
        return [f"  {source}", "  " + " " * (column - 1) + "^" * width]
    start = max(0, min(column - 1 - WINDOW // 3, len(source) - WINDOW))
    shown = source[start : start + WINDOW]
    before = "…" if start > 0 else ""
    after = "…" if start + WINDOW < len(source) else ""
    offset = column - 1 - start + len(before)
    width = max(1, min(width, WINDOW - (column - 1 - start)))
    return [f"  {before}{shown}{after}", "  " + " " * offset + "^" * width]


def _mask(line: str) -> str:
    """Hide the value of every secret-looking key on a shown source line (block or flow style,
    misspelt keys such as `apikey` included). The blanks after a value stay as they were."""

    def hide(match: re.Match[str]) -> str:
        value = match.group(2)
        return match.group(1) + "****" + value[len(value.rstrip()) :]

    return _SECRET_VALUE.sub(hide, line)


def as_dict(d: Diagnostic) -> dict[str, object]:
    s = d.span
    return {
        "file": s.file,
        "line": s.line,
        "column": s.column,
        "end_line": s.end_line,
        "end_column": s.end_column,
        "severity": str(d.severity),
        "code": d.code,
        "message": d.message,
        "path": format_path(d.path),
        "hint": d.hint,
    }


def render_json(diagnostics: Sequence[Diagnostic], files: int, sources: Mapping[str, str]) -> str:
    summary = Summary.of(files, diagnostics)
    document = {
        "version": 1,
        "diagnostics": [as_dict(d) for d in diagnostics],
        "summary": {
            "files": summary.files,
            "errors": summary.errors,
            "warnings": summary.warnings,
            "by_code": summary.by_code,
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic], files: int, sources: Mapping[str, str]) -> str:
    out = []
    for d in diagnostics:
        s = d.span
        props = (
            f"file={_escape_property(s.file)},line={s.line},col={s.column},"
            f"endLine={s.end_line},endColumn={s.end_column},title={d.code}"
        )
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(f"::{d.severity} {props}::{_escape_data(message)}")
    return "".join(line + "\n" for line in out)


def render_sarif(diagnostics: Sequence[Diagnostic], files: int, sources: Mapping[str, str]) -> str:
    used = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "name": CODES[code]
            .title()
            .replace(" ", "")
            .replace("$", "")
            .replace("{", "")
            .replace("}", "")
            .replace("/", "")
            .replace(".", "")
            .replace("'", ""),
            "shortDescription": {"text": CODES[code]},
            "helpUri": f"https://axoc.dev/docs/diagnostics#{code.lower()}",
        }
        for code in used
    ]
    results = []
    for d in diagnostics:
        s = d.span
        text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": used.index(d.code),
                "level": str(d.severity),
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": s.file.replace("\\", "/")},
                            "region": {
                                "startLine": s.line,
                                "startColumn": s.column,
                                "endLine": s.end_line,
                                "endColumn": s.end_column,
                            },
                        }
                    }
                ],
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "axoc",
                        "version": __version__,
                        "informationUri": "https://axoc.dev",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
