"""Semantic checks on a valid `Config`: ids, references, roles, budgets, models; plus the
plain-text secret check, which needs only the document.

In: the `Document` (for positions) and the `Config`. Out: diagnostics, all at once. Dependency
cycles are `axoc.cycles`; lattice analysis is `axoc.lattice`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from axoc.config import (
    AXOCOATL_TOOLS,
    BUILTIN_TOOLS,
    MCP_TOOL_PREFIX,
    MCP_TRANSPORTS,
    Agent,
    Config,
)
from axoc.diagnostics import Diagnostic, Path, error, warning
from axoc.kernel.table import RUNTIME_EVENTS
from axoc.providers import registry
from axoc.validate import SET_ASIDE
from axoc.wording import Names
from axoc.yamlload import Document

_SECTIONS = ("agents", "workflows", "skills", "schedules", "proactive", "tools")
_PLAIN_SECRET = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}")


def check(doc: Document, config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for section in _SECTIONS:
        out += duplicate_ids(doc, section, [item.id for item in getattr(config, section)])
    out += duplicate_ids(doc, "mcp_servers", [s.name for s in config.mcp_servers], key="name")
    out += references(doc, config)
    out += tools(doc, config)
    out += tool_names(doc, config)
    out += emits(doc, config)
    out += mcp_servers(doc, config)
    out += webhooks(doc, config)
    out += workflows(doc, config)
    out += roles(doc, config)
    out += budgets(doc, config)
    out += models(doc, config)
    return out


def duplicate_ids(
    doc: Document, section: str, ids: Sequence[str], key: str = "id"
) -> list[Diagnostic]:
    first: dict[str, int] = {}
    out = []
    for i, ident in enumerate(ids):
        if ident in first:
            line = doc.span((section, first[ident], key)).line
            msg = f"duplicate {key} '{ident}' in {section} (first defined on line {line})"
            out.append(error("AX301", msg, doc.span((section, i, key)), (section, i, key)))
        else:
            first[ident] = i
    return out


def valid(names: Iterable[str]) -> Names:
    """Names a reference may take, placeholders of set-aside items left out; build once per
    kind, not per reference."""
    return Names(n for n in names if not n.startswith(SET_ASIDE))


def unresolved(doc: Document, path: Path, kind: str, name: str, names: Names) -> Diagnostic:
    close = names.closest(name)
    hint = f"did you mean '{close}'? " if close else ""
    hint += f"valid {kind}s: {names.shown()}" if names else f"no {kind}s are defined"
    return error("AX302", f"unknown {kind} '{name}'", doc.span(path), path, hint)


def references(doc: Document, config: Config) -> list[Diagnostic]:
    agents = {a.id for a in config.agents}
    workflows = {w.id for w in config.workflows}
    providers = set(registry.builtin()) | set(config.providers.model_extra or {})
    agent_names, workflow_names, provider_names = valid(agents), valid(workflows), valid(providers)
    led = coordinators(config)
    out = []
    for i, agent in enumerate(config.agents):
        if not agents.issuperset(agent.depends_on):  # one C call for the common case
            for j, dep in enumerate(agent.depends_on):
                if dep not in agents:
                    out.append(
                        unresolved(doc, ("agents", i, "depends_on", j), "agent", dep, agent_names)
                    )
        if agent.provider not in providers:
            path: Path = ("agents", i, "provider")
            out.append(unresolved(doc, path, "provider", agent.provider, provider_names))
    for i, flow in enumerate(config.workflows):
        if not agents.issuperset(flow.agents):
            for j, member in enumerate(flow.agents):
                if member not in agents:
                    out.append(
                        unresolved(doc, ("workflows", i, "agents", j), "agent", member, agent_names)
                    )
        if flow.entry_point is not None and flow.entry_point not in flow.agents:
            if flow.id in led:
                continue  # Axocoatl's layout: the coordinator leads, its workers are the agents
            path = ("workflows", i, "entry_point")
            found = unresolved(doc, path, "workflow agent", flow.entry_point, valid(flow.agents))
            msg = (
                f"entry_point '{flow.entry_point}' is not one of the agents of workflow '{flow.id}'"
            )
            out.append(replace(found, message=msg))
    for i, skill in enumerate(config.skills):
        for j, holder in enumerate(skill.agents):
            if holder not in agents:
                out.append(
                    unresolved(doc, ("skills", i, "agents", j), "agent", holder, agent_names)
                )
    for i, schedule in enumerate(config.schedules):
        if schedule.workflow not in workflows:
            path = ("schedules", i, "workflow")
            out.append(unresolved(doc, path, "workflow", schedule.workflow, workflow_names))
    for i, item in enumerate(config.proactive):
        if item.agent not in agents:
            out.append(unresolved(doc, ("proactive", i, "agent"), "agent", item.agent, agent_names))
    return out


def coordinators(config: Config) -> dict[str, str]:
    """Workflow id → its coordinator, for workflows whose entry_point is a coordinator."""
    role = _entry_roles(config)
    return {
        f.id: f.entry_point
        for f in config.workflows
        if f.entry_point is not None and role.get(f.entry_point) == "coordinator"
    }


def _entry_roles(config: Config) -> dict[str, str]:
    """The role of each agent that is some workflow's entry_point (the last definition's, as a
    mapping of every agent's would have)."""
    entries = {f.entry_point for f in config.workflows if f.entry_point is not None}
    return {a.id: a.role for a in config.agents if a.id in entries}


