"""MCP servers through `axoc.tools.mcp` with real server processes (the `mcp` SDK's MCPServer):
the shipped stdio example's tools called; a server's process gone once the servers are closed;
a server that crashes mid-call (an error result naming it, its stderr tail with the secret
redacted; later calls fail at once); one that hangs (an error within the call timeout); a rug
pull (the changed tool refused, the others still called); servers that do not start (refused,
naming the server and why); bare names resolved, ambiguous or absent; `${VAR}` resolved at
start, an unset one refused; a real streamable-HTTP server on loopback, its headers sent."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from axoc.kernel.table import McpServerSpec
from axoc.tools.mcp import McpError, Servers, settings

HERE = Path(__file__).parent
SERVER = str(HERE / "mcp_test_server.py")
EXAMPLE = str(HERE.parent.parent / "examples" / "tools" / "mcp_server.py")
SECRET = "sk-very-secret-4242"


def stdio(name: str, *args: str, env: Mapping[str, str] | None = None) -> McpServerSpec:
    return McpServerSpec(name, "stdio", sys.executable, args, dict(env or {}), None, {})


def servers(
    *specs: McpServerSpec, listed: set[str], timeout: float = 60.0, **environ: str
) -> Servers:
    return Servers(specs, frozenset(listed), {}, environ, call_timeout=timeout)


async def call(tools: Any, offered: str, /, **arguments: Any) -> Any:
    return await next(t for t in tools if t.definition.name == offered).run(arguments)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_example_servers_tools_are_called_and_its_process_stopped() -> None:
    async def scenario() -> tuple[Any, ...]:
        run = servers(stdio("text", EXAMPLE), stdio("t", SERVER),
                      listed={"word_count", "mcp__text__add", "mcp__t__pid"})  # fmt: skip
        tools = await run.start()
        try:
            names = sorted(t.definition.name for t in tools)
            counted = await call(tools, "word_count", text="the lattice\ndecays")
            added = await call(tools, "mcp__text__add", a=2, b=3.5)
            pid = int((await call(tools, "mcp__t__pid")).content)
            assert alive(pid)
            digests = run.digests()
        finally:
            await run.aclose()
        return names, counted, added, pid, digests, tools

    names, counted, added, pid, digests, tools = asyncio.run(scenario())
    assert names == ["mcp__t__pid", "mcp__text__add", "word_count"]
    assert counted.content == "3 words, 2 lines, 18 characters" and not counted.is_error
    assert added.content == "5.5" and not added.is_error
    definition = next(t.definition for t in tools if t.definition.name == "word_count")
    assert definition.parameters["required"] == ["text"]
    assert sorted(digests) == names and all(d.startswith("sha256:") for d in digests.values())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:  # reaped by the SDK; at worst a zombie
        time.sleep(0.05)
    assert not alive(pid) or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return False


def test_a_server_that_crashes_mid_call_is_an_error_and_later_calls_fail_at_once() -> None:
    async def scenario() -> tuple[Any, ...]:
        spec = stdio("t", SERVER, env={"SECRET": "${MCP_SECRET}"})
        run = servers(spec, listed={"crash", "ok"}, MCP_SECRET=SECRET, PATH=os.environ["PATH"])
        tools = await run.start()
        try:
            first = await call(tools, "ok", text="before")
            crashed = await call(tools, "crash", text="x")
            started = time.monotonic()
            after = await call(tools, "ok", text="after")
            took = time.monotonic() - started
        finally:
            await run.aclose()
        return first, crashed, after, took

    first, crashed, after, took = asyncio.run(scenario())
    assert first.content == "ok: before" and not first.is_error
    assert crashed.is_error and "MCP server 't'" in crashed.content
    assert "dying with (redacted)" in crashed.content and SECRET not in crashed.content
    assert after.is_error and "MCP server 't' is not running" in after.content
    assert SECRET not in after.content
    assert took < 1.0


def test_a_call_that_hangs_is_an_error_within_the_timeout() -> None:
    async def scenario() -> tuple[Any, float, float]:
        run = servers(stdio("t", SERVER), listed={"hang"}, timeout=1.0)
        tools = await run.start()
        started = time.monotonic()
        try:
            result = await call(tools, "hang", text="x")
            took = time.monotonic() - started
        finally:
            closing = time.monotonic()
            await run.aclose()
        return result, took, time.monotonic() - closing

    result, took, closing = asyncio.run(scenario())
    assert result.is_error and result.content == (
        "the MCP tool 'hang' (server 't') did not answer within 1 s"
    )
    assert 0.9 < took < 5.0
    assert closing < 15.0  # a hung server is stopped (stdin closed, SIGTERM, SIGKILL)


def test_a_tool_whose_definition_changes_mid_run_is_refused() -> None:
    async def scenario() -> tuple[Any, ...]:
        run = servers(stdio("t", SERVER, "rug"), listed={"greet", "ok"})
        tools = await run.start()
        try:
            first = await call(tools, "greet", name="Ada")
            second = await call(tools, "greet", name="Ada")
            other = await call(tools, "ok", text="still")
        finally:
            await run.aclose()
        return first, second, other

    first, second, other = asyncio.run(scenario())
    assert first.content == "hello Ada" and not first.is_error
    assert second.is_error and second.content == (
        "the MCP tool 'greet' is refused: its definition changed since the run started "
        "(server 't' now describes it differently)"
    )
    assert other.content == "ok: still" and not other.is_error


def test_a_server_that_does_not_start_is_refused_naming_it_and_why() -> None:
    missing = McpServerSpec("gone", "stdio", "no-such-mcp-server-x", (), {}, None, {})
    with pytest.raises(McpError) as raised:
        asyncio.run(servers(missing, listed={"mcp__gone__x"}).start())
    assert str(raised.value).startswith("MCP server 'gone' ('no-such-mcp-server-x'): ")
    assert "No such file" in str(raised.value)
    failing = stdio("bad", SERVER, "fail", env={"SECRET": "${MCP_SECRET}"})
    with pytest.raises(McpError) as raised:
        asyncio.run(servers(failing, listed={"mcp__bad__ok"}, MCP_SECRET=SECRET).start())
    message = str(raised.value)
    assert message.startswith(f"MCP server 'bad' ('{sys.executable}'): ")
    assert "cannot start: the token (redacted) was refused" in message
    assert SECRET not in message


def test_a_server_that_never_answers_is_refused_within_the_start_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    mute = stdio("mute", SERVER, "mute", env={"PID_FILE": str(pid_file)})
    run = Servers((mute,), frozenset({"mcp__mute__ok"}), {}, {}, start_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(McpError) as raised:
        asyncio.run(run.start())
    assert time.monotonic() - started < 15.0
    assert str(raised.value) == (
        f"MCP server 'mute' ('{sys.executable}'): it did not answer within 2 s"
    )
    pid = int(pid_file.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 10
    while alive(pid) and not _zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) or _zombie(pid)


def test_bare_names_resolve_to_the_one_server_listing_them() -> None:
    with pytest.raises(
        McpError, match=r"MCP servers 'a', 'b' all list it; write mcp__<server>__ok"
    ):
        asyncio.run(servers(stdio("a", SERVER), stdio("b", SERVER), listed={"ok"}).start())
    with pytest.raises(McpError, match=r"tool 'nope': no tool of that name, and no MCP server"):
        asyncio.run(servers(stdio("a", SERVER), listed={"nope"}).start())
    with pytest.raises(McpError, match=r"MCP server 'a' has no tool 'nope' \(it lists 'crash', "):
        asyncio.run(servers(stdio("a", SERVER), listed={"mcp__a__nope"}).start())


def test_variables_resolve_when_the_server_starts() -> None:
    spec = McpServerSpec("s", "streamable_http", None, (), {"A": "${X}-${Y:-dflt}"},
                         "http://127.0.0.1:1/${P}", {"Authorization": "Bearer ${TOKEN}"})  # fmt: skip
    resolved = settings(spec, {}, {"X": "x", "P": "mcp", "TOKEN": SECRET})
    assert resolved.env == {"A": "x-dflt"} and resolved.url == "http://127.0.0.1:1/mcp"
    assert resolved.headers == {"Authorization": f"Bearer {SECRET}"}
    with pytest.raises(McpError) as raised:
        settings(spec, {}, {"X": "x", "P": "mcp"})
    assert str(raised.value) == (
        "MCP server 's': headers Authorization: the environment variable TOKEN is not set"
    )
    kept = McpServerSpec("s", "stdio", "x", (), {"K": "(redacted)"}, None, {})
    assert settings(kept, {"env": {"K": "literal"}}, {}).env == {"K": "literal"}
    with pytest.raises(McpError, match="written in the config without a"):
        settings(kept, {}, {})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def http_server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "EXPECTED_TOKEN": SECRET}
    process = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the HTTP MCP server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP MCP server never listened"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait(timeout=10)


def test_a_streamable_http_server_on_loopback_gets_its_headers(http_server: str) -> None:
    async def scenario(token: str) -> Any:
        spec = McpServerSpec("web", "streamable_http", None, (), {}, http_server,
                             {"Authorization": "Bearer ${MCP_TOKEN}"})  # fmt: skip
        run = servers(spec, listed={"mcp__web__secure_add"}, MCP_TOKEN=token)
        tools = await run.start()
        try:
            return await call(tools, "mcp__web__secure_add", a=40, b=2)
        finally:
            await run.aclose()

    authorized = asyncio.run(scenario(SECRET))
    assert authorized.content == "42" and not authorized.is_error
    refused = asyncio.run(scenario("wrong-token"))
    assert refused.is_error and "unauthorized" in refused.content


def test_check_and_plan_of_an_mcp_config_do_not_import_the_sdk() -> None:
    from tests.test_architecture import modules_after

    example = HERE.parent.parent / "examples" / "tools" / "mcp.axoc.yaml"
    loaded = modules_after(
        "from axoc.cli import main\n"
        f"assert main(['check', {str(example)!r}]) == 0\n"
        f"assert main(['plan', {str(example)!r}]) == 0\n"
        "import axoc.runtime.startup, axoc.tools.mcp"
    )
    assert not {m.split(".")[0] for m in loaded} & {"mcp", "mcp_types", "anyio"}


def test_the_plan_keeps_variables_and_redacts_literals_and_diffs_servers(tmp_path: Path) -> None:
    from axoc.plan import diff
    from tests.kernel.fakes import table

    text = (
        "agents: [{id: a, provider: echo, tools: [mcp__s__x]}]\n"
        "workflows: [{id: w, agents: [a]}]\n"
        "mcp_servers:\n"
        "  - {name: s, transport: http, url: 'https://h.example/mcp?key=${KEY}',\n"
        "     headers: {Authorization: 'Bearer ${TOKEN}', X-Literal: sk-literal-99}}\n"
    )
    old = table(tmp_path, text)
    (server,) = old.mcp_servers
    assert server.transport == "streamable_http"  # Axocoatl's alias, lowered
    assert server.headers == {"Authorization": "Bearer ${TOKEN}", "X-Literal": "(redacted)"}
    assert server.url == "https://h.example/mcp?key=${KEY}"
    assert "sk-literal-99" not in old.to_json()
    new = table(tmp_path, text.replace("Bearer ${TOKEN}", "Token ${TOKEN}"))
    assert diff(old, new) == [
        "~ MCP server s: headers {'Authorization': 'Bearer ${TOKEN}', 'X-Literal': '(redacted)'} "
        "→ {'Authorization': 'Token ${TOKEN}', 'X-Literal': '(redacted)'}"
    ]


def test_a_servers_own_timeouts_override_the_defaults(tmp_path: Path) -> None:
    async def hang() -> tuple[Any, float]:
        spec = dataclasses.replace(stdio("t", SERVER), call_timeout=0.5)
        run = servers(spec, listed={"hang"}, timeout=60.0)
        tools = await run.start()
        started = time.monotonic()
        try:
            return await call(tools, "hang", text="x"), time.monotonic() - started
        finally:
            await run.aclose()

    result, took = asyncio.run(hang())
    assert result.content == "the MCP tool 'hang' (server 't') did not answer within 0.5 s"
    assert 0.4 < took < 5.0
    mute = dataclasses.replace(
        stdio("mute", SERVER, "mute", env={"PID_FILE": str(tmp_path / "pid")}), start_timeout=1.5
    )
    run = Servers((mute,), frozenset({"mcp__mute__ok"}), {}, {}, start_timeout=60.0)
    with pytest.raises(McpError, match=r"did not answer within 1\.5 s"):
        asyncio.run(run.start())


def test_a_configured_timeout_is_in_the_plan_and_an_unset_one_is_not(tmp_path: Path) -> None:
    from axoc.pipeline import compile_file

    config = tmp_path / "mcp.axoc.yaml"
    config.write_text(
        "mcp_servers:\n"
        "  - {name: slow, transport: stdio, command: slow-mcp, timeout_s: 120, "
        "start_timeout_s: 45}\n"
        "  - {name: plain, transport: stdio, command: plain-mcp}\n"
        "agents:\n  - {id: a, provider: echo, model: m, tools: [mcp__slow__x, mcp__plain__y]}\n",
        encoding="utf-8",
    )
    unit = compile_file(str(config), {})
    assert unit.lowered is not None and not unit.errors()
    plan = unit.lowered.table.to_dict()
    slow, plain = sorted(plan["mcp_servers"], key=lambda s: s["name"], reverse=True)
    assert (slow["call_timeout"], slow["start_timeout"]) == (120.0, 45.0)
    assert "call_timeout" not in plain and "start_timeout" not in plain
    from axoc.kernel.table import SignalTable

    again = SignalTable.from_json(unit.lowered.table.to_json())
    assert again.digest == unit.lowered.table.digest
    assert [s.call_timeout for s in again.mcp_servers] == [None, 120.0]
