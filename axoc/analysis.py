"""Static lattice analysis of a lowered table (SPEC §4.4), part of `axoc check`.

In: the `Lowered` table with each unit's origin, and the `Document` for positions. Out:
diagnostics. Errors: an agent none of whose units in a workflow can ever reach θ although every
agent it waits for can run (AX503; a single alternative that cannot, while another can, is a
warning); a decaying unit that needs several inputs at the same instant (AX504). Warnings: a
cycle of reactive units with no cooldown, which only `max_activations` stops (AX505: every run
has that cycle guard); workflow agents the entry never reaches (AX506); events emitted that
nothing reacts to (AX508); patterns that nothing emits (AX509).

One root cause is reported once, at the root: an agent that cannot run only because an agent it
waits for never runs in the workflow (which AX503, AX506 or AX507 reports) gets no diagnostic of
its own; the root's message names it.

"Can reach" is a fixed point over the run: starting from UserInput, a unit can fire when the
weights of the routes whose events the run can produce reach its θ. An agent that can fire
publishes AgentActivated and TaskCompleted or AgentFailed — one of the two, if it can run only
once in the run —, ToolResult if it has tools, its skills' `emits`, and with the `emit` tool the
events it declares (its `emits` and its skills').
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import replace

from axoc.cycles import cycles
from axoc.diagnostics import Diagnostic, Path, error, warning
from axoc.kernel.table import RUNTIME_EVENTS, Route, SignalTable, Unit
from axoc.lower import Lowered, parse_pattern
from axoc.wording import listing
from axoc.yamlload import Document

_ALWAYS = ("SkillFired", "ScheduleTick")  # manual fires and schedules: outside any run's control
_EXCLUSIVE = ("TaskCompleted", "AgentFailed")  # a single activation publishes one of them
Event = tuple[str, str | None]


def analyse(doc: Document, lowered: Lowered, skip: set[str] | None = None) -> list[Diagnostic]:
    """`skip`: workflows not to analyse (they have errors of their own)."""
    table = lowered.table
    routes: dict[str, list[Route]] = defaultdict(list)
    for route in table.routes:
        routes[route.unit].append(route)
    places = _Places(doc)
    producers = _Producers(table)
    by_flow: dict[str | None, list[Unit]] = defaultdict(list)
    for unit in table.units:
        by_flow[unit.workflow].append(unit)
    reactive = by_flow[None]
    out: list[Diagnostic] = []
    for flow in table.workflows:
        if flow.id not in (skip or ()):
            units = by_flow[flow.id] + reactive
            found = _workflow(places, lowered, flow.id, units, routes, producers)
            out += [replace(d, workflow=flow.id) for d in found]
    out += _feedback_loops(places, lowered, reactive, routes, producers)
    out += _dangling_events(places, table)
    return out


class _Places:
    """Where things are in the document, for locating diagnostics."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._agent_index: dict[str, int] | None = None  # built on first use: few configs do

    def agent_key(self, agent: str, key: str, fallback: Path) -> Path:
        if self._agent_index is None:
            self._agent_index = {}
            for i, raw in enumerate(self.doc.data.get("agents") or []):
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    self._agent_index.setdefault(raw["id"], i)
        path: Path = ("agents", self._agent_index.get(agent, -1), key)
        return path if self.doc.node(path) is not None else fallback

    def member(self, agent: str, flow_id: str) -> Path:
        for i, flow in enumerate(self.doc.data.get("workflows") or []):
            if isinstance(flow, dict) and flow.get("id") == flow_id:
                members = flow.get("agents") or []
                if agent in members:
                    return ("workflows", i, "agents", members.index(agent))
        return ()


