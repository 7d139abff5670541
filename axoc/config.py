"""The config language: pydantic models of an axoc (Axocoatl-compatible superset) config.

In: plain data from `axoc.yamlload`. Out: a validated `Config`. The models are the single source
of truth: `axoc.schema` generates `schema/axoc.schema.json` from them, and validation uses them
directly (pydantic-core), so the schema an editor uses and the checks `axoc check` runs agree by
construction. Every model forbids unknown keys and validates strictly (`"1000"` is not an integer,
`yes` is not a boolean). Semantic checks (references, cycles, roles) live in `axoc.checks`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from axoc.providers import registry
from axoc.providers.settings import CompatibleProvider
from axoc.wording import escaped

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
INTERVAL_PATTERN = r"^0*[1-9][0-9]{0,11}[smhd]$"  # Axocoatl reads the number as a u64: 05m is 5m
EVENT_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
EVENT_REF_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}(\([A-Za-z0-9][A-Za-z0-9_-]{0,63}\))?$"
BUILTIN_PROVIDERS = registry.builtin()  # echo, ollama, openai, anthropic, gemini, ...
BUILTIN_TOOLS = (
    "emit",
    "core_memory_append",
    "core_memory_replace",
    "core_memory_set",
    "recall_search",
    "recall_timeframe",
    "fetch_url",  # axoc's: GET a page under the `fetch_url.allow` prefixes (axoc.tools.web)
)
# The tools Axocoatl's runtime registers under these names (its file, shell and terminal tools
# confined to a session directory, and its web search); configs written for Axocoatl name them.
AXOCOATL_TOOLS = (
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "grep",
    "glob",
    "bash",
    "bash_background",
    "spawn_terminal",
    "list_terminals",
    "read_terminal",
    "kill_terminal",
    "web_search",
)
MCP_TOOL_PREFIX = "mcp__"  # mcp__<server>__<tool>, Axocoatl's name for a server's tool
MCP_TRANSPORTS = ("stdio", "streamable_http", "http")  # http: Axocoatl's alias of streamable_http
UNSUPPORTED_AXOCOATL_KEYS = (
    "webhooks",
    "server",
    "sandbox",
    "hooks",
)
_INTERVAL = re.compile(INTERVAL_PATTERN)
_EVENT = re.compile(EVENT_PATTERN)
_EVENT_REF = re.compile(EVENT_REF_PATTERN)


def explain_id(value: str) -> str:
    """Why `value` is not a valid id, in words a user can act on."""
    for index, char in enumerate(value):
        if not char.isprintable():
            return (
                f"invalid id '{escaped(value)}': character {index + 1} is U+{ord(char):04X}, "
                "unprintable"
            )
        if ord(char) > 127:
            name = unicodedata.name(char, "unnamed character")
            return (
                f"invalid id '{value}': character {index + 1} is U+{ord(char):04X} {name}, "
                "not ASCII (a look-alike?)"
            )
    if not value:
        return "invalid id: empty"
    if len(value) > 64:
        return f"invalid id '{value[:20]}…': {len(value)} characters, at most 64"
    return (
        f"invalid id '{value}': use letters, digits, '_' and '-', starting with a letter or digit"
    )


def _matching(pattern: re.Pattern[str], kind: str, message: str) -> Callable[[str], str]:
    """A validator accepting strings that match `pattern`; `message` may use {value}."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):  # `match` and `$` would let a final line break through
            raise PydanticCustomError(kind, message, {"value": escaped(value)})
        return value

    return check


_check_interval = _matching(
    _INTERVAL,
    "axoc_interval",
    "invalid interval '{value}': write a whole number from 1 and s, m, h or d (30s, 5m)",
)
_check_event = _matching(
    _EVENT,
    "axoc_event",
    "invalid event name '{value}': letters, digits and '_', starting with a letter",
)
_check_event_ref = _matching(
    _EVENT_REF,
    "axoc_event",
    "invalid event pattern '{value}': write Name or Name(source), e.g. AgentFailed(coder)",
)


def _empty_list() -> list[Any]:
    """The default of a list field: a new empty list, as `list()` makes. pydantic reads the
    signature of every default factory when it builds a model, and reading `list`'s, a
    built-in's, costs 0.2-0.3 ms (its text signature is parsed): 6-8 ms of every axoc check."""
    return []