def tools(doc: Document, config: Config) -> list[Diagnostic]:
    """Every tool an agent lists is a tools[] id, a built-in (axoc's or Axocoatl's), or an MCP
    tool: `mcp__<server>__<tool>` of a configured server, or a bare name one of the configured
    servers may provide (known only when they run: a warning)."""
    defined = {t.id for t in config.tools} | set(BUILTIN_TOOLS) | set(AXOCOATL_TOOLS)
    servers = [s.name for s in config.mcp_servers]
    tool_names, server_names = valid(defined), valid(servers)
    out = []
    for i, agent in enumerate(config.agents):
        for j, name in enumerate(agent.tools):
            if name not in defined:
                path: Path = ("agents", i, "tools", j)
                out += _mcp_tool(doc, path, agent, name, tool_names, server_names)
    return out


def tool_names(doc: Document, config: Config) -> list[Diagnostic]:
    """Every tool an agent lists has a name its provider's API accepts (AX409): one it refuses
    would fail the agent's first call that offers it."""
    out = []
    kinds: dict[str, registry.ProviderKind | None] = {}  # looked up once per provider name
    for i, agent in enumerate(config.agents):
        if not agent.tools:
            continue  # its provider is not looked up (a pydantic exception for most names)
        provider = agent.provider
        if provider not in kinds:
            settings = registry.entry(config.providers, provider)
            kinds[provider] = registry.kind_of(provider, settings)
        kind = kinds[provider]
        if kind is None or kind.tool_names is None:
            continue
        for j, name in enumerate(agent.tools):
            if not kind.refuses_tool(name):
                continue
            path: Path = ("agents", i, "tools", j)
            msg = (
                f"{kind.name} refuses the tool name '{name}' ({len(name)} characters) of agent "
                f"'{agent.id}': its tool names are {kind.tool_names_said}"
            )
            bare = name.removeprefix(MCP_TOOL_PREFIX).partition("__")[2]
            if name.startswith(MCP_TOOL_PREFIX) and bare and not kind.refuses_tool(bare):
                hint = f"list it by its bare name, {bare}: it resolves to the server providing it"
            elif name.startswith(MCP_TOOL_PREFIX):
                hint = "give the MCP server a shorter name"
            else:
                hint = None
            out.append(error("AX409", msg, doc.span(path), path, hint))
    return out


def _mcp_tool(
    doc: Document, path: Path, agent: Agent, name: str, tools: Names, servers: Names
) -> list[Diagnostic]:
    if name.startswith(MCP_TOOL_PREFIX):
        server, _, tool = name.removeprefix(MCP_TOOL_PREFIX).partition("__")
        if server in servers and tool:
            return []
        if not tool:
            msg = f"MCP tool name '{name}' has no tool part: write mcp__<server>__<tool>"
            return [error("AX204", msg, doc.span(path), path)]
        found = unresolved(doc, path, "MCP server", server, servers)
        return [replace(found, message=f"unknown MCP server '{server}' in tool '{name}'")]
    if servers:
        msg = (
            f"tool '{name}' of agent '{agent.id}' is not defined here; it must come from an MCP "
            f"server ({servers.shown()}), which is only known when it runs"
        )
        hint = f"write mcp__<server>__{name} to say which server provides it"
        return [warning("AX302", msg, doc.span(path), path, hint)]
    return [unresolved(doc, path, "tool", name, tools)]


