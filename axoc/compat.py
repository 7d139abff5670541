"""What a config declares that axoc does not carry out (yet): each named, none dropped in silence.

In: the `Document` (for positions) and a valid `Config`. Out: warnings, all at once —
- AX205: Axocoatl keys axoc accepts and ignores: the top-level sections `webhooks`, `server`,
  `sandbox`, `hooks`; a workflow's `htn_methods_file`; a provider's `fallback`;
- AX208: what the config language has and `axoc run` does not execute yet: the tools an
  agent lists that a run does not offer (all but `RUN_TOOLS` — `emit`, the file tools, the
  memory tools —, the config's WASM `tools` once `axoc.tools.wasm` is installed, `web_search` /
  `fetch_url` when their top-level block configures them — otherwise the warning names the
  block —, and MCP tools when the config has `mcp_servers`: `mcp__<server>__<tool>` and bare
  names that are no built-in), an agent's `memory.recall` when it lists no recall tool, WASM
  `tools` (until then), a `web_search:` block that cannot run (a provider axoc lacks, tavily
  without a key), `schedules`, proactive schedule triggers, and a coordinator's delegation to
  its workers;
- AX511: settings without effect in axoc: `memory.max_session_messages` (Axocoatl's), and a
  `consolidation:` block when no agent has both core and semantic memory.

`run_note` turns these into the one line `axoc run` prints before it starts, so a run never
completes in silence while something it was configured to do did not happen.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from axoc.checks import coordinators
from axoc.config import (
    AXOCOATL_TOOLS,
    BUILTIN_TOOLS,
    MCP_TOOL_PREFIX,
    UNSUPPORTED_AXOCOATL_KEYS,
    Config,
)
from axoc.diagnostics import Diagnostic, Path, warning
from axoc.providers import registry
from axoc.wording import listing
from axoc.yamlload import Document

NOT_SUPPORTED = "AX205"
NOT_EXECUTED = "AX208"
# the tools axoc run offers to models: the kernel's emit, the file tools (axoc.tools.files) and
# the memory tools (axoc.memory.tools)
RUN_TOOLS = frozenset({
    "emit", "read_file", "list_dir", "grep", "write_file", "core_memory_append",
    "core_memory_replace", "core_memory_set", "recall_search", "recall_timeframe",
})  # fmt: skip
RECALL_TOOLS = ("recall_search", "recall_timeframe")
_IGNORED = "is an Axocoatl key that axoc does not support yet; it is ignored"


def warnings(doc: Document, config: Config) -> list[Diagnostic]:
    return [
        *_axocoatl_keys(doc, config),
        *_agents(doc, config),
        *_sections(doc, config),
        *_web_search_block(doc, config),
        *_coordinators(doc, config),
        *_consolidation(doc, config),
    ]


def _axocoatl_keys(doc: Document, config: Config) -> list[Diagnostic]:
    out = []
    for key in UNSUPPORTED_AXOCOATL_KEYS:
        if key in doc.data:
            out.append(_warn(doc, NOT_SUPPORTED, (key,), f"'{key}' {_IGNORED}", key=True))
    for i, flow in enumerate(config.workflows):
        if flow.htn_methods_file is not None:
            path: Path = ("workflows", i, "htn_methods_file")
            out.append(_warn(doc, NOT_SUPPORTED, path, f"'htn_methods_file' {_IGNORED}", key=True))
    for name, settings in registry.entries(config.providers):
        if getattr(settings, "fallback", None) is not None:
            path = ("providers", name, "fallback")
            out.append(_warn(doc, NOT_SUPPORTED, path, f"'fallback' {_IGNORED}", key=True))
    return out


def _agents(doc: Document, config: Config) -> list[Diagnostic]:
    out = []
    written = doc.data.get("agents")
    written = written if isinstance(written, list) else []
    runs = (RUN_TOOLS | {t.id for t in config.tools}) if wasm_runs() else RUN_TOOLS
    runs |= set(_web_runs(config))
    for i, agent in enumerate(config.agents):
        if not agent.tools and not (i < len(written) and _has_memory(written[i])):
            continue  # nothing below to say (most agents)
        unconfigured = [name for name in agent.tools if name in _WEB_BLOCKS and name not in runs]
        for name in unconfigured:
            msg = (
                f"agent '{agent.id}' lists '{name}', which runs only with a top-level "
                f"'{name}:' block ({_WEB_BLOCKS[name]}): it runs without it"
            )
            out.append(_warn(doc, NOT_EXECUTED, ("agents", i, "tools"), msg, key=True))
        missing = [
            n
            for n in agent.tools
            if n not in runs and n not in unconfigured and not _mcp_runs(n, config)
        ]
        if missing:
            them = "it" if len(missing) == 1 else "them"
            msg = (
                f"agent '{agent.id}' lists {listing(missing)}, which axoc run does not offer "
                f"to models yet: it runs without {them}"
            )
            out.append(_warn(doc, NOT_EXECUTED, ("agents", i, "tools"), msg, key=True))
        if not (i < len(written) and _has_memory(written[i])):
            continue
        if agent.memory.max_session_messages is not None:
            path: Path = ("agents", i, "memory", "max_session_messages")
            msg = "max_session_messages has no effect: each activation starts a fresh session"
            out.append(_warn(doc, "AX511", path, msg, key=True))
        recalls = any(name in RECALL_TOOLS for name in agent.tools)
        if "recall" in agent.memory.model_fields_set and not recalls:
            msg = (
                f"agent '{agent.id}' sets memory.recall but lists neither recall_search nor "
                "recall_timeframe: axoc run stores and recalls semantic memories only for "
                "agents that list one"
            )
            out.append(_warn(doc, NOT_EXECUTED, ("agents", i, "memory"), msg, key=True))
    return out


# the web tools, and what their block needs (axoc.tools.web)
_WEB_BLOCKS = {
    "web_search": "provider tavily with an api_key, or searxng with a url",
    "fetch_url": "the URL prefixes it may fetch, in allow",
}


def _web_runs(config: Config) -> list[str]:
    """The web tools the config's blocks make runnable."""
    out = []
    if config.web_search is not None and config.web_search.runs():
        out.append("web_search")
    if config.fetch_url is not None:
        out.append("fetch_url")
    return out


