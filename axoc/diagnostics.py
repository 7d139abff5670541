"""Diagnostics as values: a `Span` locates text in a source file, a `Diagnostic` is one problem.

Stages collect diagnostics in lists; rendering happens in one place (`axoc.report`).
Positions are data on the diagnostic, never baked into message strings. Codes are stable and
documented in docs/diagnostics.md, one failing example each.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

Path: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a file: 1-based line and column; the end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int) -> Span:
        return cls(file, line, column, line, column + 1)


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    path: Path = ()
    hint: str | None = None
    # The one workflow the problem concerns (an error there stops only that workflow from being
    # planned or run); None: the whole config.
    workflow: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.column, self.code)


def error(
    code: str, message: str, span: Span, path: Path = (), hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, path, hint)


def warning(
    code: str, message: str, span: Span, path: Path = (), hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, path, hint)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


@dataclass(slots=True)
class Summary:
    files: int = 0
    errors: int = 0
    warnings: int = 0
    by_code: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, files: int, diagnostics: Iterable[Diagnostic]) -> Summary:
        summary = cls(files=files)
        for d in diagnostics:
            if d.severity is Severity.ERROR:
                summary.errors += 1
            else:
                summary.warnings += 1
            summary.by_code[d.code] = summary.by_code.get(d.code, 0) + 1
        summary.by_code = dict(sorted(summary.by_code.items()))
        return summary


def format_path(path: Path) -> str:
    """`('agents', 2, 'token_budget')` → `agents[2].token_budget`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
