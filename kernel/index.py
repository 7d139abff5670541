"""The signal table seen from one run: live units, route lookup, and what feeds what.

In: a `SignalTable` and the workflow a run executes (None for a skill-fire run). Out: a
`RunIndex`. `matching(event, source)` returns the routes of the run's live units that the event
matches — routes naming that source, then routes for any source — without looking at any other
route or unit, so publishing costs time proportional to the routes matched. Built once per run in
O(routes of the table); what only a failure or an unusual hand-off needs (`routes_of`, `fed_by`,
`once_units`) is built on first use, as most runs never ask for it. Immutable once built.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Sequence

from axoc.kernel.table import Route, SignalTable, Unit

# A route as the core uses it: (unit, weight, key, join) -- the unit object itself, the route's
# weight, its latch key (event, source), counted once by a latched unit, and whether the unit is
# a join: once and latched, with no decay and no cooldown (the core's fast case). A join's key
# is None when it cannot come twice in a run (`ONCE_EVENTS` of a `once_sources` agent): there is
# nothing to count. A plain tuple, unpacked where it is used: built and read faster than a
# NamedTuple, once per route.
Key = tuple[str, str | None]  # (event, source)
Target = tuple[Unit, float, Key | None, bool]

# What an agent publishes once per activation. An agent of the run's workflow that holds no
# reactive unit (skill, proactive) is activated at most once per run, so publishes these at most
# once: a join need not remember that it counted them.
ONCE_EVENTS = frozenset({"TaskCompleted", "AgentFailed"})


_NONE: tuple[Target, ...] = ()


class RunIndex:
    __slots__ = (
        "_any",
        "_exact",
        "_fed_by",
        "_once_units",
        "_routes_of",
        "max_activations",
        "members",
        "reactive_agents",
        "table",
        "units",
        "workflow",
    )

    def __init__(self, table: SignalTable, workflow: str | None) -> None:
        self.table = table
        self.workflow = workflow
        # Invariant: a unit is live in a run iff it belongs to the run's workflow or is reactive.
        self.units: dict[str, Unit] = {
            u.id: u for u in table.units if u.workflow == workflow or u.workflow is None
        }
        flow = table.workflow(workflow) if workflow is not None else None
        self.members = frozenset(flow.agents if flow else ())
        agents = len(table.agents)
        self.max_activations = flow.max_activations if flow else 3 * max(agents, 1)
        self.reactive_agents = frozenset(u.agent for u in self.units.values() if u.workflow is None)
        self._routes_of: dict[str, tuple[Route, ...]] | None = None
        self._fed_by: dict[str, frozenset[str]] | None = None
        self._once_units: dict[str, tuple[Unit, ...]] | None = None
        # Building allocates a few objects per route and no cycles: the cyclic collector's
        # passes over them would cost a quarter of the build (as in axoc.pipeline.gc_paused).
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._exact, self._any = self._targets(table)
        finally:
            if enabled:
                gc.enable()

    def _targets(
        self, table: SignalTable
    ) -> tuple[dict[str, dict[str, list[Target]]], dict[str, list[Target]]]:
        """event → source → targets (those of the routes naming the source, then those of the
        routes for any source), and event → targets of the routes for any source. One pass over
        the routes, most of the cost of starting a run: hence plain dicts filled by hand."""
        joins = {
            uid: (u, u.once and u.latch and not u.decay > 0 and not u.cooldown)
            for uid, u in self.units.items()
        }
        once_sources = self.members - self.reactive_agents
        exact: dict[str, dict[str, list[Target]]] = {}
        any_source: dict[str, list[Target]] = {}
        for route in table.routes:
            live = joins.get(route.unit)
            if live is None:
                continue
            event, source = route.event, route.source
            if source is None:
                found = any_source.get(event)
                if found is None:
                    found = any_source[event] = []
            else:
                by_source = exact.get(event)
                if by_source is None:
                    by_source = exact[event] = {}
                found = by_source.get(source)
                if found is None:
                    found = by_source[source] = []
            key: Key | None = (found and found[0][2]) or (event, source)  # shared, mostly
            join = live[1]
            if join and event in ONCE_EVENTS and source in once_sources:
                key = None  # comes once: nothing to count
            found.append((live[0], route.weight, key, join))
        for event, general in any_source.items():  # a source's list ends with the any-source ones
            for specific in exact.get(event, {}).values():
                specific += general
        return exact, any_source

    @property
    def routes_of(self) -> dict[str, tuple[Route, ...]]:
        """Each live unit's routes, in table order."""
        if self._routes_of is None:
            routes_of: dict[str, list[Route]] = defaultdict(list)
            for route in self.table.routes:
                if route.unit in self.units:
                    routes_of[route.unit].append(route)
            self._routes_of = {unit: tuple(routes) for unit, routes in routes_of.items()}
        return self._routes_of

    @property
    def fed_by(self) -> dict[str, frozenset[str]]:
        """source agent → the agents with a live once-unit that a route from it feeds."""
        if self._fed_by is None:
            fed_by: dict[str, set[str]] = defaultdict(set)
            for route in self.table.routes:
                unit = self.units.get(route.unit)
                if unit is not None and unit.once and route.source is not None:
                    fed_by[route.source].add(unit.agent)
            self._fed_by = {source: frozenset(agents) for source, agents in fed_by.items()}
        return self._fed_by

    @property
    def once_units(self) -> dict[str, tuple[Unit, ...]]:
        """agent → its live once-units, in table order."""
        if self._once_units is None:
            once: dict[str, list[Unit]] = defaultdict(list)
            for live in self.units.values():
                if live.once:
                    once[live.agent].append(live)
            self._once_units = {agent: tuple(units) for agent, units in once.items()}
        return self._once_units

    def listens(self, event: str) -> bool:
        """Whether any live unit has a route from `event`."""
        return event in self._exact or event in self._any

    def matching(self, event: str, source: str | None) -> Sequence[Target]:
        """Routes fed by `event` published by `source` (None: no particular source), those
        naming the source first. Read-only: the lists are the index's own."""
        if source is not None:
            by_source = self._exact.get(event)
            if by_source is not None:
                found = by_source.get(source)
                if found is not None:
                    return found  # those for any source included
        return self._any.get(event, _NONE)
