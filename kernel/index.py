"""Route lookup for one run: which units an event feeds, in time proportional to the answer.

In: a `SignalTable` and the workflow a run executes (None for a skill-fire run). Out: a
`RouteIndex` whose `matching(event, source)` returns the routes of the run's live units that the
event matches — routes naming that source and routes for any source — without looking at any
other route or unit. Built once per run in O(routes of the table).
"""

from __future__ import annotations

from collections import defaultdict

from axoc.kernel.table import Route, SignalTable

_NONE: tuple[Route, ...] = ()


class RouteIndex:
    __slots__ = ("_any", "_exact", "live")

    def __init__(self, table: SignalTable, workflow: str | None) -> None:
        # Invariant: a unit is live in a run iff it belongs to the run's workflow or is reactive.
        self.live = frozenset(u.id for u in table.units if u.workflow in (workflow, None))
        exact: dict[str, dict[str, list[Route]]] = defaultdict(lambda: defaultdict(list))
        any_source: dict[str, list[Route]] = defaultdict(list)
        for route in table.routes:
            if route.unit not in self.live:
                continue
            if route.source is None:
                any_source[route.event].append(route)
            else:
                exact[route.event][route.source].append(route)
        # event → source → routes: a lookup allocates nothing and hashes two cached strings
        self._exact = {
            event: {source: tuple(routes) for source, routes in by_source.items()}
            for event, by_source in exact.items()
        }
        self._any = {key: tuple(routes) for key, routes in any_source.items()}

    def matching(self, event: str, source: str | None) -> tuple[Route, ...]:
        """Routes fed by `event` published by `source` (None: no particular source)."""
        by_source = self._exact.get(event)
        specific = by_source.get(source, _NONE) if by_source and source is not None else _NONE
        general = self._any.get(event, _NONE)
        if not specific:
            return general
        return specific + general if general else specific
