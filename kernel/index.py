"""The signal table seen from one run: live units, route lookup, and what feeds what.

In: a `SignalTable` and the workflow a run executes (None for a skill-fire run). Out: a
`RunIndex`. `matching(event, source)` returns the routes of the run's live units that the event
matches — routes naming that source and routes for any source — without looking at any other
route or unit, so publishing costs time proportional to the routes matched. Built once per run in
O(routes of the table).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from axoc.kernel.table import Route, SignalTable, Unit


class Target(NamedTuple):
    """A route as the core uses it: the unit object itself, the weight, the latch key."""

    unit: Unit
    weight: float
    key: tuple[str, str | None]  # (event, source) of the route: counted once by a latched unit


_NONE: tuple[Target, ...] = ()


class RunIndex:
    __slots__ = (
        "_any",
        "_exact",
        "fed_by",
        "max_activations",
        "members",
        "once_units",
        "reactive_agents",
        "routes_of",
        "units",
        "workflow",
    )

    def __init__(self, table: SignalTable, workflow: str | None) -> None:
        self.workflow = workflow
        # Invariant: a unit is live in a run iff it belongs to the run's workflow or is reactive.
        self.units: dict[str, Unit] = {
            u.id: u for u in table.units if u.workflow in (workflow, None)
        }
        flow = table.workflow(workflow) if workflow is not None else None
        self.members = frozenset(flow.agents if flow else ())
        agents = len(table.agents)
        self.max_activations = flow.max_activations if flow else 3 * max(agents, 1)
        self.reactive_agents = frozenset(u.agent for u in self.units.values() if u.workflow is None)
        once: dict[str, list[Unit]] = defaultdict(list)
        for live in self.units.values():
            if live.once:
                once[live.agent].append(live)
        self.once_units = {agent: tuple(units) for agent, units in once.items()}
        exact: dict[str, dict[str, list[Target]]] = defaultdict(lambda: defaultdict(list))
        any_source: dict[str, list[Target]] = defaultdict(list)
        routes_of: dict[str, list[Route]] = defaultdict(list)
        fed_by: dict[str, set[str]] = defaultdict(set)
        for route in table.routes:
            unit = self.units.get(route.unit)
            if unit is None:
                continue
            routes_of[route.unit].append(route)
            target = Target(unit, route.weight, (route.event, route.source))
            if route.source is None:
                any_source[route.event].append(target)
            else:
                exact[route.event][route.source].append(target)
                if unit.once:
                    fed_by[route.source].add(unit.agent)
        # event → source → routes: a lookup allocates nothing and hashes two cached strings
        self._exact = {
            event: {source: tuple(routes) for source, routes in by_source.items()}
            for event, by_source in exact.items()
        }
        self._any = {key: tuple(routes) for key, routes in any_source.items()}
        self.routes_of = {unit: tuple(routes) for unit, routes in routes_of.items()}
        self.fed_by = {source: frozenset(agents) for source, agents in fed_by.items()}

    def listens(self, event: str) -> bool:
        """Whether any live unit has a route from `event`."""
        return event in self._exact or event in self._any

    def matching(self, event: str, source: str | None) -> tuple[Target, ...]:
        """Routes fed by `event` published by `source` (None: no particular source)."""
        by_source = self._exact.get(event)
        specific = by_source.get(source, _NONE) if by_source and source is not None else _NONE
        general = self._any.get(event, _NONE)
        if not specific:
            return general
        return specific + general if general else specific