def _schema(**extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", **extra})


# Checked by pydantic-core's own regex engine, not a Python call per id (a 10,000-agent config
# holds 40,000 ids); a mismatch is explained by `explain_id` (`axoc.validate`).
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN), _schema(pattern=ID_PATTERN)]
TOOL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
_check_tool_name = _matching(
    re.compile(TOOL_NAME_PATTERN),
    "axoc_id",
    "invalid tool name '{value}': letters, digits, '_', '.' and '-', starting with a letter or "
    "digit",
)
# A tool an agent may call: a tools[] id, a built-in, or an MCP server's tool (mcp__server__tool,
# or a bare name a server provides); MCP names are longer and freer than ids.
ToolName = Annotated[str, AfterValidator(_check_tool_name), _schema(pattern=TOOL_NAME_PATTERN)]
Interval = Annotated[
    str, AfterValidator(_check_interval), _schema(pattern=INTERVAL_PATTERN, examples=["30s", "5m"])
]
EventName = Annotated[str, AfterValidator(_check_event), _schema(pattern=EVENT_PATTERN)]
EventRef = Annotated[str, AfterValidator(_check_event_ref), _schema(pattern=EVENT_REF_PATTERN)]
PositiveInt = Annotated[int, Field(gt=0)]


def _url_problem(value: str, *, prefix: bool) -> str | None:
    """Why `value` is not an http(s) URL with a host (for a prefix: nor without user info, a
    query or a fragment), or None. The reason does not quote `value`: it may hold a secret."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if prefix and (parts.username is not None or "@" in parts.netloc):
        return "must not hold user info (user@host)"
    if prefix and (parts.query or parts.fragment or "?" in value or "#" in value):
        return "must not hold a query or a fragment"
    return None


def _check_url(value: str) -> str:
    problem = _url_problem(value, prefix=False)
    if problem:
        raise PydanticCustomError("axoc_url", problem)
    return value


def _check_prefix(value: str) -> str:
    problem = _url_problem(value, prefix=True)
    if problem:
        raise PydanticCustomError("axoc_url", problem)
    return value


HttpUrl = Annotated[str, AfterValidator(_check_url), _schema(pattern=r"^https?://[^/]")]
HttpPrefix = Annotated[str, AfterValidator(_check_prefix), _schema(pattern=r"^https?://[^/@?#]+")]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# --- agents -----------------------------------------------------------------------------------


class TokenBudget(Model):
    """Token limits checked before every LLM call."""

    per_call: PositiveInt = Field(
        8192,
        description="Most tokens one LLM call may use: estimated input plus max_tokens.",
        examples=[1000],
    )
    per_execution: PositiveInt | None = Field(
        None,
        description="Most tokens one activation of the agent may use across all its calls.",
        examples=[2000],
    )
    overflow_policy: Literal["abort", "warn", "summarize"] = Field(
        "abort",
        description=(
            "What happens when a call would exceed a budget: abort refuses the call (nothing is "
            "sent) and fails the activation; warn logs and sends. summarize is a deprecated "
            "alias of warn."
        ),
    )


class RecallSettings(Model):
    """Passive recall of semantic memory into each turn's prompt."""

    passive_inject: bool = Field(True, description="Inject the top hits into every turn.")
    top_k: PositiveInt = Field(5, description="How many memories to recall per turn.")
    min_score: float = Field(
        0.15, ge=0, le=1, description="Smallest cosine similarity a recalled memory must reach."
    )


class CoreBlock(Model):
    """One core-memory block the agent edits with the core_memory_* tools."""

    label: Id = Field(description="Block name, e.g. persona, human, project.", examples=["persona"])
    value: str = Field("", description="Initial text of the block.")
    limit: int = Field(2000, ge=0, description="Character limit of the block; 0 means unlimited.")
    shared: bool = Field(False, description="Shared by every agent that declares this label.")
    description: str = Field("", description="What the block is for, shown to the agent.")
    read_only: bool = Field(
        False, description="Shown to the agent, but the core_memory_* tools may not change it."
    )


class CoreMemory(Model):
    """Core (MemGPT-style) memory blocks rendered into the system prompt."""

    # A tuple, so the default AgentMemory is hashable and pydantic shares it instead of deep-
    # copying it for every agent; a YAML list is accepted (strict=False on this field only).
    blocks: tuple[CoreBlock, ...] = Field(
        (),
        strict=False,
        description="Blocks of this agent; none means persona 2000, human 2000, project 3000.",
    )


