"""Find config files: explicit files as given; directories searched for axoc configs.

A directory yields `axoc.yaml`, `axocoatl.yaml` and `*.axoc.yaml` files below it, and the same
names ending in `.yml` (what the pre-commit hook and the editor mappings match too), skipping
hidden directories, `node_modules` and virtualenvs, sorted. `-` (standard input) is passed
through. A path that does not exist, a directory (given, or met on the way down) that cannot be
listed, or a directory without configs, is a diagnostic (AX100 / AX113) located at that path,
and makes `check` exit 2: nothing is skipped in silence.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from axoc.diagnostics import Diagnostic, Span, error

CONFIG_NAMES = frozenset({"axoc.yaml", "axoc.yml", "axocoatl.yaml", "axocoatl.yml"})
CONFIG_SUFFIXES = (".axoc.yaml", ".axoc.yml")
STDIN = "-"
_SKIP = frozenset({"node_modules", "venv", "__pycache__", "site-packages"})


def is_config_name(name: str) -> bool:
    return name in CONFIG_NAMES or name.endswith(CONFIG_SUFFIXES)


def discover(paths: Iterable[str]) -> tuple[list[str], list[Diagnostic]]:
    files: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if raw == STDIN:
            files.append(raw)
        elif path.is_dir():
            unreadable: list[Diagnostic] = []
            found = sorted(_walk(path, unreadable))
            problems += unreadable
            if not found and not unreadable:
                msg = (
                    "no config files (axoc.yaml, *.axoc.yaml, axocoatl.yaml; .yml too) "
                    "in this directory"
                )
                problems.append(error("AX113", msg, Span.point(raw, 1, 1)))
            files += found
        elif path.exists() or path.is_symlink():
            files.append(raw)
        else:
            problems.append(error("AX100", "no such file or directory", Span.point(raw, 1, 1)))
    return list(dict.fromkeys(files)), problems


def configs_here() -> list[str]:
    """The configs `axoc check .` finds in the current directory and below, as relative paths:
    what `axoc chat` and `axoc doctor` take when no FILE is named (they want exactly one)."""
    return [os.path.normpath(found) for found in discover(["."])[0]]


def _walk(root: Path, unreadable: list[Diagnostic]) -> Iterable[str]:
    """Config files below `root`; an AX100 in `unreadable` for each directory that cannot be
    listed (os.walk would skip it without a word)."""

    def cannot_list(exc: OSError) -> None:
        where = exc.filename if isinstance(exc.filename, str) else str(root)
        why = exc.strerror or str(exc)
        msg = f"cannot read this directory ({why}); the configs in it, if any, were not checked"
        unreadable.append(error("AX100", msg, Span.point(where, 1, 1)))

    for folder, dirs, names in os.walk(root, onerror=cannot_list):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP]
        for name in names:
            if is_config_name(name):
                yield os.path.join(folder, name)
