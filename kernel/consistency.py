"""What a signal table must hold beyond the types of its fields: checked when a plan is loaded.

In: a `SignalTable` rebuilt from JSON, its field types checked already (`axoc.kernel.table`).
Out: its inconsistencies, each one message located like the table's other errors
(`table.units[3].agent: no agent 'ghost'`), in a fixed order: ids listed twice first, then each
section's references and numbers. A table the compiler wrote has none; a hand-edited plan may,
digest or not.

Guaranteed, for a table with none:
- ids are unique in each section (providers by name), and in each list of ids the kernel walks
  (an agent's dependencies, a workflow's agents, a skill's holders);
- every id the kernel looks up exists: each unit's agent and the one workflow, skill or trigger
  its kind belongs to (the agent being a member, a holder, the trigger's agent); each route's
  unit and source (an agent, a skill or a trigger); each agent's provider (`echo` or one of the
  table's) and dependencies; each workflow's agents, and its entry and sinks among them; each
  skill's holders; each schedule's workflow; each trigger's agent;
- every number the kernel computes with is finite and in range: θ, weights, event strengths,
  timeouts, backoffs, restart windows and intervals > 0; λ and cooldowns ≥ 0; budgets,
  `max_tokens` and `max_activations` ≥ 1; `max_restarts` ≥ 0; a budget policy is abort or warn.

Linear in the size of the table: one pass per section, with sets and dicts. Standard library
only.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from axoc.kernel.table import AgentSpec, SignalTable, Unit

#: Providers a run has without the table naming them: `axoc run` always provides `echo`.
BUILTIN_PROVIDERS = frozenset({"echo"})
#: What a unit of each kind belongs to: the field naming it (the unit's other two are null).
OWNER = {
    "entry": "workflow",
    "deps": "workflow",
    "act": "workflow",
    "skill": "skill",
    "proactive": "proactive",
}
_OWNED_BY = {"workflow": "workflow", "skill": "skill", "proactive": "proactive trigger"}
POLICIES = ("abort", "warn")
TRIGGERS = ("schedule", "on_event")
_INF = math.inf  # `0 < x < _INF` holds for finite positive x only: NaN compares false

Positions = dict[str, int]  # id → position of its item in its section
Agents = dict[str, frozenset[str]]  # workflow, skill or trigger id → the agents it may activate


def problems(table: SignalTable) -> Iterator[str]:
    """Every inconsistency of `table`: ids listed twice, then section by section."""
    providers = yield from _unique(table.providers, "providers", "name")
    agents = yield from _unique(table.agents, "agents")
    workflows = yield from _unique(table.workflows, "workflows")
    skills = yield from _unique(table.skills, "skills")
    yield from _unique(table.schedules, "schedules")
    triggers = yield from _unique(table.proactive, "proactive")
    yield from _unique(table.tools, "tools")
    yield from _unique(table.mcp_servers, "mcp_servers", "name")
    units = yield from _unique(table.units, "units")
    for event, weight in table.event_weights.items():
        if not 0 < weight < _INF:
            yield f"table.event_weights.{event}: {_expected('> 0', weight)}"
    resolved = providers.keys() | BUILTIN_PROVIDERS
    for i, agent in enumerate(table.agents):
        yield from _agent(f"table.agents[{i}]", agent, agents, resolved)
    owners = {
        "workflow": (yield from _workflows(table, agents)),
        "skill": (yield from _skills(table, agents)),
        "proactive": (yield from _triggers(table, agents)),
    }
    for i, schedule in enumerate(table.schedules):
        if schedule.workflow not in workflows:
            yield f"table.schedules[{i}].workflow: no workflow '{schedule.workflow}'"
        if not 0 < schedule.every < _INF:
            yield f"table.schedules[{i}].every: {_expected('> 0', schedule.every)}"
    for i, unit in enumerate(table.units):
        yield from _unit(f"table.units[{i}]", unit, agents, owners)
    for i, route in enumerate(table.routes):
        if route.unit not in units:
            yield f"table.routes[{i}].unit: no unit '{route.unit}'"
        source = route.source  # an agent; a skill for SkillFired, a trigger for ScheduleTick
        if source is not None and not (source in agents or source in skills or source in triggers):
            yield f"table.routes[{i}].source: no agent, skill or proactive trigger '{source}'"
        if not 0 < route.weight < _INF:
            yield f"table.routes[{i}].weight: {_expected('> 0', route.weight)}"


def _unique(items: Sequence[Any], section: str, key: str = "id") -> Generator[str, None, Positions]:
    """Each item's id and position; an id listed twice is a problem (the first one counts)."""
    positions: Positions = {}
    for i, item in enumerate(items):
        first = positions.setdefault(getattr(item, key), i)
        if first != i:
            where = f"table.{section}[{i}].{key}"
            yield f"{where}: '{getattr(item, key)}' is listed twice (table.{section}[{first}])"
    return positions


def _members(
    ids: Sequence[str], agents: Positions, where: str
) -> Generator[str, None, frozenset[str]]:
    """The agents of a list that must name existing agents, each once."""
    members = frozenset(ids)
    if len(members) != len(ids):
        seen: set[str] = set()
        for member in ids:
            if member in seen:
                yield f"{where}: '{member}' is listed twice"
                break
            seen.add(member)
    for j, member in enumerate(ids):
        if member not in agents:
            yield f"{where}[{j}]: no agent '{member}'"
    return members