def emits(doc: Document, config: Config) -> list[Diagnostic]:
    """The `emit` tool publishes only events the config declares for the agent: its own
    `emits` and those of the skills it holds, none of them an event the kernel publishes
    itself. An agent listing the tool needs at least one; events declared without the tool
    can never be published."""
    skill_emits: dict[str, list[str]] = {}
    for skill in config.skills:
        for holder in skill.agents:
            skill_emits.setdefault(holder, []).extend(skill.emits)
    out = []
    for i, agent in enumerate(config.agents):
        for j, event in enumerate(agent.emits):
            if event in RUNTIME_EVENTS:
                path: Path = ("agents", i, "emits", j)
                msg = f"agent '{agent.id}' cannot emit '{event}': the kernel publishes it itself"
                hint = "name a custom event, e.g. DraftReady"
                out.append(error("AX406", msg, doc.span(path), path, hint))
        if "emit" in agent.tools and all(
            e in RUNTIME_EVENTS for e in (*agent.emits, *skill_emits.get(agent.id, ()))
        ):
            path = ("agents", i, "tools", agent.tools.index("emit"))
            msg = f"agent '{agent.id}' lists the emit tool but may publish no event"
            hint = "declare what it may publish: emits: [EventName]"
            out.append(error("AX406", msg, doc.span(path), path, hint))
        if agent.emits and "emit" not in agent.tools:
            path = ("agents", i, "emits")
            msg = (
                f"agent '{agent.id}' declares emits but does not list the emit tool, so it can "
                "never publish them"
            )
            out.append(warning("AX511", msg, doc.span(path, key=True), path, "add emit to tools"))
    return out


