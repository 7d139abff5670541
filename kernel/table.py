"""The signal table: the one artifact the kernel executes, and the only contract with the compiler.

A table holds *units* (one activation path of one agent: an accumulator with threshold θ and
decay λ per second) and *routes* (an event of type E from source S, or any source, adds weight w
to a unit), plus everything a run needs about agents, workflows, skills, providers and tools.
Secrets are never part of a table: a provider names the environment variable holding its key.

Guarantees: every type is a frozen dataclass (the three hot records, `record`s, frozen for
the type checker); `SignalTable.from_json(t.to_json()) == t`;
`to_json` is canonical (same table, same bytes), one record per line so plans diff well in review;
`digest` is the SHA-256 of that canonical form without the digest itself. A table read by
`from_json` / `from_dict` holds together (`axoc.kernel.consistency`): every id it names exists,
every number is in range, whether or not it carries a digest. Reading checks each value against
its field's type hint, with loaders composed once per type (`axoc.kernel.typed`), so loading a
large plan costs little beside compiling it; a mistyped value is refused at its location
(`table.units[0].threshold: expected float, got str`). Standard library only.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, dataclass_transform

from axoc.kernel.canonical import Writer, added, added_fields, public_fields
from axoc.kernel.consistency import problems
from axoc.kernel.typed import Mistyped, loader, recorded_part, shareable

FORMAT = "axoc.signal-table/1"

#: Default event strengths (Axocoatl's); `lattice.weights` overrides them per table.
DEFAULT_EVENT_WEIGHTS: Mapping[str, float] = {
    "TaskAvailable": 1.0,
    "UserInput": 1.0,
    "AgentFailed": 0.8,
    "TaskCompleted": 0.5,
    "ToolResult": 0.3,
    "WorkflowCompleted": 0.1,
    "AgentActivated": 0.1,
}
CUSTOM_EVENT_WEIGHT = 0.5
#: Events the kernel publishes itself: any agent can be their source.
RUNTIME_EVENTS = frozenset({*DEFAULT_EVENT_WEIGHTS, "SkillFired", "ScheduleTick"})


_Record = TypeVar("_Record")


@dataclass_transform(frozen_default=True, field_specifiers=(field, added))
def record(kind: type[_Record]) -> type[_Record]:
    """The records a large table holds by the ten thousand (agents, units, routes): immutable
    by contract like every type here, but enforced by the type checker (mypy reads them as
    frozen dataclasses: assigning a field is an error, `tests/kernel/test_records.py`), not at run
    time. A frozen dataclass sets each field through `object.__setattr__`, which makes building
    one 2-3 times slower: a third of lowering a 10,000-agent config. Equal records hash equal,
    as frozen ones do."""
    return dataclass(slots=True, unsafe_hash=True)(kind)


class TableError(ValueError):
    """A table that cannot be read: wrong format version, missing or mistyped fields, a digest
    that does not match, or content that does not hold together (`axoc.kernel.consistency`)."""


@shareable
@dataclass(frozen=True, slots=True)
class Budget:
    per_call: int
    per_execution: int | None
    overflow_policy: str  # "abort" | "warn"


@shareable
@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    response_format: str | None = None


@shareable
@dataclass(frozen=True, slots=True)
class Supervision:
    max_restarts: int = 3
    within: float = 60.0
    backoff: float = 1.0


@shareable
@dataclass(frozen=True, slots=True)
class CoreBlock:
    label: str
    value: str
    limit: int
    shared: bool
    description: str
    read_only: bool = added(False)  # the core_memory_* tools refuse to change it


@shareable
@dataclass(frozen=True, slots=True)
class Memory:
    passive_inject: bool
    top_k: int
    min_score: float
    blocks: tuple[CoreBlock, ...]


@record
class AgentSpec:
    id: str
    name: str
    provider: str
    model: str
    system_prompt: str
    depends_on: tuple[str, ...]  # in the config's order: the order of hand-off lines
    tools: tuple[str, ...]
    role: str
    budget: Budget
    sampling: Sampling
    supervision: Supervision
    memory: Memory
    timeout: float | None
    # Custom events this agent may publish with the `emit` tool: its own `emits` and those of
    # the skills it holds (empty when it may publish none).
    emits: tuple[str, ...] = added(())
    max_tool_rounds: int = added(10)  # model turns that may call tools, per activation


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    kind: str  # echo, ollama, openai, anthropic, gemini, mistral, openrouter, openai_compatible
    base_url: str | None
    model: str | None
    api_key_env: str | None  # the variable holding the key; never the key
    max_concurrency: int | None = added(None)  # requests in flight at once, across the run's agents
    requests_per_minute: float | None = added(None)  # requests started per minute, evenly spaced


@shareable
@dataclass(frozen=True, slots=True)
class ToolLimits:
    fuel: int
    memory_mb: int
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class ToolSpec:
    id: str
    kind: str
    module: str
    description: str
    parameters: Mapping[str, Any]
    limits: ToolLimits


@dataclass(frozen=True, slots=True)
class McpServerSpec:
    """An MCP server the run starts when an agent lists one of its tools. `env` and `headers`
    hold each value as the config wrote it when it names variables (`${TOKEN}`, resolved only
    when the server starts), else `(redacted)`: a plan never holds a secret's value. `url` keeps
    its credentials and query values as their `${VAR}` (`axoc.providers.urls.for_plan`)."""

    name: str
    transport: str  # "stdio" | "streamable_http" (its alias "http" is lowered to it)
    command: str | None
    args: tuple[str, ...]
    env: Mapping[str, str]
    url: str | None
    headers: Mapping[str, str]
    call_timeout: float | None = added(None)  # seconds a tool call may take (None: 60)
    start_timeout: float | None = added(None)  # seconds to start and list tools (None: 30)


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    id: str
    name: str
    description: str
    agents: tuple[str, ...]  # topological order, ties by id
    entry: tuple[str, ...]
    sinks: tuple[str, ...]  # members no other member waits for, in topological order
    max_activations: int
    timeout: float | None
    token_budget: int | None


@dataclass(frozen=True, slots=True)
class SkillSpec:
    id: str
    name: str
    description: str
    holders: tuple[str, ...]
    emits: tuple[str, ...]
    reacts_to: tuple[str, ...]
    prompt: str


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    id: str
    workflow: str
    every: float  # seconds
    input: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ProactiveSpec:
    id: str
    agent: str
    trigger: str  # "schedule" | "on_event"
    every: float | None  # seconds, for schedule triggers
    event: str | None  # pattern, for on_event triggers
    input: str
    enabled: bool


@record
class Unit:
    """One activation path of one agent.

    `workflow` is None for reactive units (skills, proactive), which are live in every run.
    `once`: fires at most once per run, and when one of an agent's once-units fires in a run the
    agent's other once-units in that run are spent too (the first alternative to fire wins).
    `latch`: each route adds its weight at most once per run (completion is a fact, not a
    pheromone); without it, repeated events accumulate.
    """

    id: str
    agent: str
    kind: str  # entry | deps | act | skill | proactive
    threshold: float
    decay: float
    workflow: str | None = None
    once: bool = False
    latch: bool = False
    cooldown: float = 0.0
    skill: str | None = None
    proactive: str | None = None


@record
class Route:
    event: str
    source: str | None  # None: any source
    unit: str
    weight: float


@dataclass(frozen=True, slots=True)
class SignalTable:
    event_weights: Mapping[str, float]
    providers: tuple[ProviderSpec, ...]
    agents: tuple[AgentSpec, ...]
    workflows: tuple[WorkflowSpec, ...]
    skills: tuple[SkillSpec, ...]
    schedules: tuple[ScheduleSpec, ...]
    proactive: tuple[ProactiveSpec, ...]
    tools: tuple[ToolSpec, ...]
    units: tuple[Unit, ...]
    routes: tuple[Route, ...]
    mcp_servers: tuple[McpServerSpec, ...] = added(())
    format: str = FORMAT
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # --- lookups ---------------------------------------------------------------------------

    def workflow(self, workflow_id: str) -> WorkflowSpec:
        return self._lookup("workflows", workflow_id)  # type: ignore[no-any-return]

    def by_id(self, section: str) -> Mapping[str, Any]:
        """id → item of a section ("agents", "skills", "proactive", ...), built once: the table is
        immutable, so runs share it. Read-only."""
        by_id: dict[str, Any] | None = self._index.get(section)
        if by_id is None:
            by_id = self._index[section] = {item.id: item for item in getattr(self, section)}
        return by_id

    def derived(self, **changes: Any) -> SignalTable:
        """A table with some sections replaced (their lookups rebuilt, not shared)."""
        return dataclasses.replace(self, _index={}, **changes)

    def _lookup(self, section: str, key: str) -> Any:
        try:
            return self.by_id(section)[key]
        except KeyError:
            raise KeyError(f"no {section[:-1]} '{key}' in the signal table") from None

    # --- serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """Canonical JSON: fixed key order, one list element per line, the digest second."""
        return _head(self.format, self.digest) + self._body()

    @property
    def digest(self) -> str:
        digest: str | None = self._index.get("_digest")
        if digest is None:
            digest = self._index["_digest"] = _digest(self._body())
        return digest

    def _body(self) -> str:
        """The canonical text after the digest line, written once: the table is immutable."""
        body: str | None = self._index.get("_body")
        if body is None:
            body = self._index["_body"] = "\n".join(_body_lines(self))
        return body

    @classmethod
    def from_json(cls, text: str) -> SignalTable:
        with _collector_paused():
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TableError(
                    f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                ) from exc
            return cls.from_dict(document)

    @classmethod
    def from_dict(cls, document: Any) -> SignalTable:
        """Read a table, or raise `TableError` with the first problem, located: a wrong format,
        a mistyped field, an inconsistency, a digest (when there is one) that does not match."""
        if not isinstance(document, dict):
            raise TableError("a signal table is a JSON object")
        version = document.get("format")
        if version != FORMAT:
            raise TableError(f"unsupported format {version!r}; this kernel reads {FORMAT!r}")
        with _collector_paused():
            table = cls._typed(document)
            # A plan edited by hand may have no digest: it must hold together all the same.
            problem = next(problems(table), None)
            if problem is not None:
                raise TableError(problem)
            claimed = document.get("digest")
            if claimed is not None and claimed != table.digest:
                raise TableError(
                    f"digest mismatch: the file says {claimed}, its content is {table.digest}"
                )
        return table

    @classmethod
    def from_recorded(cls, text: str, digest: str) -> SignalTable:
        """Read a plan axoc compiled and wrote, whose digest was recorded elsewhere (a run's
        journal header): `text` must be exactly that plan, its body hashing to `digest`, else
        `TableError`. It is then the canonical form of the table that was compiled, so that
        table is rebuilt as it was, without checking its values' types or its consistency
        again, nor writing it again to check the digest (`axoc.kernel.typed.recorded`): the
        text is kept as its canonical form. Reading 10,000 agents costs parsing and building
        the dataclasses only."""
        head = _head(FORMAT, digest)
        body = text[len(head) :]
        if not text.startswith(head) or _digest(body) != digest:
            raise TableError(f"not the plan {digest}: its content differs")
        with _collector_paused():
            rest, lines = _agent_lines(text)
            document = json.loads(rest)  # JSON, with these three keys: axoc wrote it
            del document["format"], document["digest"], document["agents"]
            table = cls(**recorded_part(cls)(document), agents=_recorded_agents(lines))
        table._index.update(_body=body, _digest=digest)
        return table

    @classmethod
    def _typed(cls, document: dict[str, Any]) -> SignalTable:
        """The table a document holds, each value checked against its field's type."""
        body = {k: v for k, v in document.items() if k not in ("format", "digest")}
        try:
            table: SignalTable = loader(cls)(body)
        except Mistyped as bad:
            raise TableError(bad.located("table")) from None
        return table


