"""The file tools on real files, through the run's toolbox as the kernel calls it: every way out
of the workspace is refused as an error result (`..`, absolute paths, a symlink out, a symlink
loop, grep and list_dir never following a link out), and inside the workspace the tools read,
list, grep and write, within their documented caps."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from axoc.kernel.ports import ToolCall, ToolResult
from axoc.kernel.table import AgentSpec, Budget, Memory, Sampling, Supervision
from axoc.tools import files
from axoc.tools.base import Tool
from axoc.tools.files import NAMES, file_tools
from axoc.tools.toolbox import MAX_RESULT_CHARS, Toolbox, ToolsError

SECRET = "the secret outside the workspace"


def agent(tools: tuple[str, ...] = NAMES) -> AgentSpec:
    return AgentSpec(
        id="a", name="a", provider="echo", model="m", system_prompt="", depends_on=(),
        tools=tools, role="autonomous", budget=Budget(10_000, None, "abort"), sampling=Sampling(),
        supervision=Supervision(), memory=Memory(True, 5, 0.15, ()), timeout=None,
    )  # fmt: skip


@pytest.fixture
def space(tmp_path: Path) -> Path:
    (tmp_path / "outside.txt").write_text(SECRET, encoding="utf-8")
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "notes.txt").write_text("alpha\nbeta lattice\ngamma\n", encoding="utf-8")
    (work / "src" / "main.py").write_text("print('lattice')\n", encoding="utf-8")
    return work


def call(work: Path, name: str, dry_run: bool = False, **arguments: Any) -> ToolResult:
    box = Toolbox(file_tools(work, dry_run=dry_run))
    return asyncio.run(box.call(agent(), ToolCall("c1", name, json.dumps(arguments))))


def test_the_tools_have_axocoatls_names_and_parameters(space: Path) -> None:
    # as in Axocoatl's crates/axocoatl-tools/src/fs_tools.rs, so its configs work unchanged
    defs = {d.name: d.parameters for d in Toolbox(file_tools(space)).definitions(agent())}
    assert {n: sorted(p["properties"]) for n, p in defs.items()} == {
        "read_file": ["path"],
        "list_dir": ["path"],
        "grep": ["path", "pattern"],
        "write_file": ["content", "path"],
    }
    assert {n: p.get("required", []) for n, p in defs.items()} == {
        "read_file": ["path"], "list_dir": [], "grep": ["pattern"],
        "write_file": ["path", "content"],
    }  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt", "..", "./../work"])
def test_dot_dot_is_refused(space: Path, name: str, path: str) -> None:
    result = call(space, name, path=path, pattern="secret", content="x")
    assert result.is_error
    assert "'..'" in result.content
    assert SECRET not in result.content


@pytest.mark.parametrize("name", NAMES)
def test_absolute_paths_are_refused(space: Path, name: str) -> None:
    for path in (str(space.parent / "outside.txt"), str(space / "notes.txt"), "/etc/passwd"):
        result = call(space, name, path=path, pattern="secret", content="x")
        assert result.is_error and "absolute" in result.content, result
        assert SECRET not in result.content


@pytest.mark.parametrize("name", NAMES)
def test_a_symlink_out_is_refused(space: Path, name: str) -> None:
    (space / "link.txt").symlink_to(space.parent / "outside.txt")
    (space / "linkdir").symlink_to(space.parent)
    for path in ("link.txt", "linkdir", "linkdir/outside.txt"):
        result = call(space, name, path=path, pattern="secret", content="overwritten")
        assert result.is_error and "outside the workspace" in result.content, result
        assert SECRET not in result.content
    assert (space.parent / "outside.txt").read_text(encoding="utf-8") == SECRET


@pytest.mark.parametrize("name", NAMES)
def test_a_symlink_loop_is_refused(space: Path, name: str) -> None:
    (space / "loop1").symlink_to(space / "loop2")
    (space / "loop2").symlink_to(space / "loop1")
    result = call(space, name, path="loop1", pattern="x", content="x")
    assert result.is_error and "symlink loop" in result.content, result


def test_grep_and_list_dir_do_not_follow_links_out(space: Path) -> None:
    (space / "out").symlink_to(space.parent)
    (space / "out.txt").symlink_to(space.parent / "outside.txt")
    (space / "self").symlink_to(space)  # a link back in: walked once, not forever
    found = call(space, "grep", pattern="secret|lattice")
    assert not found.is_error
    assert SECRET not in found.content
    assert found.content.splitlines() == [
        "notes.txt:2:beta lattice",
        "src/main.py:1:print('lattice')",
    ]
    listing = call(space, "list_dir", path=".")
    assert listing.content.splitlines() == ["notes.txt", "out.txt", "out/", "self/", "src/"]


def test_a_link_inside_the_workspace_is_followed(space: Path) -> None:
    (space / "alias.txt").symlink_to(space / "notes.txt")
    assert call(space, "read_file", path="alias.txt").content == "alpha\nbeta lattice\ngamma\n"


def test_reads_lists_greps_and_writes_inside(space: Path) -> None:
    assert call(space, "read_file", path="notes.txt") == ToolResult("alpha\nbeta lattice\ngamma\n")
    assert call(space, "read_file", path="./src/main.py").content == "print('lattice')\n"
    assert call(space, "list_dir").content == "notes.txt\nsrc/"
    assert call(space, "list_dir", path="src").content == "main.py"
    assert call(space, "grep", pattern="^gam", path="notes.txt").content == "notes.txt:3:gamma"
    assert call(space, "grep", pattern="nothing here").content == "no match"
    wrote = call(space, "write_file", path="out/new.md", content="héllo\n")
    assert wrote == ToolResult("wrote 7 bytes to 'out/new.md'")
    assert (space / "out" / "new.md").read_text(encoding="utf-8") == "héllo\n"
    assert call(space, "write_file", path="notes.txt", content="x").is_error is False
    assert (space / "notes.txt").read_text(encoding="utf-8") == "x"


def test_a_dry_run_writes_nothing(space: Path) -> None:
    result = call(space, "write_file", dry_run=True, path="new.md", content="abc")
    assert result == ToolResult("not written: dry run (3 bytes to 'new.md')")
    assert not (space / "new.md").exists()
    refused = call(space, "write_file", dry_run=True, path="../x.md", content="abc")
    assert refused.is_error  # the path is checked as in a real run


def test_missing_files_directories_and_bad_patterns_are_error_results(space: Path) -> None:
    assert call(space, "read_file", path="nope.txt").is_error
    assert "directory" in call(space, "read_file", path="src").content
    assert "not a directory" in call(space, "list_dir", path="notes.txt").content
    bad = call(space, "grep", pattern="(unclosed")
    assert bad.is_error and "not a valid regular expression" in bad.content
    (space / "bin.dat").write_bytes(b"\x00\x01lattice")
    assert "binary" in call(space, "read_file", path="bin.dat").content
    assert "bin.dat" not in call(space, "grep", pattern="lattice").content


def test_caps(space: Path) -> None:
    big = "x" * (files.MAX_READ_BYTES + 10)
    (space / "big.txt").write_text(big, encoding="utf-8")
    read = call(space, "read_file", path="big.txt").content
    assert read.startswith("x" * files.MAX_READ_BYTES + "\n[cut:")
    assert f"is {len(big)} bytes" in read
    many = space / "many"
    many.mkdir()
    for n in range(files.MAX_LIST_ENTRIES + 5):
        (many / f"f{n:05}").touch()
    listing = call(space, "list_dir", path="many").content.splitlines()
    assert len(listing) == files.MAX_LIST_ENTRIES + 1
    cap = files.MAX_LIST_ENTRIES
    assert listing[-1] == f"[cut: {cap + 5} entries; the first {cap} are shown]"
    (space / "matches.txt").write_text("hit " + "y" * 600 + "\n" + "hit\n" * 300, encoding="utf-8")
    found = call(space, "grep", pattern="hit", path="matches.txt").content.splitlines()
    assert len(found) == files.MAX_GREP_MATCHES + 1
    assert found[0].endswith(" [line cut]") and len(found[0]) < 600
    assert found[-1].startswith(f"[cut: more than {files.MAX_GREP_MATCHES} matches")
    too_big = call(space, "write_file", path="w.txt", content="z" * (files.MAX_WRITE_BYTES + 1))
    assert too_big.is_error and not (space / "w.txt").exists()


def test_the_toolbox_checks_arguments_and_never_raises(space: Path) -> None:
    box = Toolbox(file_tools(space))
    a = agent()

    def run(name: str, arguments: str, who: AgentSpec = a) -> ToolResult:
        return asyncio.run(box.call(who, ToolCall("c", name, arguments)))

    assert "not JSON" in run("read_file", "{path").content
    assert "not a JSON object" in run("read_file", "[1]").content
    wrong = run("read_file", '{"path": 5}')
    assert (
        wrong.is_error and "at 'path'" in wrong.content and "not of type 'string'" in wrong.content
    )
    assert "'path' is a required property" in run("read_file", "{}").content
    assert run("read_file", '{"path": "notes.txt"}', agent(("grep",))).is_error  # not listed

    async def boom(arguments: Any) -> ToolResult:
        raise ValueError("kaput")

    async def huge(arguments: Any) -> ToolResult:
        return ToolResult("h" * (MAX_RESULT_CHARS + 50))

    defs = {d.name: d for d in box.definitions(a)}
    extra = Toolbox([
        Tool(defs["read_file"]._replace(name="boom"), boom),
        Tool(defs["read_file"]._replace(name="huge"), huge),
    ])  # fmt: skip
    both = agent(("boom", "huge"))
    failed = asyncio.run(extra.call(both, ToolCall("c", "boom", '{"path": "x"}')))
    assert failed == ToolResult("the tool 'boom' failed: ValueError: kaput", True)
    capped = asyncio.run(extra.call(both, ToolCall("c", "huge", '{"path": "x"}'))).content
    assert capped.startswith("h" * MAX_RESULT_CHARS + "\n[cut: the result was")
    assert len(capped) < MAX_RESULT_CHARS + 200


def test_the_tools_run_off_the_event_loop(space: Path) -> None:
    """A read blocked in the file system (a FIFO no one writes yet) leaves the loop free."""
    fifo = space / "pipe"
    os.mkfifo(fifo)
    box = Toolbox(file_tools(space))

    async def main() -> tuple[str, ToolResult]:
        reading = asyncio.ensure_future(
            box.call(agent(), ToolCall("c", "read_file", '{"path": "pipe"}'))
        )
        await asyncio.sleep(0.05)
        ticked = "loop free" if not reading.done() else "finished early"
        await asyncio.to_thread(fifo.write_text, "piped", encoding="utf-8")
        return ticked, await reading

    ticked, result = asyncio.run(main())
    assert ticked == "loop free"
    assert result == ToolResult("piped")


def test_a_tool_whose_parameters_are_not_a_schema_is_refused_when_the_toolbox_is_made(
    space: Path,
) -> None:
    (read, *_) = file_tools(space)
    bad = Tool(read.definition._replace(name="bad", parameters={"type": "no-such-type"}), read.run)
    with pytest.raises(ToolsError, match="tool 'bad': its parameters are not a valid JSON schema"):
        Toolbox([bad])