def _web_search_block(doc: Document, config: Config) -> list[Diagnostic]:
    """A `web_search:` block that cannot run: a provider axoc does not have, or without what
    it needs."""
    search = config.web_search
    if search is None or search.runs():
        return []
    if search.provider == "tavily":
        path: Path = ("web_search", "api_key")
        msg = "web_search provider tavily needs an api_key: web_search is not offered"
    elif search.provider == "searxng":
        path = ("web_search",)
        msg = "web_search provider searxng needs a url: web_search is not offered"
    else:
        path = ("web_search", "provider")
        msg = (
            f"web_search provider '{search.provider}' is not one axoc runs (tavily, searxng): "
            "web_search is not offered"
        )
    return [_warn(doc, NOT_EXECUTED, path, msg, key=True)]


def _mcp_runs(name: str, config: Config) -> bool:
    """Whether `axoc run` offers `name` from an MCP server: the config has servers, and the name
    is `mcp__<server>__<tool>` or a bare name that is no built-in and no `tools[]` id (a name
    no server provides refuses the run, so none runs without it in silence)."""
    if not config.mcp_servers:
        return False
    if name.startswith(MCP_TOOL_PREFIX):
        return True
    builtin = {*BUILTIN_TOOLS, *AXOCOATL_TOOLS} | {t.id for t in config.tools}
    return name not in builtin


def wasm_runs() -> bool:
    """Whether axoc run can load WASM tools: `axoc.tools.wasm` is installed."""
    return importlib.util.find_spec("axoc.tools.wasm") is not None


_SECTIONS = {
    "tools": "WASM tools are not run by axoc run yet",
}


def _sections(doc: Document, config: Config) -> list[Diagnostic]:
    return [
        _warn(doc, NOT_EXECUTED, (key,), msg, key=True)
        for key, msg in _SECTIONS.items()
        if doc.data.get(key) not in (None, [], {}) and not (key == "tools" and wasm_runs())
    ]


def scheduled(doc: Document) -> list[str]:
    """What fires on a clock — `schedules` and proactive schedule triggers, enabled —: `axoc
    serve` fires them; `axoc run`, one run started by hand, does not, and says so (`run_note`).
    Not a warning of `axoc check`: the config language's schedules are executed (by serve)."""
    found = []
    for item in doc.data.get("schedules") or []:
        if isinstance(item, dict) and item.get("enabled", True) is not False:
            found.append(f"schedule {item.get('id')}")
    for item in doc.data.get("proactive") or []:
        trigger = item.get("trigger") if isinstance(item, dict) else None
        on_clock = isinstance(trigger, dict) and trigger.get("type") == "schedule"
        if on_clock and item.get("enabled", True) is not False:
            found.append(f"proactive {item.get('id')}")
    return found