class AgentMemory(Model):
    """Per-agent memory settings."""

    max_session_messages: Annotated[int, Field(ge=0)] | None = Field(
        None,
        description=(
            "Axocoatl's cap on a session's messages; no effect in axoc, where each activation "
            "starts a fresh session."
        ),
    )
    recall: RecallSettings = Field(
        default=RecallSettings(), description="Semantic recall settings."
    )
    core: CoreMemory = Field(default=CoreMemory(), description="Core memory blocks.")


class Sampling(Model):
    """Sampling parameters sent with every request of the agent."""

    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling probability mass.")
    max_tokens: PositiveInt | None = Field(
        None, description="Most output tokens per call; sent with the request and budgeted."
    )
    response_format: Literal["text", "json"] | None = Field(
        None, description="Ask the provider for plain text or a JSON object."
    )


class Supervision(Model):
    """Restart intensity for unexpected failures (Erlang/OTP style)."""

    max_restarts: int = Field(3, ge=0, description="Restarts allowed within the window.")
    within: Seconds = Field(60.0, description="Window in seconds for counting restarts.")
    backoff: Seconds = Field(1.0, description="First retry delay in seconds; doubles each retry.")


class Agent(Model):
    """One agent: a model, a prompt, and how it is activated."""

    id: Id = Field(description="Unique agent id; also used in file names.", examples=["researcher"])
    name: str | None = Field(None, description="Human-readable name.", examples=["Researcher"])
    provider: str = Field(
        "ollama",
        description="Provider name: a built-in one or a named server under providers.",
        examples=["ollama", "openai", "echo"],
    )
    model: str | None = Field(
        None, description="Model name; defaults to the provider's model.", examples=["llama3.2"]
    )
    system_prompt: str = Field("", description="System prompt of every activation.")
    depends_on: list[Id] = Field(
        default_factory=_empty_list,
        description="Agents whose completion activates this one (all of them, unless activation).",
        examples=[["researcher"]],
    )
    activation: str | None = Field(
        None,
        description="Activation expression replacing all(depends_on), e.g. '2 of (a, b, c)'.",
        examples=["all(researcher, critic)", "any(a, b)", "AgentFailed(coder)"],
    )
    tools: list[ToolName] = Field(
        default_factory=_empty_list,
        description=(
            "Allow-list of tools this agent may call: tools[] ids, built-ins (emit, "
            "core_memory_*, recall_*, Axocoatl's read_file, grep, ...) and MCP tools "
            "(mcp__server__tool)."
        ),
        examples=[["emit", "read_file", "mcp__filesystem__read_file"]],
    )
    emits: list[EventName] = Field(
        default_factory=_empty_list,
        description=(
            "Custom events this agent may publish with the emit tool (besides the emits of "
            "skills it holds); the emit tool refuses any other."
        ),
        examples=[["DraftReady"]],
    )
    max_tool_rounds: int = Field(
        10,
        ge=1,
        le=100,
        description=(
            "Most model turns that call tools in one activation; the turn after the last one "
            "may call none and must answer."
        ),
    )
    token_budget: TokenBudget = Field(
        default=TokenBudget(), description="Token limits checked before every call."
    )
    memory: AgentMemory = Field(default=AgentMemory(), description="Memory settings.")
    role: Literal["autonomous", "coordinator", "worker"] = Field(
        "autonomous", description="coordinator leads a workflow; workers take assigned tasks."
    )
    activation_threshold: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Overrides the threshold θ of the agent."
    )
    activation_decay: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Overrides the decay λ (per second)."
    )
    sampling: Sampling = Field(default=Sampling(), description="Sampling parameters.")
    supervision: Supervision = Field(
        default=Supervision(), description="Restart intensity after unexpected failures."
    )
    timeout: Seconds | None = Field(
        None,
        description="Seconds one activation may take, retries and their waits included.",
        examples=[120],
    )


# --- workflows, skills, schedules, proactive --------------------------------------------------


class Workflow(Model):
    """A set of agents run together from one input."""

    id: Id = Field(description="Unique workflow id.", examples=["hello-world"])
    name: str | None = Field(None, description="Human-readable name.")
    description: str | None = Field(None, description="What the workflow does.")
    agents: list[Id] = Field(description="Agents taking part.", examples=[["researcher"]])
    entry_point: Id | None = Field(
        None,
        description=(
            "Agent receiving the input; default: agents without depends_on. A coordinator "
            "may lead a workflow without being listed in agents."
        ),
    )
    htn_methods_file: str | None = Field(
        None, description="Axocoatl's HTN methods for the coordinator; not supported yet."
    )
    max_activations: PositiveInt | None = Field(
        None, description="Cycle guard: most activations per run (default 3 × agents)."
    )
    timeout: Seconds | None = Field(None, description="Seconds a whole run may take.")
    token_budget: PositiveInt | None = Field(None, description="Tokens a whole run may use.")