# An agent's line in a plan holds its own fields (id, name, provider, model, prompt, the lists of
# its dependencies and tools, role), then from its budget on its settings, which agents share
# when the config does — most agents of a large config. Reading a recorded plan, the text of
# each distinct settings part is parsed and read once: for 10,000 agents with the same
# settings, 5.4 of the plan's 11 MB. No field before the budget holds an object, and a JSON
# string never holds an unescaped quote, so an agent's settings start at the first
# `,"budget":` of its line (tests/kernel/test_table_load.py checks the field order).
_SETTINGS = ',"budget":'
_AGENTS = '\n"agents": [\n'


def _agent_lines(text: str) -> tuple[str, list[str]]:
    """A canonical plan without its agents' lines (its `agents` an empty list), and those
    lines. A plan with no agents has no such lines: it is returned as it is."""
    start = text.find(_AGENTS)
    if start < 0:
        return text, []
    first = start + len(_AGENTS)
    end = text.index("\n]", first)  # a line of the list starts with `{`
    return text[:first] + text[end + 1 :], text[first:end].split("\n")


def _recorded_agents(lines: list[str]) -> tuple[AgentSpec, ...]:
    """The agents of a recorded plan's lines (each one agent's JSON and a comma but the last),
    each distinct settings text parsed and read once."""
    read = recorded_part(AgentSpec)
    settings: dict[str, dict[str, Any]] = {}  # the text from `,"budget":` on → its fields
    agents = []
    for line in lines:
        line = line.removesuffix(",")
        cut = line.index(_SETTINGS)
        shared = settings.get(tail := line[cut:])
        if shared is None:
            shared = settings[tail] = read(json.loads("{" + tail[1:]))
        agents.append(AgentSpec(**read(json.loads(line[:cut] + "}")), **shared))
    return tuple(agents)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of reading a plan: the parsed JSON and the frozen
    dataclasses built from it are trees, with no cycle to collect, and the collector's passes
    over them as they grow cost 0.1 s of loading 10,000 agents, 0.5 s of 30,000. What is alive
    at the end is left to the collector's next pass (one pass: 0.03 s for 30,000 agents), as in
    `axoc.kernel.index`. The caller's setting is restored, so nested reads are fine."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _body_lines(table: SignalTable) -> list[str]:
    """Every field but `format` and `digest`, a list element per line, closing the object (the
    elements of a list are one item, their lines joined)."""
    optional = dict(added_fields(SignalTable))
    names = [
        name
        for name in public_fields(SignalTable)
        if name not in optional or getattr(table, name) != optional[name]
    ]
    writer = Writer()
    lines = []
    for n, name in enumerate(names):
        value = getattr(table, name)
        comma = "," if n < len(names) - 1 else ""
        if (type(value) is tuple or type(value) is list) and value:
            lines.append(f'"{name}": [')
            lines.append(",\n".join([writer.write(element) for element in value]))  # its lines
            lines.append("]" + comma)
        else:
            lines.append(f'"{name}": {writer.write(value)}{comma}')
    lines.append("}\n")
    return lines


def _head(version: str, digest: str) -> str:
    """A plan's first lines: the opening brace, the format and the digest."""
    return f'{{\n"format": {json.dumps(version)},\n"digest": "{digest}",\n'


def _digest(body: str) -> str:
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


# --- reading -------------------------------------------------------------------------------
#
# A plan is read by one loader per type, composed once from the dataclasses' type hints: a
# value costs one call of its field's loader, not a walk through `typing` (10,000 agents:
# 1.2 s to 0.25 s). A loader returns the value as the table holds it, or raises `_Mistyped`
# without a location; the location is added on the way out, so it is spelled out only for the
# one value that is wrong, in the same form and the same order as a field-by-field walk.
