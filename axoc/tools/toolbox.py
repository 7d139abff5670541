"""The run's toolbox: named `Tool`s behind the kernel's `Toolbox` port.

In: the tools (`axoc.tools.base.Tool`), by name; for a run, `for_run` gathers them: the file
tools over the workspace (`axoc.tools.files`), the WASM `tools[]` that an agent lists (loaded
through `axoc.tools.wasm` when that module is installed; until then they stay unoffered), and
the web tools (`axoc.tools.web`) the config's `web_search:` / `fetch_url:` blocks configure.
The MCP servers' tools an agent lists (`axoc.tools.mcp`) exist once `start()` started their
servers. Out: `start()` — the MCP tools' digests, name → sha256 of its definition;
`definitions(agent)` — the tools of the agent's allow-list this toolbox has; `call(agent,
call)` — one call's `ToolResult`; `aclose()` — every MCP server stopped.

Guarantees: `call` never raises for a tool's failure. Arguments that are not a JSON object or do
not match the tool's `parameters` (validated with jsonschema) are an error result naming the
problem and the tool does not run; a tool that raises is an error result naming the exception
(never a traceback); a tool the agent does not list is refused. A result's text is cut at
`MAX_RESULT_CHARS` characters, with a note saying so. jsonschema is imported when the first
tool is added: a run offering none (most dry runs, a resumed 10,000-agent run) never pays for it.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axoc.kernel.ports import ToolCall, ToolDefinition, ToolResult
from axoc.kernel.table import AgentSpec, SignalTable
from axoc.tools.base import Tool
from axoc.tools.files import file_tools

if TYPE_CHECKING:
    from axoc.config import FetchUrl, WebSearch
    from axoc.tools.mcp import Servers

MAX_RESULT_CHARS = 100_000


class ToolsError(Exception):
    """A tool the run needs cannot be made: a WASM module that does not load, `parameters` that
    are not a JSON schema, an MCP server that does not start or lacks a listed tool."""


class Toolbox:
    """Named tools; safe to call concurrently (it keeps no state per call)."""

    def __init__(self, tools: Iterable[Tool], servers: Servers | None = None) -> None:
        self.tools: dict[str, Tool] = {}
        self._validators: dict[str, Any] = {}
        self.servers = servers
        self._add(tools)

    async def start(self) -> dict[str, str]:
        """Start the MCP servers and add their offered tools; their digests (none without
        servers). Raises `ToolsError` when a server cannot be used (all are stopped then)."""
        if self.servers is None:
            return {}
        from axoc.tools.mcp import McpError

        try:
            self._add(await self.servers.start())
        except McpError as exc:
            raise ToolsError(str(exc)) from None
        return self.servers.digests()

    async def aclose(self) -> None:
        """Stop the MCP servers."""
        if self.servers is not None:
            await self.servers.aclose()

    def _add(self, tools: Iterable[Tool]) -> None:
        for tool in tools:
            name = tool.definition.name
            if name in self.tools:
                continue  # the first of a name wins (for_run puts the config's tools first)
            from jsonschema import SchemaError  # a run offering no tool never imports it

            try:
                validator = _validator(json.dumps(tool.definition.parameters, sort_keys=True))
            except SchemaError as exc:
                bad = f"tool '{name}': its parameters are not a valid JSON schema: {exc.message}"
                raise ToolsError(bad) from None
            self.tools[name] = tool
            self._validators[name] = validator

    def definitions(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]:
        return tuple(self.tools[n].definition for n in agent.tools if n in self.tools)

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult:
        name = call.name
        tool = self.tools.get(name)
        if tool is None or name not in agent.tools:
            return ToolResult(f"no tool '{name}' is offered to agent '{agent.id}'", True)
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as exc:
            return ToolResult(f"the arguments of '{name}' are not JSON: {exc}", True)
        if not isinstance(arguments, dict):
            return ToolResult(f"the arguments of '{name}' are not a JSON object", True)
        from jsonschema.exceptions import best_match  # imported by `_add` already

        error = best_match(self._validators[name].iter_errors(arguments))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            at = f" at '{where}'" if where else ""
            return ToolResult(
                f"the arguments of '{name}' do not match its schema{at}: {error.message}", True
            )
        try:
            if tool.run_as is not None:
                result = await tool.run_as(agent, arguments)
            else:
                result = await tool.run(arguments)
        except Exception as exc:  # a tool must not raise; one that does is an error result
            return ToolResult(f"the tool '{name}' failed: {type(exc).__name__}: {exc}", True)
        return _capped(result)


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    """The validator of a `parameters` schema, checked once per process: checking a schema
    against its metaschema costs about 10 ms, and every run of a daemon (`axoc serve`) makes a
    toolbox of the same tools. Validators keep no state between calls, so one is shared."""
    import jsonschema.validators

    schema = json.loads(schema_json)
    kind = jsonschema.validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def _capped(result: ToolResult) -> ToolResult:
    text = result.content
    if len(text) <= MAX_RESULT_CHARS:
        return result
    note = f"\n[cut: the result was {len(text)} characters; at most {MAX_RESULT_CHARS} are passed]"
    return ToolResult(text[:MAX_RESULT_CHARS] + note, result.is_error)


def for_run(
    table: SignalTable, workspace: Path, base_dir: Path, *, dry_run: bool,
    extra: Iterable[Tool] = (),
    web_search: WebSearch | None = None, fetch_url: FetchUrl | None = None,
    mcp_values: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Toolbox:  # fmt: skip
    """The toolbox of a run of `table`: the WASM tools an agent lists (modules relative to
    `base_dir`, the config's directory), then `extra` (the memory tools), then the file tools
    over `workspace`, then the web tools the config configures (`web_search`, `fetch_url`) and
    an agent lists, then — once `start()` is awaited — the MCP tools an agent lists: every
    listed name no other tool provides that is neither a built-in nor Axocoatl's (those stay
    unoffered: AX208). Of the others, only those an agent lists are kept. `mcp_values`,
    `environ`: what the servers' settings are resolved from (`axoc.tools.mcp.settings`)."""
    listed = {name for agent in table.agents for name in agent.tools}
    tools: list[Tool] = list(_wasm(table, listed, base_dir))
    tools.extend(extra)
    tools.extend(file_tools(workspace, dry_run=dry_run))
    tools.extend(_web(listed, web_search, fetch_url, dry_run))
    servers = None
    if table.mcp_servers:
        from axoc.config import AXOCOATL_TOOLS, BUILTIN_TOOLS
        from axoc.tools.mcp import McpError, Servers

        known = {t.definition.name for t in tools} | {t.id for t in table.tools}
        known |= {*BUILTIN_TOOLS, *AXOCOATL_TOOLS}
        wanted = frozenset(name for name in listed if name not in known)
        if wanted:
            servers = Servers(
                table.mcp_servers, wanted, mcp_values or {}, environ or {},
                dry_run=dry_run, cwd=str(base_dir),
            )  # fmt: skip
            try:
                servers.prepare()  # refused before the run's record exists
            except McpError as exc:
                raise ToolsError(str(exc)) from None
    # A tool no agent lists is never offered nor run: it is left out, its schema unchecked.
    return Toolbox([t for t in tools if t.definition.name in listed], servers)