class Skill(Model):
    """A reusable capability: a trigger, holders that run its prompt, events on completion."""

    id: Id = Field(description="Unique skill id.", examples=["review"])
    name: str | None = Field(None, description="Human-readable name.")
    description: str | None = Field(None, description="What the skill does.")
    emits: list[EventName] = Field(
        default_factory=_empty_list,
        description="Events published when a holder completes the skill.",
    )
    reacts_to: list[EventRef] = Field(
        default_factory=_empty_list,
        description="Event patterns that trigger the skill: Name or Name(source).",
        examples=[["CodeReady", "AgentFailed(coder)"]],
    )
    agents: list[Id] = Field(
        default_factory=_empty_list, description="Agents holding the skill (its holders)."
    )
    prompt: str = Field("", description="Prompt a holder runs when the skill triggers.")
    threshold: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Threshold θ of each holder (default 0.5)."
    )
    decay: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Decay λ per second (default 0.01)."
    )


class Schedule(Model):
    """Runs a workflow every interval."""

    id: Id = Field(description="Unique schedule id.")
    name: str | None = Field(None, description="Human-readable name.")
    workflow: Id = Field(description="Workflow to run.")
    every: Interval = Field(description="Interval: <int>s, m, h or d.")
    input: str = Field("", description="Input given to the workflow.")
    enabled: bool = Field(True, description="Whether the schedule is active.")
    catch_up: bool = Field(
        False,
        description="axoc serve: after downtime that missed fires, run once at start "
        "(default: skip them).",
    )


class ScheduleTrigger(Model):
    """Fire every interval."""

    type: Literal["schedule"] = Field(description="Trigger kind.")
    every: Interval = Field(description="Interval: <int>s, m, h or d.")
    catch_up: bool = Field(
        False,
        description="axoc serve: after downtime that missed fires, run once at start "
        "(default: skip them).",
    )


class EventTrigger(Model):
    """Fire on each matching event (30 s cooldown)."""

    type: Literal["on_event"] = Field(description="Trigger kind.")
    event: EventRef = Field(description="Event pattern: Name or Name(source).")


class Proactive(Model):
    """An agent that acts without a user: on a schedule or on events."""

    id: Id = Field(description="Unique proactive trigger id.")
    name: str | None = Field(None, description="Human-readable name.")
    agent: Id = Field(description="Agent to activate.")
    trigger: Annotated[ScheduleTrigger | EventTrigger, Field(discriminator="type")] = Field(
        description="When to activate the agent."
    )
    input: str = Field("", description="Input given to the agent.")
    enabled: bool = Field(True, description="Whether the trigger is active.")


# --- providers, tools, memory, lattice ---------------------------------------------------------


class ProviderSection(Model):
    """Provider settings; other keys name OpenAI-compatible servers."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, CompatibleProvider] = Field(init=False)


def _providers_model() -> type[ProviderSection]:
    """The `providers:` section: one optional field per kind with a section of its own, in the
    registry's order (`axoc.providers.registry`); other keys are named servers."""
    fields: dict[str, Any] = {}
    for kind in registry.sections():
        fields[kind.name] = (kind.settings_model() | None, Field(None, description=kind.summary))
    made: type[ProviderSection] = create_model(
        "Providers", __base__=ProviderSection, __doc__=ProviderSection.__doc__, **fields
    )
    return made


# Assembled from the registry; to type checkers, the section it extends (its fields are read
# through `axoc.providers.registry.entries` and `entry`, never as attributes).
if TYPE_CHECKING:
    Providers = ProviderSection
else:
    Providers = _providers_model()


class ToolLimits(Model):
    """Sandbox limits of one WASM tool call."""

    fuel: PositiveInt = Field(100_000_000, description="Instructions budget (wasmtime fuel).")
    memory_mb: PositiveInt = Field(64, description="Linear memory limit in MiB.")
    timeout_ms: PositiveInt = Field(5000, description="Wall-clock limit in milliseconds.")