class _Producers:
    """What each agent can publish. Computed once per table."""

    def __init__(self, table: SignalTable) -> None:
        # What an agent publishes besides AgentActivated, TaskCompleted and AgentFailed: ToolResult
        # with tools, its skills' emits, with the emit tool its declared events. Most publish none.
        self.more: dict[str, list[str]] = {}
        for a in table.agents:
            if a.tools or a.emits:
                self.more[a.id] = (["ToolResult"] if a.tools else []) + list(a.emits)
        for skill in table.skills:
            for holder in skill.holders:
                self.more.setdefault(holder, []).extend(skill.emits)

    def events(self, agent: str) -> set[Event]:
        found: set[Event] = {
            ("TaskCompleted", agent),
            ("AgentFailed", agent),
            ("AgentActivated", agent),
        }
        more = self.more.get(agent)
        if more:
            found.update([(name, agent) for name in more])
        return found


class _Published:
    """The events a run can publish, as (name, source) pairs and by name alone: a route from any
    source is matched by name in constant time, not by a scan of every pair."""

    def __init__(self, pairs: set[Event], names: set[str]) -> None:
        self.pairs = pairs
        self.names = names  # {name for name, _ in pairs}


def _can_arrive(route: Route, events: _Published) -> bool:
    if route.event in _ALWAYS:
        return True
    if route.source is not None:
        return (route.event, route.source) in events.pairs
    return route.event in events.names


def _reachable(
    units: list[Unit], routes: dict[str, list[Route]], producers: _Producers
) -> tuple[set[str], _Published, dict[str, int]]:
    """Agents that can fire in the run, the events the run can produce, and how many of each
    unit's routes those events arrive on: a worklist fixed point, linear in units and routes.
    Each event is taken once, so the routes of one (event, source) pair are counted once; the
    routes from any source of an event name are counted when the first event of that name is
    taken (the hot spot of analysing a large workflow)."""
    by_event: dict[Event, list[Route]] = {}
    pending: list[Event] = [("UserInput", None)]
    for unit in units:
        for route in routes[unit.id]:
            event = (route.event, route.source)
            found = by_event.get(event)
            if found is None:
                by_event[event] = [route]
            else:
                found.append(route)
            if route.event in _ALWAYS:
                pending.append(event)
    unit_of = {u.id: u for u in units}
    gained: dict[str, float] = dict.fromkeys(unit_of, 0.0)
    arrived: dict[str, int] = dict.fromkeys(unit_of, 0)
    any_source_taken: set[str] = set()  # names whose any-source routes are counted
    fired: set[str] = set()
    events: set[Event] = set()
    no_routes: list[Route] = []
    while pending:
        event = pending.pop()
        if event in events:
            continue
        events.add(event)
        name, source = event
        matched = by_event.get(event, no_routes) if source else no_routes
        if name not in any_source_taken:
            any_source_taken.add(name)
            any_source = by_event.get((name, None))
            if any_source:
                matched = matched + any_source
        for route in matched:
            arrived[route.unit] += 1
            unit = unit_of[route.unit]
            if unit.agent in fired:
                continue  # what its units gain no longer matters
            total = gained[route.unit] = gained[route.unit] + route.weight
            if total >= unit.threshold - 1e-9 or not unit.latch:
                fired.add(unit.agent)
                pending += producers.events(unit.agent)
    return fired, _Published(events, any_source_taken), arrived  # each name taken is published


def _arriving(routes: list[Route], events: _Published) -> list[Route]:
    return [r for r in routes if _can_arrive(r, events)]


def _most(routes: list[Route], once_only: set[str]) -> float:
    """The most weight these routes can add in one run: an agent that runs at most once
    completes or fails, never both. Without a route on AgentFailed, the sum of all (weights are
    positive): the common case, a unit waiting for completions only."""
    if all(route.event != "AgentFailed" for route in routes):
        return sum(route.weight for route in routes)
    total = 0.0
    # source → [completed, failed] (the order of _EXCLUSIVE)
    exclusive: dict[str | None, list[float]] = {}
    for route in routes:
        if route.event in _EXCLUSIVE and route.source in once_only:
            pair = exclusive.get(route.source)
            if pair is None:
                pair = exclusive[route.source] = [0.0, 0.0]
            pair[route.event == "AgentFailed"] += route.weight
        else:
            total += route.weight
    return total + sum(map(max, exclusive.values()))