def _web(
    listed: set[str], search: WebSearch | None, fetch: FetchUrl | None, dry_run: bool
) -> list[Tool]:
    """The web tools, when configured (and runnable: a provider axoc knows) and listed."""
    search = search if "web_search" in listed else None
    fetch = fetch if "fetch_url" in listed else None
    if search is not None and not search.runs():
        search = None
    if search is None and fetch is None:
        return []
    from axoc.tools import web

    found = None
    if search is not None:
        url = search.url or web.DEFAULT_URLS[search.provider]
        found = web.Search(search.provider, url, search.api_key)
    fetching = None
    if fetch is not None:
        fetching = web.Fetch(tuple(fetch.allow), fetch.max_bytes, fetch.timeout_s)
    return web.web_tools(found, fetching, dry_run=dry_run)


def _wasm(table: SignalTable, listed: set[str], base_dir: Path) -> list[Tool]:
    specs = [spec for spec in table.tools if spec.id in listed]
    if not specs:
        return []
    try:
        wasm = importlib.import_module("axoc.tools.wasm")
    except ModuleNotFoundError as missing:
        if missing.name == "axoc.tools.wasm":  # not built yet: unoffered, as AX208 says
            return []
        need = f"WASM tools need the module '{missing.name}', which is not installed"
        raise ToolsError(need) from None
    loaded = []
    for spec in specs:
        try:
            loaded.append(wasm.load(spec, base_dir))
        except wasm.WasmError as exc:
            raise ToolsError(f"tool '{spec.id}': {exc}") from None
    return loaded