def mcp_servers(doc: Document, config: Config) -> list[Diagnostic]:
    """Axocoatl's checks of an MCP server's shape: a known transport; stdio needs a command,
    HTTP an http(s) URL with a host."""
    out = []
    for i, server in enumerate(config.mcp_servers):
        base: Path = ("mcp_servers", i)
        if server.transport not in MCP_TRANSPORTS:
            path: Path = (*base, "transport")
            close = difflib.get_close_matches(server.transport, MCP_TRANSPORTS, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else "use stdio or streamable_http"
            msg = f"unknown MCP transport '{server.transport}' of server '{server.name}'"
            out.append(error("AX204", msg, doc.span(path), path, hint))
        elif server.transport == "stdio" and not (server.command or "").strip():
            out.append(_needs(doc, base, "command", server.name, "the program to start, e.g. npx"))
        elif server.transport != "stdio" and not is_http_url(server.url or ""):
            if server.url is None:
                out.append(_needs(doc, base, "url", server.name, "e.g. https://mcp.example.com"))
            else:
                path = (*base, "url")
                msg = f"url of MCP server '{server.name}' must be an http(s) URL with a host"
                out.append(error("AX204", msg, doc.span(path), path))
    return out


def _needs(doc: Document, base: Path, key: str, name: str, hint: str) -> Diagnostic:
    path: Path = (*base, key)
    transport = "stdio" if key == "command" else "HTTP"
    msg = f"{transport} MCP server '{name}' needs a non-empty '{key}'"
    return error("AX203", msg, doc.span(path if doc.node(path) else base), path, hint)


def webhooks(doc: Document, config: Config) -> list[Diagnostic]:
    """Axocoatl's checks of a webhook: a name, an http(s) URL."""
    out = []
    for i, hook in enumerate(config.webhooks or []):
        if not hook.name.strip():
            path: Path = ("webhooks", i, "name")
            out.append(error("AX204", "webhook name cannot be empty", doc.span(path), path))
        if not is_http_url(hook.url):
            path = ("webhooks", i, "url")
            msg = f"url of webhook '{hook.name}' must be an http(s) URL with a host"
            out.append(error("AX204", msg, doc.span(path), path))
    return out


def is_http_url(url: str) -> bool:
    """`http://` or `https://` followed by a host (not a path, not nothing)."""
    for scheme in ("http://", "https://"):
        if url.startswith(scheme):
            rest = url.removeprefix(scheme)
            return bool(rest) and not rest.startswith("/")
    return False


def workflows(doc: Document, config: Config) -> list[Diagnostic]:
    out = []
    for i, flow in enumerate(config.workflows):
        if not flow.agents:
            msg = f"workflow '{flow.id}' has no agents"
            path: Path = ("workflows", i, "agents")
            out.append(error("AX405", msg, doc.span(path), path))
        seen: dict[str, int] = {}
        for j, member in enumerate(flow.agents):
            if member in seen:
                again: Path = ("workflows", i, "agents", j)
                msg = f"agent '{member}' is listed twice in workflow '{flow.id}'"
                out.append(error("AX405", msg, doc.span(again), again))
            seen.setdefault(member, j)
    return out


def roles(doc: Document, config: Config) -> list[Diagnostic]:
    """A worker has no depends_on and belongs to a coordinator-led workflow; a coordinator is
    some workflow's entry_point."""
    role = _entry_roles(config)
    entries = {w.entry_point for w in config.workflows}
    led = {
        m
        for w in config.workflows
        if role.get(w.entry_point or "") == "coordinator"
        for m in w.agents
    }
    out = []
    for i, agent in enumerate(config.agents):
        if agent.role == "worker":
            if agent.depends_on:
                msg = (
                    f"worker '{agent.id}' has depends_on; a coordinator assigns workers their tasks"
                )
                out.append(
                    error("AX402", msg, doc.span(("agents", i, "depends_on")), ("agents", i))
                )
            if agent.id not in led:
                msg = f"worker '{agent.id}' is in no workflow whose entry_point is a coordinator"
                hint = "add it to a workflow led by a coordinator, or use role: autonomous"
                out.append(
                    error("AX402", msg, doc.span(("agents", i, "role")), ("agents", i), hint)
                )
        elif agent.role == "coordinator" and agent.id not in entries:
            msg = f"coordinator '{agent.id}' is not the entry_point of any workflow"
            hint = f"set entry_point: {agent.id} in the workflow it leads"
            out.append(error("AX402", msg, doc.span(("agents", i, "role")), ("agents", i), hint))
    return out


def budgets(doc: Document, config: Config) -> list[Diagnostic]:
    out = []
    for i, agent in enumerate(config.agents):
        budget = agent.token_budget
        base: Path = ("agents", i, "token_budget")
        if budget.per_execution is not None and budget.per_call > budget.per_execution:
            msg = (
                f"per_call {budget.per_call} exceeds per_execution {budget.per_execution} "
                f"of agent '{agent.id}'"
            )
            hint = "one call can never use more than the whole activation may"
            out.append(
                error("AX403", msg, doc.span((*base, "per_call")), (*base, "per_call"), hint)
            )
        max_tokens = agent.sampling.max_tokens
        if max_tokens is not None and max_tokens >= budget.per_call:
            path: Path = ("agents", i, "sampling", "max_tokens")
            msg = (
                f"max_tokens {max_tokens} leaves no room for input within per_call "
                f"{budget.per_call} of agent '{agent.id}'"
            )
            if budget.overflow_policy == "abort":
                out.append(error("AX403", msg, doc.span(path), path, "every call would be refused"))
            else:
                hint = "every call would exceed per_call; under warn it is sent anyway"
                out.append(warning("AX403", msg, doc.span(path), path, hint))
    return out


def models(doc: Document, config: Config) -> list[Diagnostic]:
    """Every agent that talks to a model names one, itself or through its provider (a
    provider kind without settings, such as echo, has no models)."""
    out = []
    for i, agent in enumerate(config.agents):
        if agent.model is not None:
            continue
        kind = registry.get(agent.provider)
        if kind is not None and kind.settings is None:
            continue
        settings = registry.entry(config.providers, agent.provider)
        if getattr(settings, "model", None) is None:
            msg = f"agent '{agent.id}' has no model"
            hint = f"set model on the agent, or providers.{agent.provider}.model"
            out.append(error("AX306", msg, doc.span(("agents", i, "id")), ("agents", i), hint))
    return out


def plain_secrets(doc: Document) -> list[Diagnostic]:
    """An api_key written as a literal instead of ${VAR} (the value is never shown)."""
    out: list[Diagnostic] = []
    providers = doc.data.get("providers")
    if not isinstance(providers, dict):
        return out
    for name, settings in providers.items():
        key = settings.get("api_key") if isinstance(settings, dict) else None
        if (
            isinstance(key, str)
            and key
            and "${" not in key
            and not _PLAIN_SECRET.fullmatch(key.strip())
        ):
            path: Path = ("providers", name, "api_key")
            msg = f"providers.{name}.api_key is written in plain text"
            hint = f"write api_key: ${{{name.upper()}_API_KEY}} and set the variable"
            out.append(warning("AX305", msg, doc.span(path), path, hint))
    return out