def _workflow(
    places: _Places, lowered: Lowered, flow_id: str, units: list[Unit],
    routes: dict[str, list[Route]], producers: _Producers,
) -> list[Diagnostic]:  # fmt: skip
    """`units`: the workflow's and the reactive ones (live in every run)."""
    table = lowered.table
    flow = table.workflow(flow_id)
    fired, events, arrived = _reachable(units, routes, producers)
    once_only = {m for m in flow.agents} - {u.agent for u in units if u.workflow is None}
    by_agent: dict[str, list[tuple[Unit, float, list[Route]]]] = defaultdict(list)
    for unit in units:
        if unit.workflow != flow_id or not unit.latch:
            continue
        mine = routes[unit.id]
        # Most units' routes all arrive (the fixed point counted them): no test of each.
        arriving = mine if arrived[unit.id] == len(mine) else _arriving(mine, events)
        by_agent[unit.agent].append((unit, _most(arriving, once_only), arriving))
    idle = [m for m in flow.agents if m not in fired]  # members that never run in this workflow
    agents = table.by_id("agents")
    waits_on = _consequences(idle, agents, set(flow.agents), by_agent, routes, events, once_only)
    waiting = _waiting(waits_on)
    out: list[Diagnostic] = []
    for agent, candidates in by_agent.items():
        dead = [(u, total) for u, total, _ in candidates if total < u.threshold - 1e-9]
        alternative = len(dead) < len(candidates)
        for unit, total in dead:
            if unit.id in waits_on:
                continue  # reported at its root: an agent it waits for never runs
            also = [] if alternative else _downstream(agent, waiting)
            out.append(_never(places, lowered, unit, total, routes, events, alternative, also))
        for unit, total, arriving in candidates:
            if (unit, total) not in dead and unit.decay > 0 and _needs_all_at_once(unit, arriving):
                where = places.agent_key(agent, "activation_decay", lowered.origins[unit.id])
                msg = (
                    f"{_name(unit)} decays (λ {_num(unit.decay)}/s) but needs all of its "
                    f"{len(arriving)} inputs at the same instant; completions never arrive together"
                )
                hint = "set activation_decay: 0 (completions are facts), or lower the threshold"
                out.append(error("AX504", msg, places.doc.span(where), where, hint))
    outside = _outside_only(table, flow.agents, idle)
    delegated = _workers(table, flow.entry, flow.agents)
    for member in idle:
        if member in by_agent or member in outside or member in delegated:
            continue  # AX503 above, AX507 (lowering) or AX208 (a coordinator's worker) said why
        where = places.member(member, flow_id)
        msg = f"agent '{member}' is never reached from the entry of workflow '{flow_id}'"
        msg += _also(_downstream(member, waiting))
        out.append(warning("AX506", msg, places.doc.span(where), where))
    return out


def _consequences(
    idle: list[str], agents: Mapping[str, object], members: set[str],
    by_agent: dict[str, list[tuple[Unit, float, list[Route]]]],
    routes: dict[str, list[Route]], events: _Published, once_only: set[str],
) -> dict[str, tuple[str, set[str]]]:  # fmt: skip
    """Units that cannot fire only because agents they wait for never run in the workflow (or
    are not in it, which AX507 reports): unit id → (its agent, those agents). A unit that lacks
    an input from elsewhere (an event nobody publishes) or could not reach θ even with every
    input is a root, not a consequence."""
    idle_set = set(idle)

    def silent(source: str | None) -> bool:
        return source in idle_set or (source in agents and source not in members)

    found: dict[str, tuple[str, set[str]]] = {}
    for agent, candidates in by_agent.items():
        for unit, total, _ in candidates:
            if total >= unit.threshold - 1e-9:
                continue
            missing = [r for r in routes[unit.id] if not _can_arrive(r, events)]
            sources = {r.source for r in missing}
            enough = _most(routes[unit.id], once_only) >= unit.threshold - 1e-9
            if missing and all(silent(source) for source in sources) and enough:
                found[unit.id] = (agent, {s for s in sources if s is not None})
    return found


