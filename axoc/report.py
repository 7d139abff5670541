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

_SECRET_VALUE = re.compile(
    r"(?i)((?:api[_-]?key|token|secret|password)[\"']?\s*:[ \t]*)"  # the key, then a value that
    r"(?![\"']?\$\{)([^\s,}#][^,}#]*?)(?=\s*(?:[,}#]|$))"  # is not a ${VAR} reference
)

Reporter = Callable[[Sequence[Diagnostic], int, Mapping[str, str]], str]


def render_text(diagnostics: Sequence[Diagnostic], files: int, sources: Mapping[str, str]) -> str:
    lines: list[str] = []
    cache: dict[str, list[str]] = {}
    for d in diagnostics:
        s = d.span
        lines.append(f"{s.file}:{s.line}:{s.column}: {d.severity}: {d.message} [{d.code}]")
        text = sources.get(s.file)
        if text is not None:
            source_lines = cache.setdefault(s.file, text.splitlines())
            if 0 < s.line <= len(source_lines):
                source = _mask(source_lines[s.line - 1]).expandtabs(1)
                end = s.end_column if s.end_line == s.line else len(source) + 1
                width = max(1, min(end, len(source) + 1) - s.column)
                lines.append(f"  {source}")
                lines.append("  " + " " * (s.column - 1) + "^" * width)
        if d.hint:
            lines.append(f"  hint: {d.hint}")
    summary = Summary.of(files, diagnostics)
    lines.append(
        f"{plural(summary.errors, 'error')}, {plural(summary.warnings, 'warning')} "
        f"in {plural(files, 'file')}"
    )
    return "\n".join(lines) + "\n"


def _mask(line: str) -> str:
    """Hide the value of every secret-looking key on a shown source line (block or flow style,
    misspelt keys such as `apikey` included)."""
    return _SECRET_VALUE.sub(lambda m: m.group(1) + "****", line)


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