class Tool(Model):
    """A sandboxed WASM tool: JSON arguments on stdin, a JSON result on stdout."""

    id: Id = Field(description="Unique tool id.", examples=["word_count"])
    kind: Literal["wasm"] = Field("wasm", description="Tool kind.")
    module: str = Field(description="Path of the .wasm module.", examples=["tools/wc.wasm"])
    description: str = Field("", description="What the tool does, shown to the model.")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON schema of the arguments.",
    )
    limits: ToolLimits = Field(default=ToolLimits(), description="Sandbox limits.")


class McpServer(Model):
    """An MCP server (Axocoatl's shape): a local process over stdio, or a streamable-HTTP URL."""

    name: str = Field(description="Server name; its tools are mcp__<name>__<tool>.")
    transport: str = Field(
        description="stdio, streamable_http (or http, its alias).", examples=["stdio"]
    )
    command: str | None = Field(None, description="stdio: the program to start.", examples=["npx"])
    args: list[str] = Field(default_factory=_empty_list, description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default_factory=dict, description="stdio: its environment; write secrets as ${VAR}."
    )
    url: str | None = Field(None, description="HTTP: the server's http(s) URL.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP: request headers; write secrets as ${VAR}."
    )
    timeout_s: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] | None = Field(
        None, description="Seconds one tool call may take; default 60."
    )
    start_timeout_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] | None = Field(
        None, description="Seconds to start the server and list its tools; default 30."
    )


# --- Axocoatl sections axoc accepts and ignores (AX205), typed so their mistakes are found -----


class Webhook(Model):
    """Axocoatl's outbound webhook: a signed POST per matching lattice event."""

    name: str = Field(description="Webhook name.")
    url: str = Field(description="http(s) URL to POST to.")
    events: list[str] = Field(default_factory=_empty_list, description="Event names; empty: all.")
    secret: str | None = Field(None, description="HMAC-SHA256 signing secret; use ${VAR}.")
    headers: dict[str, str] = Field(default_factory=dict, description="Static headers.")
    enabled: bool = Field(True, description="Whether the webhook is active.")


class Hook(Model):
    """Axocoatl's tool hook (experimental there too: parsed, not run)."""

    name: str = Field(description="Hook name.")
    type: str = Field(description="Hook kind.")
    phase: list[str] = Field(default_factory=_empty_list, description="Phases it runs in.")
    tools: list[str] = Field(default_factory=_empty_list, description="Tools it applies to.")
    timeout_secs: Annotated[int, Field(ge=0)] = Field(30, description="Timeout in seconds.")
    url: str | None = Field(None, description="HTTP hooks: the URL.")
    agent_id: str | None = Field(None, description="Agent hooks: the agent.")


class ServerAuth(Model):
    """Axocoatl's API authentication."""

    api_keys: list[str] = Field(
        default_factory=_empty_list, description="Accepted x-api-key values."
    )
    bearer_tokens: list[str] = Field(
        default_factory=_empty_list, description="Accepted bearer tokens."
    )
    allow_unauthenticated: bool = Field(False, description="Bind publicly without auth.")


class RateLimit(Model):
    """Axocoatl's per-IP rate limit."""

    enabled: bool = Field(False, description="Whether requests are limited.")
    max_requests: Annotated[int, Field(ge=0)] = Field(100, description="Requests per window.")
    window_secs: Annotated[int, Field(ge=0)] = Field(60, description="Window in seconds.")


class Server(Model):
    """Axocoatl's HTTP server settings."""

    port: Annotated[int, Field(ge=0, le=65535)] = Field(8080, description="Port.")
    host: str = Field("127.0.0.1", description="Bind address.")
    auth: ServerAuth = Field(default=ServerAuth(), description="API authentication.")
    cors_origins: list[str] = Field(default_factory=_empty_list, description="Allowed origins.")
    rate_limit: RateLimit = Field(default=RateLimit(), description="Per-IP rate limit.")


class Sandbox(Model):
    """Axocoatl's session container policy."""

    allow_post_create_command: bool = Field(False, description="Run postCreateCommand.")
    allow_untrusted_images: bool = Field(False, description="Honour other base images.")
    network: str = Field("bridge", description="Container network: bridge or none.")
    require_resource_limits: bool = Field(False, description="Refuse uncapped sessions.")


class WebSearch(Model):
    """The web_search tool's provider (Axocoatl's block, plus `url`)."""

    provider: str = Field(
        "", description="Search provider: tavily or searxng.", examples=["tavily"]
    )
    api_key: str = Field("", description="Its API key (tavily); write ${VAR}.")
    url: HttpUrl | None = Field(
        None,
        description="The provider's base URL; default https://api.tavily.com for tavily.",
        examples=["http://127.0.0.1:8888"],
    )

    def runs(self) -> bool:
        """Whether the block can run: a provider axoc has, with what it needs (tavily: an API
        key; searxng: a URL)."""
        if self.provider == "tavily":
            return bool(self.api_key)
        return self.provider == "searxng" and self.url is not None