def _agent(
    where: str, agent: AgentSpec, agents: Positions, providers: Collection[str]
) -> Iterator[str]:
    if agent.provider not in providers:
        yield f"{where}.provider: no provider '{agent.provider}'"
    # Each dependency once: the hand-off writes one line per entry (axoc.kernel.driver).
    yield from _members(agent.depends_on, agents, f"{where}.depends_on")
    budget, sampling, supervision = agent.budget, agent.sampling, agent.supervision
    if budget.per_call < 1:
        yield f"{where}.budget.per_call: {_expected('>= 1', budget.per_call)}"
    if budget.per_execution is not None and budget.per_execution < 1:
        yield f"{where}.budget.per_execution: {_expected('>= 1', budget.per_execution)}"
    if budget.overflow_policy not in POLICIES:
        policy = budget.overflow_policy
        yield f"{where}.budget.overflow_policy: expected 'abort' or 'warn', got {policy!r}"
    if sampling.max_tokens is not None and sampling.max_tokens < 1:
        yield f"{where}.sampling.max_tokens: {_expected('>= 1', sampling.max_tokens)}"
    if supervision.max_restarts < 0:
        yield f"{where}.supervision.max_restarts: {_expected('>= 0', supervision.max_restarts)}"
    if not 0 < supervision.within < _INF:
        yield f"{where}.supervision.within: {_expected('> 0', supervision.within)}"
    if not 0 < supervision.backoff < _INF:
        yield f"{where}.supervision.backoff: {_expected('> 0', supervision.backoff)}"
    if agent.timeout is not None and not 0 < agent.timeout < _INF:
        yield f"{where}.timeout: {_expected('> 0', agent.timeout)}"


def _workflows(table: SignalTable, agents: Positions) -> Generator[str, None, Agents]:
    """Each workflow's agents."""
    members: Agents = {}
    for i, flow in enumerate(table.workflows):
        where = f"table.workflows[{i}]"
        inside = members[flow.id] = yield from _members(flow.agents, agents, f"{where}.agents")
        for field, ids in (("entry", flow.entry), ("sinks", flow.sinks)):
            for j, member in enumerate(ids):
                if member not in inside:
                    yield f"{where}.{field}[{j}]: '{member}' is not one of the workflow's agents"
        if flow.max_activations < 1:
            yield f"{where}.max_activations: {_expected('>= 1', flow.max_activations)}"
        if flow.timeout is not None and not 0 < flow.timeout < _INF:
            yield f"{where}.timeout: {_expected('> 0', flow.timeout)}"
        if flow.token_budget is not None and flow.token_budget < 1:
            yield f"{where}.token_budget: {_expected('>= 1', flow.token_budget)}"
    return members


def _skills(table: SignalTable, agents: Positions) -> Generator[str, None, Agents]:
    """Each skill's holders."""
    holders: Agents = {}
    for i, skill in enumerate(table.skills):
        where = f"table.skills[{i}].holders"
        holders[skill.id] = yield from _members(skill.holders, agents, where)
    return holders


def _triggers(table: SignalTable, agents: Positions) -> Generator[str, None, Agents]:
    """Each proactive trigger's agent."""
    activates: Agents = {}
    for i, trigger in enumerate(table.proactive):
        where = f"table.proactive[{i}]"
        activates[trigger.id] = frozenset((trigger.agent,))
        if trigger.agent not in agents:
            yield f"{where}.agent: no agent '{trigger.agent}'"
        if trigger.trigger not in TRIGGERS:
            yield f"{where}.trigger: expected 'schedule' or 'on_event', got {trigger.trigger!r}"
        elif trigger.trigger == "schedule" and trigger.every is None:
            yield f"{where}.every: null, but a schedule trigger has an interval"
        elif trigger.trigger == "on_event" and trigger.event is None:
            yield f"{where}.event: null, but an on_event trigger has an event"
        if trigger.every is not None and not 0 < trigger.every < _INF:
            yield f"{where}.every: {_expected('> 0', trigger.every)}"
    return activates


def _unit(where: str, unit: Unit, agents: Positions, owners: dict[str, Agents]) -> Iterator[str]:
    """A unit belongs to the one workflow, skill or trigger its kind says, which may activate its
    agent."""
    agent, kind = unit.agent, unit.kind
    if agent not in agents:
        yield f"{where}.agent: no agent '{agent}'"
    owner = OWNER.get(kind)
    if owner is None:
        yield f"{where}.kind: expected one of {', '.join(OWNER)}, got {kind!r}"
    for field, what in _OWNED_BY.items():
        value = getattr(unit, field)
        if value is None:
            if field == owner:
                yield f"{where}.{field}: null, but a unit of kind {kind} has a {what}"
            continue
        if owner is not None and field != owner:
            yield f"{where}.{field}: '{value}', but a unit of kind {kind} has no {what}"
        allowed = owners[field].get(value)
        if allowed is None:
            yield f"{where}.{field}: no {what} '{value}'"
        elif agent not in allowed:
            yield f"{where}.agent: '{agent}' is not an agent of {what} '{value}'"
    if not 0 < unit.threshold < _INF:
        yield f"{where}.threshold: {_expected('> 0', unit.threshold)}"
    if not 0 <= unit.decay < _INF:
        yield f"{where}.decay: {_expected('>= 0', unit.decay)}"
    if not 0 <= unit.cooldown < _INF:
        yield f"{where}.cooldown: {_expected('>= 0', unit.cooldown)}"


def _expected(bound: str, value: float) -> str:
    kind = "an integer" if isinstance(value, int) else "a finite number"
    return f"expected {kind} {bound}, got {value!r}"