def _has_memory(raw: object) -> bool:
    """Whether an agent as written sets `memory` (as `doc.node` would say, without a walk)."""
    return isinstance(raw, dict) and "memory" in raw


def _consolidation(doc: Document, config: Config) -> list[Diagnostic]:
    """A `consolidation:` block that serves no agent: none has both core memory and semantic
    memory (`axoc.memory.consolidation.consolidates`, read here from the config)."""
    settings = config.consolidation
    if settings is None or not settings.enabled:
        return []
    if config.memory.enabled:
        for agent in config.agents:
            core = any(n.startswith("core_memory_") for n in agent.tools) or (
                "blocks" in agent.memory.core.model_fields_set
            )
            blocks = agent.memory.core.blocks  # none: the three defaults, editable
            editable = not blocks or any(not b.read_only for b in blocks)
            if core and editable and any(n in RECALL_TOOLS for n in agent.tools):
                return []
    msg = (
        "consolidation has no effect: no agent has both core memory (a core_memory_* tool or "
        "blocks of its own, one not read-only) and semantic memory (recall_search or "
        "recall_timeframe, with memory.enabled)"
    )
    return [_warn(doc, "AX511", ("consolidation",), msg, key=True)]


def _coordinators(doc: Document, config: Config) -> list[Diagnostic]:
    led = coordinators(config)
    if not led:
        return []
    role = {a.id: a.role for a in config.agents}
    out = []
    for i, flow in enumerate(config.workflows):
        lead = led.get(flow.id)
        if lead is None:
            continue
        workers = [m for m in flow.agents if role.get(m) == "worker"]
        if not workers:
            continue
        msg = (
            f"coordinator '{lead}' does not delegate in axoc run yet: it runs alone, and "
            f"{listing(workers)} never run{'s' if len(workers) == 1 else ''}"
        )
        out.append(_warn(doc, NOT_EXECUTED, ("workflows", i, "entry_point"), msg))
    return out


def run_note(doc: Document, diagnostics: Iterable[Diagnostic]) -> str | None:
    """One line naming what the config declares and the run will not do, grouped by feature:
    `not executed by axoc run yet: agents' tools (coder, tester); schedules; ...`."""
    groups: dict[str, list[str]] = {}
    for d in diagnostics:
        if d.code in (NOT_SUPPORTED, NOT_EXECUTED):
            feature, subject = _feature(doc, d)
            subjects = groups.setdefault(feature, [])
            if subject is not None and subject not in subjects:
                subjects.append(subject)
    parts = [f"{f} ({', '.join(s)})" if s else f for f, s in groups.items()]
    clocked = scheduled(doc)
    block = doc.data.get("consolidation")
    sleeps = isinstance(block, dict) and block.get("enabled", True) is not False
    if not parts and not clocked and not sleeps:
        return None
    said = []
    if parts:
        said.append(
            "not executed by axoc run yet: " + "; ".join(parts) + " (axoc check names each)"
        )
    if clocked:
        said.append(f"{', '.join(clocked)} fire only under axoc serve: axoc run starts one run")
    if sleeps:
        said.append("memory consolidation runs under axoc serve and axoc memory consolidate")
    return "; ".join(said)


def _feature(doc: Document, d: Diagnostic) -> tuple[str, str | None]:
    """What a compat warning is about, and whose (an id, read where its path points)."""
    path = d.path
    if d.code == NOT_SUPPORTED:
        return "Axocoatl keys", str(path[-1])
    section = str(path[0])
    if len(path) == 1 or section == "web_search":
        return section, None
    item = doc.data[section][path[1]]
    if section == "agents":
        return f"agents' {path[-1]}", str(item.get("id"))
    if section == "proactive":
        return "proactive schedule triggers", str(item.get("id"))
    return "coordinator delegation", str(item.get("entry_point"))


def _warn(doc: Document, code: str, path: Path, msg: str, *, key: bool = False) -> Diagnostic:
    return warning(code, msg, doc.span(path, key=key), path)