def _downstream(root: str, waiting: dict[str, list[str]]) -> list[str]:
    """The agents whose units cannot fire because `root` never runs, transitively (breadth
    first); `waiting`: agent → the agents with a unit waiting for it (`_waiting`)."""
    reached: dict[str, None] = {}
    queue = deque([root])
    while queue:
        for agent in waiting.get(queue.popleft(), ()):
            if agent not in reached and agent != root:
                reached[agent] = None
                queue.append(agent)
    return list(reached)


def _waiting(waits_on: dict[str, tuple[str, set[str]]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for agent, causes in sorted(waits_on.values(), key=lambda pair: pair[0]):
        for cause in causes:
            found[cause].append(agent)
    return found


def _also(agents: list[str]) -> str:
    if not agents:
        return ""
    which = "waits" if len(agents) == 1 else "wait"
    return f"; so {listing(agents, most=5)}, which {which} for it, cannot run there either"


def _outside_only(table: SignalTable, members: tuple[str, ...], idle: list[str]) -> set[str]:
    """The `idle` members all of whose dependencies are outside the workflow (`members`):
    lowering reported each (AX507), and gave them no unit there."""
    if not idle:
        return set()
    inside = set(members)
    specs = table.by_id("agents")
    return {
        m for m in idle if specs[m].depends_on and not any(d in inside for d in specs[m].depends_on)
    }


def _workers(table: SignalTable, entry: tuple[str, ...], members: tuple[str, ...]) -> set[str]:
    """The workers of a coordinator-led workflow: they wait for a delegation axoc does not make
    yet (AX208 says so)."""
    specs = table.by_id("agents")
    if not any(specs[e].role == "coordinator" for e in entry):
        return set()
    return {m for m in members if specs[m].role == "worker"}


def _never(
    places: _Places, lowered: Lowered, unit: Unit, total: float, routes: dict[str, list[Route]],
    events: _Published, alternative: bool, also: list[str],
) -> Diagnostic:  # fmt: skip
    where = lowered.origins[unit.id]
    missing = sorted({_pattern(r) for r in routes[unit.id] if not _can_arrive(r, events)})
    msg = (
        f"{_name(unit)} can never fire in workflow '{unit.workflow}': it needs "
        f"{_num(unit.threshold)} and its inputs can add at most {_num(total)} in one run"
    )
    msg += _also(also)
    arriving = [r for r in routes[unit.id] if _can_arrive(r, events)]
    if missing:
        hint = f"these inputs never arrive in this run: {', '.join(missing)}"
    elif sum(r.weight for r in arriving) >= unit.threshold - 1e-9:
        hint = (
            "it waits for an agent to both complete and fail; one that runs once does one of them"
        )
    else:
        hint = "lower activation_threshold, or add inputs"
    if alternative:
        return warning(
            "AX503", msg + " (another alternative can)", places.doc.span(where), where, hint
        )
    return error("AX503", msg, places.doc.span(where), where, hint)


def _needs_all_at_once(unit: Unit, arriving: list[Route]) -> bool:
    """Whether firing needs two or more inputs with no slack left for decay."""
    weights = sorted((r.weight for r in arriving), reverse=True)
    if len(weights) < 2 or weights[0] >= unit.threshold:
        return False
    return sum(weights) - unit.threshold < 1e-9


def _feedback_loops(
    places: _Places, lowered: Lowered, units: list[Unit], routes: dict[str, list[Route]],
    producers: _Producers,
) -> list[Diagnostic]:  # fmt: skip
    """Cycles of reactive units without cooldown, each triggering the next. Who triggers whom is
    found through an index of the units by the events they listen to (linear in the units and
    what their agents publish, not quadratic in the units)."""
    reactive = [u for u in units if u.cooldown <= 0]
    if not reactive:
        return []
    listening: dict[Event, set[str]] = defaultdict(set)  # (event, source or None) → units
    for unit in reactive:
        for route in routes[unit.id]:
            if route.event not in _ALWAYS:
                listening[(route.event, route.source)].add(unit.id)
    by_id = {u.id: u for u in reactive}
    triggers: dict[str, list[str]] = {}
    for unit in reactive:
        reached: set[str] = set()
        for name, agent in producers.events(unit.agent):
            reached |= listening[(name, agent)] | listening[(name, None)]
        triggers[unit.id] = sorted(reached)
    out = []
    for _, cycle in cycles(triggers):
        origin = lowered.origins[cycle[0]]
        where = (*origin, "reacts_to") if origin[:1] == ("skills",) else (*origin, "trigger")
        names = " → ".join(_name(by_id[u]) for u in cycle)
        msg = (
            f"reactive feedback loop: {names} (each can trigger the next); only the run's cycle "
            "guard, max_activations, stops it"
        )
        hint = "break the loop, or react to a more specific event"
        out.append(warning("AX505", msg, places.doc.span(where), where, hint))
    return out


def _dangling_events(places: _Places, table: SignalTable) -> list[Diagnostic]:
    """Custom events emitted that nothing reacts to, and patterns that nothing emits."""
    listened = {r.event for r in table.routes}
    emitters: dict[str, set[str]] = defaultdict(set)
    for skill in table.skills:
        for event in skill.emits:
            emitters[event] |= set(skill.holders)
    for agent in table.agents:  # with the emit tool
        for event in agent.emits:
            emitters[event].add(agent.id)
    out = []
    data = places.doc.data
    for i, raw in enumerate(data.get("skills") or []):
        if not isinstance(raw, dict):
            continue
        for j, event in enumerate(raw.get("emits") or []):
            if event not in listened:
                path: Path = ("skills", i, "emits", j)
                msg = f"event '{event}' is emitted but nothing reacts to it"
                out.append(warning("AX508", msg, places.doc.span(path), path))
        for j, pattern in enumerate(raw.get("reacts_to") or []):
            out += _unemitted(places, ("skills", i, "reacts_to", j), str(pattern), emitters)
    for i, raw in enumerate(data.get("proactive") or []):
        trigger = raw.get("trigger") if isinstance(raw, dict) else None
        if isinstance(trigger, dict) and trigger.get("type") == "on_event":
            path = ("proactive", i, "trigger", "event")
            out += _unemitted(places, path, str(trigger.get("event")), emitters)
    return out


def _unemitted(
    places: _Places, path: Path, pattern: str, emitters: dict[str, set[str]]
) -> list[Diagnostic]:
    name, source = parse_pattern(pattern)
    if name in RUNTIME_EVENTS:
        return []
    who = emitters.get(name, set())
    possible = source in who if source else bool(who)
    if possible:
        return []
    by = f" by '{source}'" if source else ""
    msg = f"nothing emits '{name}'{by}, so this pattern never matches"
    return [warning("AX509", msg, places.doc.span(path), path)]


def _name(unit: Unit) -> str:
    """How a unit is named to users: by its agent and what made it, not by its id."""
    if unit.kind == "skill":
        return f"'{unit.agent}' on skill '{unit.skill}'"
    if unit.kind == "proactive":
        return f"'{unit.agent}' on trigger '{unit.proactive}'"
    if unit.kind == "act":
        last = unit.id.rsplit("/", 1)[-1]
        which = (
            f"alternative {last.split('.')[1]} of its activation"
            if "." in last
            else "its activation"
        )
        return f"'{unit.agent}' ({which})"
    return f"'{unit.agent}' ({'its depends_on' if unit.kind == 'deps' else 'the entry'})"


def _pattern(route: Route) -> str:
    return f"{route.event}({route.source})" if route.source else route.event


def _num(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else str(value)