class FetchUrl(Model):
    """The fetch_url tool: GET pages under the allowed URL prefixes, as text."""

    allow: list[HttpPrefix] = Field(
        min_length=1,
        description="URL prefixes that may be fetched: scheme, host, port and path prefix.",
        examples=[["https://docs.example.com/guide/"]],
    )
    max_bytes: Annotated[int, Field(gt=0, le=8 * 1024 * 1024)] = Field(
        256 * 1024, description="Bytes of a page read; the rest is cut, with a note."
    )
    timeout_s: Annotated[float, Field(gt=0, le=300, allow_inf_nan=False)] = Field(
        20, description="Seconds one fetch may take, redirects included."
    )


class SemanticMemory(Model):
    """Global semantic-memory settings."""

    enabled: bool = Field(True, description="Store and recall semantic memories.")
    embed_model: str | None = Field(None, description="Path of an all-MiniLM-L6-v2 ONNX model.")
    tokenizer: str | None = Field(None, description="Path of the matching tokenizer.json.")


class Consolidation(Model):
    """Sleep-time memory consolidation (Axocoatl's block, plus `recent`): an agent with core
    memory and semantic memory, idle for `idle_threshold_secs`, gets one budgeted model call
    that proposes core-memory edits from its recent memories. Runs under `axoc serve` and
    `axoc memory consolidate`."""

    enabled: bool = Field(True, description="Whether idle agents consolidate.")
    idle_threshold_secs: Annotated[int, Field(ge=0)] = Field(
        120, description="Seconds since the agent's last memory before it is idle."
    )
    interval_secs: Annotated[int, Field(ge=0)] = Field(
        1800, description="Least seconds between two consolidations of one agent."
    )
    recent: Annotated[int, Field(ge=1, le=100)] = Field(
        20, description="Newest memories (not consolidated yet) one consolidation reads."
    )


class Lattice(Model):
    """Global signal constants."""

    weights: dict[EventName, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Event strengths overriding the defaults, e.g. {AgentFailed: 1.0}.",
        examples=[{"AgentFailed": 1.0}],
    )


class Config(Model):
    """An axoc config: agents, how they are activated, and what they may use."""

    schema_: str | None = Field(None, alias="$schema", description="JSON schema URL (ignored).")
    agents: list[Agent] = Field(default_factory=_empty_list, description="The agents.")
    workflows: list[Workflow] = Field(default_factory=_empty_list, description="The workflows.")
    skills: list[Skill] = Field(
        default_factory=_empty_list, description="Skills (emits / reacts_to)."
    )
    schedules: list[Schedule] = Field(
        default_factory=_empty_list, description="Scheduled workflows."
    )
    proactive: list[Proactive] = Field(
        default_factory=_empty_list, description="Agents triggered by schedules or events."
    )
    providers: Providers = Field(default=Providers(), description="Provider settings.")
    tools: list[Tool] = Field(default_factory=_empty_list, description="WASM tools.")
    memory: SemanticMemory = Field(
        default=SemanticMemory(), description="Semantic memory settings."
    )
    lattice: Lattice = Field(default=Lattice(), description="Signal constants, e.g. event weights.")
    mcp_servers: list[McpServer] = Field(
        default_factory=_empty_list, description="MCP servers whose tools agents may call."
    )
    workspace: str | None = Field(
        None, description="Directory file tools are confined to; default the config's directory."
    )
    webhooks: list[Webhook] | None = Field(
        None, description="Axocoatl key; not supported yet, ignored."
    )
    server: Server | None = Field(None, description="Axocoatl key; not supported yet, ignored.")
    sandbox: Sandbox | None = Field(None, description="Axocoatl key; not supported yet, ignored.")
    consolidation: Consolidation | None = Field(
        None, description="Sleep-time memory consolidation; absent: off."
    )
    web_search: WebSearch | None = Field(
        None, description="The web_search tool's provider: {provider, api_key, url}."
    )
    fetch_url: FetchUrl | None = Field(
        None, description="The fetch_url tool: {allow: [URL prefixes], max_bytes, timeout_s}."
    )
    hooks: list[Hook] | None = Field(None, description="Axocoatl key; not supported yet, ignored.")
