"""Axocoatl's file tools — `read_file`, `list_dir`, `grep`, `write_file` — confined to a workspace.

In: the workspace directory (resolved once, when the tools are made) and whether the run is dry.
Out: one `Tool` per name, with Axocoatl's parameter names (`path`; `pattern` and `path` for
grep; `path` and `content` for write_file), so Axocoatl configs work unchanged.

Guarantees:
- No path leaves the workspace. A path is refused, as an error result the model sees, when it
  is absolute, holds a `..` segment, holds a NUL, or resolves (symlinks followed) to somewhere
  outside the workspace; a symlink loop is refused too. `grep` and `list_dir` never follow a
  symlink out: entries that resolve outside are left out of a listing's walk and never read.
- Sizes are capped (each cap is named in the result when it cuts, and in docs/tools.md):
  `read_file` shows at most `MAX_READ_BYTES` of a file; `list_dir` lists at most
  `MAX_LIST_ENTRIES` entries; `grep` reports at most `MAX_GREP_MATCHES` matching lines, each cut
  at `MAX_LINE_CHARS`, reads at most `MAX_GREP_FILES` files and skips files over
  `MAX_GREP_FILE_BYTES`; `write_file` writes at most `MAX_WRITE_BYTES`.
- Blocking I/O runs in a worker thread (`asyncio.to_thread`), never on the event loop.
- In a dry run `write_file` checks its path as in a real run and writes nothing: its result
  says "not written: dry run". The other tools are read-only and run for real.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from axoc.kernel.ports import ToolDefinition, ToolResult
from axoc.tools.base import Tool

MAX_READ_BYTES = 64 * 1024
MAX_LIST_ENTRIES = 1000
MAX_GREP_MATCHES = 200
MAX_GREP_FILES = 10_000
MAX_GREP_FILE_BYTES = 1024 * 1024
MAX_LINE_CHARS = 500
MAX_WRITE_BYTES = 1024 * 1024

NAMES = ("read_file", "list_dir", "grep", "write_file")


class Refused(Exception):
    """A path the tools do not touch; the message is what the model is told."""


class Workspace:
    """The directory the file tools are confined to, and the confinement itself."""

    def __init__(self, directory: Path) -> None:
        self.root = directory.resolve(strict=True)

    def confine(self, given: str) -> Path:
        """The real path `given` names inside the workspace (symlinks resolved), or `Refused`."""
        if "\x00" in given:
            raise Refused(f"path {given!r} holds a NUL character")
        if os.path.isabs(given) or given.startswith("~"):
            raise Refused(f"path '{given}' is absolute: give a path relative to the workspace")
        parts = given.replace("\\", "/").split("/")
        if ".." in parts:
            raise Refused(f"path '{given}' holds '..': paths may not leave the workspace")
        try:
            real = (self.root / given).resolve(strict=False)
        except (RuntimeError, OSError):  # 3.11: RuntimeError on a loop; later versions OSError
            raise Refused(f"path '{given}' is a symlink loop") from None
        if not self.inside(real):
            raise Refused(f"path '{given}' resolves outside the workspace (a symlink out)")
        return real

    def inside(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def shown(self, real: Path) -> str:
        """A path as the model sees it: relative to the workspace, `/` separated."""
        rel = real.relative_to(self.root).as_posix()
        return rel if rel != "." else "."


def file_tools(directory: Path, *, dry_run: bool = False) -> tuple[Tool, ...]:
    """The four file tools over the workspace `directory` (which must exist)."""
    space = Workspace(directory)

    def runner(work: Callable[[Mapping[str, Any]], str]) -> Any:
        async def run(arguments: Mapping[str, Any]) -> ToolResult:
            try:
                return ToolResult(await asyncio.to_thread(work, arguments))
            except Refused as refused:
                return ToolResult(str(refused), True)
            except OSError as exc:
                return ToolResult(f"{exc.strerror or exc}", True)

        return run

    return (
        Tool(_READ, runner(lambda a: _read(space, a["path"]))),
        Tool(_LIST, runner(lambda a: _list(space, a.get("path", ".")))),
        Tool(_GREP, runner(lambda a: _grep(space, a["pattern"], a.get("path", ".")))),
        Tool(_WRITE, runner(lambda a: _write(space, a["path"], a["content"], dry_run))),
    )


def _string(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


_READ = ToolDefinition(
    "read_file",
    f"Read a text file of the workspace (at most {MAX_READ_BYTES} bytes are shown).",
    {"type": "object", "properties": {"path": _string("File path to read, relative to the "
     "workspace")}, "required": ["path"]},
)  # fmt: skip
_LIST = ToolDefinition(
    "list_dir",
    f"List a directory of the workspace (at most {MAX_LIST_ENTRIES} entries; directories end "
    "with /).",
    {"type": "object", "properties": {"path": _string("Directory path (default: .)")}},
)
_GREP = ToolDefinition(
    "grep",
    "Search file contents for a regular expression (recursive, with line numbers; at most "
    f"{MAX_GREP_MATCHES} matches).",
    {"type": "object", "properties": {
        "pattern": _string("Text or regex to search for"),
        "path": _string("Directory or file to search (default: .)"),
    }, "required": ["pattern"]},
)  # fmt: skip
_WRITE = ToolDefinition(
    "write_file",
    f"Write (creating or overwriting) a file of the workspace (at most {MAX_WRITE_BYTES} bytes).",
    {"type": "object", "properties": {
        "path": _string("File path to write, relative to the workspace"),
        "content": _string("Full file content"),
    }, "required": ["path", "content"]},
)  # fmt: skip


def _read(space: Workspace, given: str) -> str:
    real = space.confine(given)
    if real.is_dir():
        raise Refused(f"'{given}' is a directory: list it with list_dir")
    with open(real, "rb") as f:
        data = f.read(MAX_READ_BYTES + 1)
        size = os.fstat(f.fileno()).st_size
    if b"\x00" in data[:8192]:
        raise Refused(f"'{given}' is a binary file ({size} bytes): not shown")
    if len(data) <= MAX_READ_BYTES:
        return data.decode("utf-8", errors="replace")
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="ignore")
    return f"{text}\n[cut: '{given}' is {size} bytes; the first {MAX_READ_BYTES} are shown]"


def _list(space: Workspace, given: str) -> str:
    real = space.confine(given)
    if not real.is_dir():
        raise Refused(f"'{given}' is not a directory")
    names = []
    with os.scandir(real) as entries:
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows a symlink: a link to a directory lists as one
            except OSError:
                is_dir = False
            names.append(entry.name + ("/" if is_dir else ""))
    names.sort()
    shown = names[:MAX_LIST_ENTRIES]
    if not shown:
        return f"{space.shown(real)} is empty"
    out = "\n".join(shown)
    if len(names) > MAX_LIST_ENTRIES:
        out += f"\n[cut: {len(names)} entries; the first {MAX_LIST_ENTRIES} are shown]"
    return out


def _grep(space: Workspace, pattern: str, given: str) -> str:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise Refused(f"pattern '{pattern}' is not a valid regular expression: {exc}") from None
    real = space.confine(given)
    matches: list[str] = []
    files = 0
    more = False
    for path in _files(space, real):
        files += 1
        if files > MAX_GREP_FILES:
            matches.append(f"[cut: more than {MAX_GREP_FILES} files; the rest were not searched]")
            break
        try:
            if path.stat().st_size > MAX_GREP_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\x00" in data[:8192]:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if regex.search(line):
                if len(matches) == MAX_GREP_MATCHES:
                    more = True
                    break
                if len(line) > MAX_LINE_CHARS:
                    line = line[:MAX_LINE_CHARS] + " [line cut]"
                matches.append(f"{space.shown(path)}:{number}:{line}")
        if more:
            matches.append(f"[cut: more than {MAX_GREP_MATCHES} matches; the first are shown]")
            break
    return "\n".join(matches) if matches else "no match"


def _files(space: Workspace, real: Path) -> Iterator[Path]:
    """The regular files under `real` (or `real` itself), sorted, never leaving the workspace:
    symlinks are followed only when they resolve inside it, and a directory is walked once."""
    if real.is_file():
        yield real
        return
    seen: set[Path] = set()
    stack = [real]
    while stack:
        folder = stack.pop()
        if folder in seen:
            continue
        seen.add(folder)
        try:
            with os.scandir(folder) as entries:
                names = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in names:
            path = Path(entry.path)
            if entry.is_symlink():
                try:
                    path = path.resolve(strict=True)
                except (RuntimeError, OSError):
                    continue  # dangling or a loop
                if not space.inside(path):
                    continue
            if path.is_dir():
                subfolders.append(path)
            elif path.is_file():
                yield path
        stack.extend(reversed(subfolders))


def _write(space: Workspace, given: str, content: str, dry_run: bool) -> str:
    real = space.confine(given)
    data = content.encode("utf-8")
    if len(data) > MAX_WRITE_BYTES:
        raise Refused(f"content is {len(data)} bytes: write_file writes at most {MAX_WRITE_BYTES}")
    if real.is_dir():
        raise Refused(f"'{given}' is a directory")
    if dry_run:
        return f"not written: dry run ({len(data)} bytes to '{space.shown(real)}')"
    real.parent.mkdir(parents=True, exist_ok=True)  # inside: `real` is, so its parents are
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(real, flags, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return f"wrote {len(data)} bytes to '{space.shown(real)}'"
