"""Lowering: a valid `Config` → the `SignalTable` the kernel executes (SPEC §4.1–4.2).

In: the `Document` (for positions and the raw text of secrets) and the `Config`. Out: a
`Lowered` — the table plus, for every unit, the config path it came from — and diagnostics for
what cannot be lowered: activation expressions that do not parse (AX501) or lower (AX502),
references inside expressions and event patterns (AX302), dependencies outside a workflow
(AX507, then ignored in that workflow). Output is canonical: agents, workflows, skills, units and
routes are sorted, so the same config gives the same bytes whatever its key or list order.

Rules: an entry agent gets unit `W/a/entry` (θ 1, λ 0) routed from UserInput; an agent with
in-workflow dependencies gets `W/a/deps` (θ = N·w, one TaskCompleted route of w per dependency,
λ 0) unless it has an `activation:` expression, which becomes `W/a/act` or `W/a/act.1…`; a skill
holder gets `a/skill:S` routed from each `reacts_to` pattern and from its manual fire; a
proactive agent gets `a/proactive:P` (on_event: θ = the event's strength, 30 s cooldown).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from typing import Any, TypeVar

from axoc.config import (
    EVENT_PATTERN,
    Agent,
    AgentMemory,
    Config,
    Proactive,
    TokenBudget,
    Tool,
    Workflow,
)
from axoc.config import Sampling as SamplingSettings
from axoc.config import Supervision as SupervisionSettings
from axoc.cycles import cycles, topological_order
from axoc.diagnostics import Diagnostic, Path, error, warning
from axoc.kernel.table import (
    CUSTOM_EVENT_WEIGHT,
    DEFAULT_EVENT_WEIGHTS,
    RUNTIME_EVENTS,
    AgentSpec,
    Budget,
    CoreBlock,
    McpServerSpec,
    Memory,
    ProactiveSpec,
    ProviderSpec,
    Route,
    Sampling,
    ScheduleSpec,
    SignalTable,
    SkillSpec,
    Supervision,
    ToolLimits,
    ToolSpec,
    Unit,
    WorkflowSpec,
)
from axoc.providers import registry
from axoc.providers.urls import HIDDEN as REDACTED
from axoc.providers.urls import for_plan
from axoc.wording import Names
from axoc.yamlload import Document

DEFAULT_SKILL_THRESHOLD = 0.5
DEFAULT_SKILL_DECAY = 0.01
PROACTIVE_COOLDOWN = 30.0
DEFAULT_BLOCKS = (("persona", 2000), ("human", 2000), ("project", 3000))
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EXPR_CODES = {"syntax": "AX501", "lowering": "AX502", "reference": "AX302", "name": "AX510"}
EVENT_NAME = re.compile(EVENT_PATTERN)
_Spec = TypeVar("_Spec")
_Settings = TypeVar("_Settings")


@dataclass
class Lowered:
    table: SignalTable
    origins: dict[str, Path] = field(default_factory=dict)  # unit id → where the config made it


def seconds(interval: str) -> float:
    return float(int(interval[:-1]) * _SECONDS[interval[-1]])


def parse_pattern(pattern: str) -> tuple[str, str | None]:
    """`Name` → (Name, None); `Name(source)` → (Name, source)."""
    if pattern.endswith(")") and "(" in pattern:
        name, source = pattern[:-1].split("(", 1)
        return name, source
    return pattern, None


def lower(doc: Document, config: Config) -> tuple[Lowered | None, list[Diagnostic]]:
    lowering = _Lowering(doc, config)
    table = lowering.run()
    return Lowered(table, lowering.origins), lowering.diagnostics


class _Lowering:
    def __init__(self, doc: Document, config: Config) -> None:
        self.doc = doc
        self.config = config
        self.weights = {**DEFAULT_EVENT_WEIGHTS, **config.lattice.weights}
        self.agents = {a.id: a for a in reversed(config.agents)}  # first definition wins
        self.index = {a.id: i for i, a in reversed(list(enumerate(config.agents)))}
        self.emitted = {e for s in config.skills for e in s.emits}
        self.emitted.update(e for a in config.agents for e in a.emits)
        self.skill_emits: dict[str, list[str]] = {}  # holder → its skills' emits, in order
        for skill in config.skills:
            for holder in skill.agents:
                self.skill_emits.setdefault(holder, []).extend(skill.emits)
        self.units: list[Unit] = []
        self.routes: list[Route] = []
        self.origins: dict[str, Path] = {}
        self.placed: set[tuple[str, str]] = set()  # (workflow, agent) pairs that got a unit
        self.diagnostics: list[Diagnostic] = []
        # what an expression may name, for did-you-mean (indexed on first use)
        self.agent_names = Names(self.agents)
        self.known_names = Names([*self.agents, *self.emitted, *RUNTIME_EVENTS])
        self.specs: dict[int, Any] = {}  # id of a settings object → its spec (`shared`)
        self.provider_by_name: dict[str, Any] = {}  # `provider_settings`

    def w(self, event: str) -> float:
        return self.weights.get(event, CUSTOM_EVENT_WEIGHT)

    def run(self) -> SignalTable:
        workflows = [self.workflow(i, flow) for i, flow in enumerate(self.config.workflows)]
        for i in range(len(self.config.skills)):
            self.skill_units(i)
        for i, item in enumerate(self.config.proactive):
            if item.enabled:
                self.proactive_unit(i)
        return SignalTable(
            event_weights=dict(sorted(self.weights.items())),
            providers=self.providers(),
            agents=tuple(sorted((self.agent_spec(a) for a in self.agents.values()), key=_id)),
            workflows=tuple(sorted(workflows, key=_id)),
            skills=tuple(
                sorted((self.skill_spec(i) for i in range(len(self.config.skills))), key=_id)
            ),
            schedules=tuple(
                sorted(
                    (
                        ScheduleSpec(s.id, s.workflow, seconds(s.every), s.input, s.enabled)
                        for s in self.config.schedules
                    ),
                    key=_id,
                )
            ),
            proactive=tuple(
                sorted((self.proactive_spec(p) for p in self.config.proactive), key=_id)
            ),
            tools=tuple(sorted((self.tool_spec(t) for t in self.config.tools), key=_id)),
            units=tuple(sorted(self.units, key=_unit_key)),
            routes=tuple(sorted(self.routes, key=_route_key)),
            mcp_servers=self.mcp_servers(),
        )

    def add(self, unit: Unit, routes: list[tuple[str, str | None, float]], origin: Path) -> None:
        if unit.id in self.origins:
            return  # a duplicate id (AX301) or a repeated holder: the first definition counts
        self.units.append(unit)
        self.placed.add((unit.workflow or "", unit.agent))
        self.origins[unit.id] = origin
        self.routes += [Route(event, source, unit.id, weight) for event, source, weight in routes]

    # --- workflows ----------------------------------------------------------------------------

    def workflow(self, i: int, flow: Workflow) -> WorkflowSpec:
        members = [m for m in dict.fromkeys(flow.agents) if m in self.agents]
        lead = flow.entry_point
        if lead in self.agents and lead not in members and self.agents[lead].role == "coordinator":
            members.insert(0, lead)  # Axocoatl's layout: a coordinator leads its listed workers
        inside = set(members)
        if flow.entry_point is not None:
            entry = [flow.entry_point] if flow.entry_point in inside else []
        else:
            entry = [
                m
                for m in members
                if not self.agents[m].depends_on and self.agents[m].activation is None
            ]
        entry_set = set(entry)
        waits: dict[str, Set[str]] = dict.fromkeys(members, frozenset())  # agents each waits for
        started = set()  # members with a unit in this workflow
        for member in members:
            agent = self.agents[member]
            where: Path = ("agents", self.index[member])
            if member in entry_set:
                unit = Unit(
                    f"{flow.id}/{member}/entry", member, "entry", 1.0, 0.0, flow.id, True, True
                )
                self.add(unit, [("UserInput", None, self.w("UserInput"))], ("workflows", i))
                if agent.activation is not None:
                    self.ignored(where, "activation", f"'{member}' is the entry of '{flow.id}'")
            elif agent.activation is not None:
                waits[member] = self.expression_units(flow, member, inside)
                if agent.depends_on:
                    self.ignored(where, "depends_on", f"'{member}' has an activation expression")
            else:
                waits[member] = self.deps_unit(flow, agent, where, inside)
            if (flow.id, member) in self.placed:
                started.add(member)
        # The order of each member's dependencies does not change the order found; waits
        # outside the workflow are no keys, so the order ignores them.
        order = topological_order({m: waits[m] for m in sorted(members)})
        if order is None:
            self.activation_cycles({m: sorted(waits[m] & inside) for m in sorted(members)})
            order = sorted(members)
        waited_for = {d for m in members for d in waits[m]}
        return WorkflowSpec(
            id=flow.id,
            name=flow.name or flow.id,
            description=flow.description or "",
            agents=tuple(order),
            entry=tuple(m for m in order if m in entry_set),
            sinks=tuple(m for m in order if m not in waited_for and m in started),
            max_activations=flow.max_activations or 3 * len(members),
            timeout=flow.timeout,
            token_budget=flow.token_budget,
        )

    def ignored(self, where: Path, key: str, reason: str) -> None:
        path: Path = (*where, key)
        msg = f"{key} is not used: {reason}"
        if path not in {d.path for d in self.diagnostics}:
            self.diagnostics.append(warning("AX511", msg, self.doc.span(path, key=True), path))

    def activation_cycles(self, graph: dict[str, list[str]]) -> None:
        """Cycles through activation expressions (depends_on-only cycles are AX401 already)."""
        for component, path in cycles(graph):
            if all(self.agents[m].activation is None for m in component):
                continue
            last = path[-2]
            where: Path = ("agents", self.index[last], "activation")
            if self.agents[last].activation is None:
                where = ("agents", self.index[last], "depends_on")
            msg = f"activation cycle: {' → '.join(path)} (each waits for the next)"
            if where not in {d.path for d in self.diagnostics}:
                self.diagnostics.append(error("AX401", msg, self.doc.span(where), where))

    def deps_unit(self, flow: Workflow, agent: Agent, where: Path, inside: set[str]) -> set[str]:
        # `inside` holds agents only; an unknown dependency is AX302, from the reference checks
        if inside.issuperset(agent.depends_on):  # the common case, tested in C
            deps, outside = list(dict.fromkeys(agent.depends_on)), []
        else:
            deps = list(dict.fromkeys(dep for dep in agent.depends_on if dep in inside))
            outside = [
                (j, dep)
                for j, dep in enumerate(agent.depends_on)
                if dep not in inside and dep in self.agents
            ]
        for j, dep in outside:
            path: Path = (*where, "depends_on", j)
            effect = (
                f"in '{flow.id}' it does not wait for '{dep}'"
                if deps
                else f"with no dependency inside '{flow.id}', it never runs there"
            )
            msg = f"'{agent.id}' depends on '{dep}', which is not in workflow '{flow.id}'; {effect}"
            self.diagnostics.append(warning("AX507", msg, self.doc.span(path), path))
        if not deps:
            return set()
        weight = self.w("TaskCompleted")
        threshold = agent.activation_threshold or weight * len(deps)
        decay = agent.activation_decay or 0.0
        unit = Unit(
            f"{flow.id}/{agent.id}/deps", agent.id, "deps", threshold, decay, flow.id, True, True
        )
        origin = "activation_threshold" if agent.activation_threshold else "depends_on"
        self.add(unit, [("TaskCompleted", d, weight) for d in deps], (*where, origin))
        return set(deps)

    def expression_units(self, flow: Workflow, member: str, inside: set[str]) -> set[str]:
        from axoc import expr  # lark is loaded only for configs that use activation expressions

        agent = self.agents[member]
        assert agent.activation is not None
        path: Path = ("agents", self.index[member], "activation")
        outside: set[str] = set()

        def resolve(
            name: str, source: str | None, offset: int, length: int
        ) -> tuple[str, str | None, float]:
            event, resolved = self.resolve_atom(name, source, offset, length)
            if resolved is not None and resolved in self.agents and resolved not in inside:
                outside.add(resolved)
            return event, resolved, self.w(event)

        try:
            terms = expr.lower(agent.activation, resolve)
        except expr.ExprError as exc:
            code = _EXPR_CODES[exc.kind]
            where = self.doc.span_in(path, exc.offset, exc.length)
            self.diagnostics.append(error(code, exc.message, where, path, exc.hint))
            return set()
        threshold = agent.activation_threshold
        stranded = outside and all(
            sum(a.weight for a in term.atoms if a.source not in outside)
            < (threshold or term.threshold) - 1e-9
            for term in terms
        )
        for name in sorted(outside):
            msg = (
                f"activation of '{member}' waits for '{name}', which is not in workflow '{flow.id}'"
            )
            if stranded:
                msg += "; without it, the activation never holds there"
            self.diagnostics.append(warning("AX507", msg, self.doc.span(path), path))
        decay = agent.activation_decay or 0.0
        waits: set[str] = set()
        for n, term in enumerate(terms):
            kind = "act" if len(terms) == 1 else f"act.{n + 1}"
            threshold = agent.activation_threshold or term.threshold
            unit = Unit(
                f"{flow.id}/{member}/{kind}", member, "act", threshold, decay, flow.id, True, True
            )
            origin = (*path[:-1], "activation_threshold") if agent.activation_threshold else path
            self.add(unit, [(a.event, a.source, a.weight) for a in term.atoms], origin)
            waits |= {a.source for a in term.atoms if a.source in self.agents}
        return waits

    def resolve_atom(
        self, name: str, source: str | None, offset: int, length: int
    ) -> tuple[str, str | None]:
        """An expression atom as (event, source): a bare agent id is TaskCompleted(id)."""
        from axoc import expr

        if source is None and name in self.agents:
            return "TaskCompleted", name
        if name in ("SkillFired", "ScheduleTick"):
            msg = f"an activation cannot wait for {name}: fire the skill or schedule directly"
            raise expr.ExprError(msg, offset, len(name))
        if source is None:
            if name in RUNTIME_EVENTS or name in self.emitted:
                return name, None
            close = self.known_names.closest(name)
            hint = f"did you mean '{close}'?" if close else "name an agent id or an event"
            raise expr.ExprError(
                f"unknown agent or event '{name}'", offset, length, kind="reference", hint=hint,
            )  # fmt: skip
        if not EVENT_NAME.match(name):
            msg = f"invalid event name '{name}': letters, digits and '_', starting with a letter"
            raise expr.ExprError(msg, offset, len(name), kind="name")
        if source not in self.agents:
            close = self.agent_names.closest(source)
            hint = (
                f"did you mean '{close}'?" if close else f"valid agents: {self.agent_names.shown()}"
            )
            raise expr.ExprError(
                f"unknown agent '{source}' in {name}({source})", offset, length,
                kind="reference", hint=hint, on_source=True,
            )  # fmt: skip
        return name, source

    # --- skills and proactive -------------------------------------------------------------------

    def patterns(self, patterns: list[str], base: Path) -> list[tuple[str, str | None, float]]:
        routes = []
        for j, pattern in enumerate(patterns):
            name, source = parse_pattern(pattern)
            if source is not None and source not in self.agents:
                path: Path = (*base, j)
                msg = f"unknown agent '{source}' in event pattern '{pattern}'"
                hint = f"valid agents: {', '.join(sorted(self.agents))}"
                self.diagnostics.append(error("AX302", msg, self.doc.span(path), path, hint))
                continue
            routes.append((name, source, self.w(name)))
        return routes

    def skill_units(self, i: int) -> None:
        skill = self.config.skills[i]
        threshold = skill.threshold or DEFAULT_SKILL_THRESHOLD
        decay = DEFAULT_SKILL_DECAY if skill.decay is None else skill.decay
        routes = self.patterns(skill.reacts_to, ("skills", i, "reacts_to"))
        for holder in dict.fromkeys(skill.agents):
            if holder not in self.agents:
                continue
            unit = Unit(
                f"{holder}/skill:{skill.id}", holder, "skill", threshold, decay, skill=skill.id
            )
            fire = ("SkillFired", skill.id, threshold)
            self.add(unit, [*routes, fire], ("skills", i))

    def proactive_unit(self, i: int) -> None:
        item = self.config.proactive[i]
        if item.agent not in self.agents:
            return
        if item.trigger.type == "on_event":
            routes = self.patterns([item.trigger.event], ("proactive", i, "trigger", "event"))
            if not routes:
                return
            threshold, cooldown = routes[0][2], PROACTIVE_COOLDOWN
        else:
            routes, threshold, cooldown = [("ScheduleTick", item.id, 1.0)], 1.0, 0.0
        unit = Unit(
            f"{item.agent}/proactive:{item.id}", item.agent, "proactive", threshold, 0.0,
            cooldown=cooldown, proactive=item.id,
        )  # fmt: skip
        self.add(unit, routes, ("proactive", i))

    # --- specs --------------------------------------------------------------------------------

    def providers(self) -> tuple[ProviderSpec, ...]:
        raw = self.doc.data.get("providers")
        raw = raw if isinstance(raw, dict) else {}  # not a mapping: a schema error (AX202)
        used = {a.provider for a in self.agents.values()}
        specs = []
        configured = dict(registry.entries(self.config.providers))
        for name in sorted(used | set(configured)):
            settings = configured.get(name)
            kind = registry.kind_of(name, settings)
            if kind is None:
                continue
            entry = raw.get(name)
            raw_key = entry.get("api_key") if isinstance(entry, dict) else None
            url = getattr(settings, "base_url", None)
            written = entry.get("base_url") if isinstance(entry, dict) else None
            specs.append(
                ProviderSpec(
                    name=name,
                    kind=kind.name,
                    # credentials and query values: their ${VAR}, never their values
                    base_url=for_plan(url, written) if url else url,
                    model=getattr(settings, "model", None),
                    api_key_env=kind.key_variable(name, raw_key),
                    max_concurrency=getattr(settings, "max_concurrency", None),
                    requests_per_minute=getattr(settings, "requests_per_minute", None),
                )
            )
        return tuple(specs)

    def mcp_servers(self) -> tuple[McpServerSpec, ...]:
        """The configured MCP servers, secrets as their `${VAR}` (`McpServerSpec`)."""
        raw = self.doc.data.get("mcp_servers")
        raw = raw if isinstance(raw, list) else []
        specs = []
        for i, server in enumerate(self.config.mcp_servers):
            entry = raw[i] if i < len(raw) and isinstance(raw[i], dict) else {}
            transport = "streamable_http" if server.transport == "http" else server.transport
            url = server.url
            specs.append(
                McpServerSpec(
                    name=server.name,
                    transport=transport,
                    command=server.command,
                    args=tuple(server.args),
                    env=_as_written(server.env, entry.get("env")),
                    url=for_plan(url, entry.get("url")) if url else url,
                    headers=_as_written(server.headers, entry.get("headers")),
                    call_timeout=server.timeout_s,
                    start_timeout=server.start_timeout_s,
                )
            )
        return tuple(sorted(specs, key=operator.attrgetter("name")))

    def agent_spec(self, agent: Agent) -> AgentSpec:
        model = agent.model or getattr(self.provider_settings(agent.provider), "model", None)
        budget, sampling, supervision = agent.token_budget, agent.sampling, agent.supervision
        return AgentSpec(
            id=agent.id,
            name=agent.name or agent.id,
            provider=agent.provider,
            model=model or agent.provider,
            system_prompt=agent.system_prompt,
            depends_on=tuple(dict.fromkeys(agent.depends_on)),
            tools=tuple(dict.fromkeys(agent.tools)) if agent.tools else (),
            role=agent.role,
            budget=self.shared(budget, _budget),
            sampling=self.shared(sampling, _sampling),
            supervision=self.shared(supervision, _supervision),
            memory=self.shared(agent.memory, _memory),
            timeout=agent.timeout,
            emits=self.emit_events(agent) if agent.tools else (),  # () without the emit tool
            max_tool_rounds=agent.max_tool_rounds,
        )

    def emit_events(self, agent: Agent) -> tuple[str, ...]:
        """What `agent` may publish with the emit tool: its own `emits`, then those of the skills
        it holds, less the events the kernel publishes itself; none without the tool."""
        if "emit" not in agent.tools:
            return ()
        declared = [*agent.emits, *self.skill_emits.get(agent.id, ())]
        return tuple(dict.fromkeys(e for e in declared if e not in RUNTIME_EVENTS))

    def provider_settings(self, name: str) -> Any:
        """The settings of provider `name`, looked up once per name: a name that is not a field
        of `providers` costs pydantic an exception, once per agent otherwise."""
        if name not in self.provider_by_name:
            self.provider_by_name[name] = registry.entry(self.config.providers, name)
        return self.provider_by_name[name]

    def shared(self, settings: _Settings, spec: Callable[[_Settings], _Spec]) -> _Spec:
        """`spec(settings)`, made once per settings object of the config. Agents that do not set
        these settings share the default object, and so share its spec: less to build, and the
        plan writer writes a shared value once (`axoc.kernel.canonical`)."""
        made: _Spec | None = self.specs.get(id(settings))  # the config keeps `settings` alive
        if made is None:
            made = self.specs[id(settings)] = spec(settings)
        return made

    def skill_spec(self, i: int) -> SkillSpec:
        s = self.config.skills[i]
        return SkillSpec(
            s.id, s.name or s.id, s.description or "", tuple(dict.fromkeys(s.agents)),
            tuple(s.emits), tuple(s.reacts_to), s.prompt,
        )  # fmt: skip

    def proactive_spec(self, item: Proactive) -> ProactiveSpec:
        trigger = item.trigger
        every = seconds(trigger.every) if trigger.type == "schedule" else None
        event = trigger.event if trigger.type == "on_event" else None
        return ProactiveSpec(
            item.id, item.agent, trigger.type, every, event, item.input, item.enabled
        )

    def tool_spec(self, tool: Tool) -> ToolSpec:
        limits = ToolLimits(tool.limits.fuel, tool.limits.memory_mb, tool.limits.timeout_ms)
        return ToolSpec(tool.id, tool.kind, tool.module, tool.description, tool.parameters, limits)


def _budget(budget: TokenBudget) -> Budget:
    policy = "warn" if budget.overflow_policy == "summarize" else budget.overflow_policy
    return Budget(budget.per_call, budget.per_execution, policy)


def _sampling(sampling: SamplingSettings) -> Sampling:
    return Sampling(
        sampling.temperature, sampling.top_p, sampling.max_tokens, sampling.response_format
    )


def _supervision(supervision: SupervisionSettings) -> Supervision:
    return Supervision(supervision.max_restarts, supervision.within, supervision.backoff)


def _as_written(values: dict[str, str], written: Any) -> dict[str, str]:
    """`env` or `headers` of an MCP server as a plan keeps them: a value written with a
    `${VAR}` as written, any other value `(redacted)` (its value reaches the run through
    `Runnable.mcp_values`)."""
    written = written if isinstance(written, dict) else {}
    kept = {}
    for key in sorted(values):
        text = written.get(key)
        kept[key] = text if isinstance(text, str) and "${" in text else REDACTED
    return kept


def _memory(memory: AgentMemory) -> Memory:
    core = tuple(
        CoreBlock(b.label, b.value, b.limit, b.shared, b.description, b.read_only)
        for b in memory.core.blocks
    ) or tuple(CoreBlock(label, "", limit, False, "") for label, limit in DEFAULT_BLOCKS)
    recall = memory.recall
    return Memory(recall.passive_inject, recall.top_k, recall.min_score, core)


_id = operator.attrgetter("id")


SOLO_PREFIX = "agent:"  # the workflow of one agent run alone: ':' is in no id, so none clashes


def solo(table: SignalTable, agent: str, prefix: str = SOLO_PREFIX) -> SignalTable:
    """`table` with a workflow that runs `agent` alone on the input (`axoc run --agent`), named
    `<prefix><agent>`: the agent is its entry and its sink; the reactive units (skills,
    triggers) stay live, as in every run. Canonical like any lowered table, so a resumed run
    derives the same digest."""
    flow_id = f"{prefix}{agent}"
    spec = table.by_id("agents")[agent]
    flow = WorkflowSpec(
        id=flow_id, name=spec.name, description=f"{agent} alone", agents=(agent,),
        entry=(agent,), sinks=(agent,), max_activations=3, timeout=None, token_budget=None,
    )  # fmt: skip
    unit = Unit(
        id=f"{flow_id}/{agent}/entry", agent=agent, kind="entry", threshold=1.0, decay=0.0,
        workflow=flow_id, once=True, latch=True,
    )  # fmt: skip
    weight = table.event_weights.get("UserInput", DEFAULT_EVENT_WEIGHTS["UserInput"])
    route = Route(event="UserInput", source=None, unit=unit.id, weight=weight)
    return table.derived(
        workflows=tuple(sorted((*table.workflows, flow), key=_id)),
        units=tuple(sorted((*table.units, unit), key=_unit_key)),
        routes=tuple(sorted((*table.routes, route), key=_route_key)),
    )


def _unit_key(unit: Unit) -> tuple[str, str, str]:
    return (unit.workflow or "~", unit.agent, unit.id)


def _route_key(route: Route) -> str:
    """Routes sort by event, source (any source first), unit: as one string, which sorts as
    the tuple of the three would (no event name, id or unit id holds a NUL, the lowest
    character) in half the time, the hot spot of sorting 30,000 routes."""
    return f"{route.event}\0{route.source or ''}\0{route.unit}"
