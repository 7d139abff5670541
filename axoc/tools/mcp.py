"""MCP servers' tools: the run's servers started, their tools listed once, called, stopped.

In: the plan's `McpServerSpec`s, the tool names the run's agents list that no other tool of the
run provides, the values the config wrote without a `${VAR}` (`Runnable.mcp_values`: a plan
never holds them) and the environment `${VAR}`s are resolved from. Out: `Servers` — `start()`
gives one `Tool` per offered tool, `digests()` each offered tool's definition digest,
`aclose()` stops every server.

Names: an agent lists `mcp__<server>__<tool>`, or a server's bare tool name (which resolves to
the one server that lists it). Only listed tools are offered, under the name listed. A server
starts only when some agent lists a tool of it; a bare name starts every server (any of them
may provide it).

Transports: `stdio` starts `command args` in the config's directory with exactly the
configured environment merged onto a minimal one — `HOME`, `LOGNAME`, `PATH`, `SHELL`, `TERM`,
`USER` of axoc's own environment (the `mcp` SDK's `get_default_environment`), nothing else: no
API key of axoc's leaks into a server; its stderr is kept in a temporary file, whose tail
(bounded, secrets redacted) names what failed. `streamable_http` connects to `url` with the
configured `headers`.

Guarantees: a server that does not start, or does not answer `initialize` and `tools/list`
within `START_TIMEOUT`, or a listed tool no server (or more than one) provides, raises
`McpError` naming the server and what failed: the run is refused. A call never raises: a
server that dies mid-call, an error the tool reports (`isError`), a call that outlasts
`CALL_TIMEOUT` are error results the model sees; a dead server's later calls fail at once.
Before each call the server's tools are listed again (one round trip, measured by
tests/bench/bench_mcp.py), and so is on a `notifications/tools/list_changed`: a tool whose
definition (name, description, input schema) changed since the run started — a rug pull — is
refused from then on, with an error naming it; the run goes on. Secrets (`env` and `headers`
values) never appear in an error. `mcp` is imported when servers start, never on `check` or
`plan`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from axoc.kernel.ports import ToolDefinition, ToolResult
from axoc.kernel.table import McpServerSpec
from axoc.tools.base import Tool

PREFIX = "mcp__"
CALL_TIMEOUT = 60.0  # seconds a tool call may take
START_TIMEOUT = 30.0  # seconds to start a server, initialize and list its tools
STOP_TIMEOUT = 10.0  # seconds to stop a server before its task is cancelled
STDERR_TAIL = 2000  # characters of a server's stderr shown when it fails
REDACTED = "(redacted)"
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpError(Exception):
    """A server the run needs cannot be used: it does not start, does not list its tools, or
    does not provide a tool an agent lists."""


def digest(server: str, definition: Mapping[str, Any]) -> str:
    """sha256 of a tool's canonical definition: its server, name, description, input schema."""
    text = json.dumps(
        {"server": server, **definition}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve(text: str, environ: Mapping[str, str], where: str) -> str:
    """`${VAR}`, `${VAR:-default}` and `$$` in `text`, from `environ`; an unset variable
    without a default raises `McpError` naming `where` and the variable, never a value."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        if found is not None:
            return found
        raise McpError(f"{where}: the environment variable {name} is not set")

    return _REFERENCE.sub(value, text)


@dataclass
class _Settings:
    """A server's settings with every value resolved; `secrets`, to redact from messages."""

    spec: McpServerSpec
    env: dict[str, str]
    url: str | None
    headers: dict[str, str]
    secrets: tuple[str, ...]


def settings(
    spec: McpServerSpec, written: Mapping[str, Any], environ: Mapping[str, str]
) -> _Settings:
    """`spec`'s values resolved: a `${VAR}` from `environ`, a value the plan keeps as
    `(redacted)` from `written` (the config's values, `Runnable.mcp_values[spec.name]`)."""
    where = f"MCP server '{spec.name}'"

    def one(section: str, key: str, kept: str) -> str:
        if kept == REDACTED or (section == "url" and REDACTED in kept):
            given = written.get(section)
            value = given.get(key) if isinstance(given, Mapping) else given
            if not isinstance(value, str):
                raise McpError(
                    f"{where}: {section} {key} was written in the config without a ${{VAR}}, "
                    "and a plan does not keep such a value: write it as ${VAR} to run from a plan"
                )
            return value
        return resolve(kept, environ, f"{where}: {section} {key}".rstrip())

    env = {k: one("env", k, v) for k, v in spec.env.items()}
    headers = {k: one("headers", k, v) for k, v in spec.headers.items()}
    url = one("url", "", spec.url) if spec.url is not None else None
    secrets = tuple(sorted({v for v in (*env.values(), *headers.values()) if len(v) >= 3}))
    return _Settings(spec, env, url, headers, secrets)


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _cause(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio's task groups wrap what failed)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _said(exc: BaseException) -> str:
    exc = _cause(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Connection:
    """One server, owned by a task of its own (the SDK's contexts are entered and left in one
    task), its session shared by the calls."""

    def __init__(self, resolved: _Settings, call_timeout: float, cwd: str | None = None) -> None:
        self.settings = resolved
        self.cwd = cwd
        self.name = resolved.spec.name
        self.call_timeout = call_timeout
        self.session: Any = None
        self.dead: str | None = None  # why calls fail at once
        self.listed: dict[str, dict[str, Any]] = {}  # tool name → its definition, at start
        self.changed: set[str] = set()  # tools whose definition changed since the start
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stderr: TextIO | None = None
        self._relist: asyncio.Task[None] | None = None

    async def start(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        if self.settings.spec.transport == "stdio":
            # kept open until `close`: the server writes to it while it runs
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._task = asyncio.create_task(self._own(), name=f"mcp:{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except TimeoutError:
            raise McpError(self._failed(f"it did not answer within {timeout:g} s")) from None
        except McpError:
            raise
        except Exception as exc:
            raise McpError(self._failed(_said(exc))) from None

    async def _own(self) -> None:
        assert self._ready is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                from mcp import ClientSession, types

                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(
                    ClientSession(
                        read,
                        write,
                        message_handler=self._on_message,
                        client_info=types.Implementation(name="axoc", version="0.1.0"),
                    )
                )
                await session.initialize()
                self.listed = await self._list(session)
                self.session = session
                self._ready.set_result(None)
                await self._stop.wait()
        except asyncio.CancelledError:
            self.dead = "it was stopped"
            raise
        except Exception as exc:  # anything the transport or the session raised
            if not self._ready.done():
                self._ready.set_exception(exc)
            self.dead = self._failed(_said(exc))
        finally:
            if self.dead is None:
                self.dead = "it was stopped"

    def _transport(self) -> Any:
        spec, resolved = self.settings.spec, self.settings
        if spec.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            assert spec.command is not None and self._stderr is not None
            parameters = StdioServerParameters(
                command=spec.command, args=list(spec.args), env=resolved.env, cwd=self.cwd
            )
            return stdio_client(parameters, errlog=self._stderr)
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client  # the SDK's own timeouts

        assert resolved.url is not None
        client = create_mcp_http_client(headers=resolved.headers)
        return _closing(client, streamable_http_client(resolved.url, http_client=client))

    async def _list(self, session: Any) -> dict[str, dict[str, Any]]:
        tools: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            from mcp import types

            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            for tool in page.tools:
                tools[tool.name] = {
                    "name": tool.name,
                    "description": tool.description or "",
                    "inputSchema": tool.input_schema,
                }
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def _on_message(self, message: Any) -> None:
        from mcp import types

        if isinstance(message, types.ToolListChangedNotification) and self.session is not None:
            self._relist = asyncio.create_task(self._verify_quietly())

    async def _verify_quietly(self) -> None:
        """`verify` on a notification: a failure is seen by the next call's own listing."""
        with contextlib.suppress(Exception):
            await self.verify()

    async def verify(self) -> None:
        """List the tools again; those whose definition changed are refused from now on."""
        if self.session is None or self.dead is not None:
            return
        now = await self._list(self.session)
        for name, definition in self.listed.items():
            if now.get(name) != definition:
                self.changed.add(name)

    def stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0, 2)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - STDERR_TAIL * 4))
            text = self._stderr.read()[-STDERR_TAIL:].strip()
        except (OSError, ValueError):
            return ""
        return _redact(text, self.settings.secrets)

    def _failed(self, what: str) -> str:
        spec = self.settings.spec
        how = f"'{spec.command}'" if spec.transport == "stdio" else "at its url"
        message = f"MCP server '{self.name}' ({how}): {_redact(what, self.settings.secrets)}"
        tail = self.stderr_tail()
        return message + (f"; its stderr ends with:\n{tail}" if tail else "")

    async def call(self, tool: str, arguments: Mapping[str, Any], offered: str) -> ToolResult:
        if self.dead is not None or self.session is None:
            return ToolResult(f"MCP server '{self.name}' is not running: {self.dead}", True)
        try:
            await asyncio.wait_for(self._verify_now(), self.call_timeout)
            if tool in self.changed:
                return ToolResult(
                    f"the MCP tool '{offered}' is refused: its definition changed since the run "
                    f"started (server '{self.name}' now describes it differently)",
                    True,
                )
            result = await asyncio.wait_for(
                self.session.call_tool(
                    tool, dict(arguments), read_timeout_seconds=self.call_timeout
                ),
                self.call_timeout + 1,
            )
        except TimeoutError:
            return self._timed_out(offered)
        except Exception as exc:
            said = _said(exc)
            if "timed out" in said:
                return self._timed_out(offered)
            self.dead = f"it stopped answering ({said})"
            return ToolResult(self._failed(f"the call of '{offered}' failed: {said}"), True)
        return _result(result, self.settings.secrets)

    async def _verify_now(self) -> None:
        if self._relist is not None and not self._relist.done():
            await self._relist
        await self.verify()

    def _timed_out(self, offered: str) -> ToolResult:
        return ToolResult(
            f"the MCP tool '{offered}' (server '{self.name}') did not answer within "
            f"{self.call_timeout:g} s",
            True,
        )

    async def close(self) -> None:
        """Stop the server: its task leaves the SDK's contexts (stdin closed, the process
        waited for, then terminated, then killed); a task still starting, or not done within
        `STOP_TIMEOUT`, is cancelled."""
        self._stop.set()
        task = self._task
        if task is not None:
            if self._ready is not None and not self._ready.done():
                task.cancel()  # still starting: nothing to wind down in order
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=STOP_TIMEOUT)
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: `_own` recorded what it was
        if self._ready is not None and self._ready.done() and not self._ready.cancelled():
            self._ready.exception()  # retrieved, whether or not `start` waited for it
        if self._stderr is not None:
            self._stderr.close()


@contextlib.asynccontextmanager
async def _closing(client: Any, transport: Any) -> Any:
    async with client, transport as streams:
        yield streams


def _result(result: Any, secrets: Iterable[str]) -> ToolResult:
    """A `CallToolResult` as text: text content joined; other content described briefly."""
    parts = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind}: {block.mime_type}, {len(block.data)} base64 characters]")
        elif kind == "resource":
            inner = block.resource
            text = getattr(inner, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource: {inner.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource link: {block.uri}]")
        else:
            parts.append(f"[{kind or 'unknown'} content]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts)
    return ToolResult(text, bool(getattr(result, "is_error", False)))


@dataclass
class Servers:
    """The run's MCP servers. `listed`: every tool name an agent lists that no other tool of
    the run provides (names `mcp__<server>__<tool>`, and bare names)."""

    specs: tuple[McpServerSpec, ...]
    listed: frozenset[str]
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    call_timeout: float = CALL_TIMEOUT
    dry_run: bool = False
    start_timeout: float = START_TIMEOUT
    cwd: str | None = None  # where stdio servers start: the config's directory
    connections: dict[str, Connection] = field(default_factory=dict)
    offered: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # name → server, tool, digest

    def needed(self) -> list[McpServerSpec]:
        """The servers some listed name may come from."""
        by_name = {s.name: s for s in self.specs}
        named, bare = set(), False
        for name in self.listed:
            if name.startswith(PREFIX):
                server, _, tool = name.removeprefix(PREFIX).partition("__")
                if server not in by_name or not tool:
                    raise McpError(f"tool '{name}': no MCP server '{server}' is configured")
                named.add(server)
            else:
                bare = True
        return [s for s in self.specs if bare or s.name in named]

    def prepare(self) -> list[_Settings]:
        """The needed servers' settings, resolved: what can be refused before a server starts
        (a server no `mcp__` name has, an unset variable) is refused here, as `McpError`."""
        return [
            settings(spec, self.values.get(spec.name, {}), self.environ) for spec in self.needed()
        ]

    async def start(self) -> list[Tool]:
        """Start the needed servers (at once), list their tools, and make the offered ones;
        on any failure every started server is stopped and `McpError` raised."""
        for resolved in self.prepare():
            spec = resolved.spec
            call_timeout = spec.call_timeout or self.call_timeout
            self.connections[spec.name] = Connection(resolved, call_timeout, self.cwd)
        started = await asyncio.gather(
            *(c.start(c.settings.spec.start_timeout or self.start_timeout)
              for c in self.connections.values()),
            return_exceptions=True,
        )  # fmt: skip
        try:
            for outcome in started:
                if isinstance(outcome, BaseException):
                    raise outcome
            return self._tools()
        except BaseException:
            await self.aclose()
            raise

    def _tools(self) -> list[Tool]:
        tools = []
        for name in sorted(self.listed):
            connection, tool = self._find(name)
            definition = connection.listed[tool]
            self.offered[name] = (connection.name, tool, digest(connection.name, definition))
            tools.append(self._tool(name, connection, tool, definition))
        return tools

    def _find(self, name: str) -> tuple[Connection, str]:
        if name.startswith(PREFIX):
            server, _, tool = name.removeprefix(PREFIX).partition("__")
            connection = self.connections[server]
            if tool not in connection.listed:
                raise McpError(
                    f"tool '{name}': MCP server '{server}' has no tool '{tool}' "
                    f"(it lists {_names(connection.listed)})"
                )
            return connection, tool
        providers = [c for c in self.connections.values() if name in c.listed]
        if len(providers) == 1:
            return providers[0], name
        if not providers:
            servers = ", ".join(f"'{c}'" for c in self.connections) or "none"
            raise McpError(f"tool '{name}': no tool of that name, and no MCP server lists it "
                           f"(servers: {servers})")  # fmt: skip
        which = ", ".join(f"'{c.name}'" for c in providers)
        raise McpError(
            f"tool '{name}': MCP servers {which} all list it; write mcp__<server>__{name} "
            "to say which"
        )

    def _tool(
        self, name: str, connection: Connection, tool: str, definition: Mapping[str, Any]
    ) -> Tool:
        schema = definition["inputSchema"] or {"type": "object"}
        offered = ToolDefinition(name, definition["description"], schema)
        dry_run = self.dry_run

        async def run(arguments: Mapping[str, Any]) -> ToolResult:
            if dry_run:
                said = json.dumps(dict(arguments), ensure_ascii=False)[:200]
                return ToolResult(f"not called: dry run ('{name}' with {said})")
            return await connection.call(tool, arguments, name)

        return Tool(offered, run)

    def digests(self) -> dict[str, str]:
        """Offered name → the digest of its definition at the start."""
        return {name: d for name, (_, _, d) in sorted(self.offered.items())}

    async def aclose(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections.values()))


def _names(listed: Mapping[str, Any]) -> str:
    names = sorted(listed)
    shown = ", ".join(f"'{n}'" for n in names[:10]) + (", ..." if len(names) > 10 else "")
    return shown or "no tools"
