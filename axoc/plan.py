"""Render a signal table for people: a text table for review, Mermaid and Graphviz diagrams,
and a semantic diff between two tables. Diagrams leave out the manual-fire route of skills that
react to events (every skill has one; the text and JSON plans show it), to keep chains legible.

In: a `SignalTable` (optionally restricted to one workflow). Out: strings. Deterministic: the
same table gives the same text. Agents are nodes labelled with their units' θ; routes are
edges labelled with event and weight; an event from any source is drawn as an event node fed
by the agents whose skills emit it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass

from axoc.kernel.table import Route, SignalTable, Unit
from axoc.wording import plural


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _pattern(route: Route) -> str:
    return f"{route.event}({route.source})" if route.source else route.event


def _select(table: SignalTable, workflow: str | None) -> tuple[list[str], list[Unit]]:
    flows = [workflow] if workflow else [w.id for w in table.workflows]
    units = [u for u in table.units if u.workflow in (*flows, None)]
    return flows, units


def _routes_by_unit(table: SignalTable) -> dict[str, list[Route]]:
    found: dict[str, list[Route]] = defaultdict(list)
    for route in table.routes:
        found[route.unit].append(route)
    return found


# --- text ----------------------------------------------------------------------------------------


def render_text(table: SignalTable, workflow: str | None = None) -> str:
    flows, units = _select(table, workflow)
    routes = _routes_by_unit(table)
    out = [f"signal table {table.digest[:19]}  ({table.format})", ""]
    for flow_id in flows:
        flow = table.workflow(flow_id)
        budget = f", token_budget {flow.token_budget}" if flow.token_budget else ""
        out.append(f"workflow {flow.id}: {plural(len(flow.agents), 'agent')}, max_activations "
                   f"{flow.max_activations}{budget}")  # fmt: skip
        out.append(
            f"  entry: {', '.join(flow.entry) or '-'}   sinks: {', '.join(flow.sinks) or '-'}"
        )
        rows = [u for u in units if u.workflow == flow_id]
        order = {a: i for i, a in enumerate(flow.agents)}
        rows.sort(key=lambda u: (order.get(u.agent, len(order)), u.id))
        out += _unit_table(rows, routes, prefix=f"{flow_id}/")
        out.append("")
    if not table.workflows:
        out += _standalone(table)
    reactive = [u for u in units if u.workflow is None]
    if reactive:
        out.append("reactive units (live in every run)")
        out += _unit_table(reactive, routes, prefix="")
        out.append("")
    return "\n".join(out)


def _standalone(table: SignalTable) -> list[str]:
    """A config without workflows: its agents (each runs alone with `--agent`) and skills
    (each fires with `--fire`), so the plan shows what there is to run."""
    out = []
    if table.agents:
        out.append("agents (no workflow: run one alone with axoc run FILE --agent ID)")
        rows = [("agent", "provider", "model", "budget per call / per activation")]
        for a in table.agents:
            per_execution = a.budget.per_execution or "-"
            rows.append(
                (a.id, a.provider, a.model or "-", f"{a.budget.per_call} / {per_execution}")
            )
        out += _columns(rows)
        out.append("")
    if table.skills:
        out.append("skills (fire one with axoc run FILE --fire ID)")
        rows = [("skill", "holders", "reacts to", "emits")]
        for skill in table.skills:
            holders, reacts = ", ".join(skill.holders) or "-", ", ".join(skill.reacts_to) or "-"
            rows.append((skill.id, holders, reacts, ", ".join(skill.emits) or "-"))
        out += _columns(rows)
        out.append("")
    return out


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Rows aligned in columns, two spaces apart; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  "
        + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    ]


def _unit_table(units: list[Unit], routes: dict[str, list[Route]], prefix: str) -> list[str]:
    rows = [("unit", "θ", "λ", "inputs")]
    for unit in units:
        inputs = ", ".join(f"{_pattern(r)} ×{num(r.weight)}" for r in routes[unit.id]) or "-"
        flags = [f"cooldown {num(unit.cooldown)}s"] if unit.cooldown else []
        label = unit.id.removeprefix(prefix) + (f" ({', '.join(flags)})" if flags else "")
        rows.append((label, num(unit.threshold), num(unit.decay), inputs))
    return _columns(rows)


# --- diagrams ------------------------------------------------------------------------------------


def _node(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "__".join(parts))


class _Graph:
    """Nodes and labelled edges shared by the Mermaid and DOT renderers."""

    def __init__(self, table: SignalTable, workflow: str | None) -> None:
        self.flows, units = _select(table, workflow)
        routes = _routes_by_unit(table)
        self.groups: dict[str, list[tuple[str, str]]] = {f: [] for f in self.flows}
        self.groups[""] = []
        self.sources: dict[str, str] = {}  # extra nodes: events, fires, ticks, input
        self.edges: list[tuple[str, str, str]] = []
        emitters: dict[str, set[str]] = defaultdict(set)
        for skill in table.skills:
            for event in skill.emits:
                emitters[event] |= set(skill.holders)
        for spec in table.agents:  # with the emit tool
            for event in spec.emits:
                emitters[event].add(spec.id)
        by_agent: dict[tuple[str, str], list[Unit]] = defaultdict(list)
        for unit in units:
            by_agent[(unit.workflow or "", unit.agent)].append(unit)
        for (group, agent), agent_units in sorted(by_agent.items()):
            thetas = " / ".join(num(u.threshold) for u in agent_units)
            self.groups[group].append((_node(group, agent), f"{agent}\\nθ {thetas}"))
        reactive_skills = {s.id for s in table.skills if s.reacts_to}
        for unit in units:
            group = unit.workflow or ""
            target = _node(group, unit.agent)
            for route in routes[unit.id]:
                if route.event == "SkillFired" and route.source in reactive_skills:
                    continue  # drawn from the events it reacts to; the manual fire is in the table
                self.edges.append((self._source(route, group, by_agent, emitters), target,
                                   f"{route.event} ×{num(route.weight)}"))  # fmt: skip
        self.edges.sort()

    def _source(
        self, route: Route, group: str, by_agent: dict[tuple[str, str], list[Unit]],
        emitters: dict[str, set[str]],
    ) -> str:  # fmt: skip
        if route.event == "UserInput":
            return self._extra("input", "input")
        if route.event == "SkillFired":
            return self._extra(_node("fire", route.source or ""), f"fire {route.source}")
        if route.event == "ScheduleTick":
            return self._extra(_node("tick", route.source or ""), f"schedule {route.source}")
        if route.source is not None:
            home = group if (group, route.source) in by_agent else ""
            if (home, route.source) not in by_agent:
                return self._extra(_node("agent", route.source), route.source)
            return _node(home, route.source)
        node = self._extra(_node("event", route.event), route.event)
        for agent in sorted(emitters.get(route.event, ())):
            # the emitter as a reactive unit, or in this route's workflow; for a reactive
            # route, in every workflow it is part of
            homes = [g for g in ("", group) if (g, agent) in by_agent][:1]
            if not homes and group == "":
                homes = [g for g in self.flows if (g, agent) in by_agent]
            for home in homes:
                self.edges.append((_node(home, agent), node, "emits"))
        return node

    def _extra(self, node: str, label: str) -> str:
        self.sources.setdefault(node, label)
        return node

    def node_of(self, group: str, agent: str) -> str:
        """The node of `agent` in workflow `group` ("" for reactive units)."""
        return _node(group, agent)


def graph(table: SignalTable, workflow: str | None = None) -> _Graph:
    """The nodes and labelled edges the diagrams draw (the dashboard's too)."""
    return _Graph(table, workflow)


def render_mermaid(table: SignalTable, workflow: str | None = None) -> str:
    graph = _Graph(table, workflow)
    out = ["flowchart LR"]  # left to right: in top-to-bottom layouts edge labels collide
    for group, nodes in graph.groups.items():
        if not nodes:
            continue
        indent = "  "
        if group:
            out.append(f'  subgraph {_node("wf", group)}["workflow {group}"]')
            indent = "    "
        out += [
            f'{indent}{node}["{label.replace(chr(92) + "n", "<br/>")}"]' for node, label in nodes
        ]
        if group:
            out.append("  end")
    out += [f'  {node}(["{label}"])' for node, label in sorted(graph.sources.items())]
    out += [f'  {a} -->|"{label}"| {b}' for a, b, label in dict.fromkeys(graph.edges)]
    return "\n".join(out) + "\n"


def render_dot(table: SignalTable, workflow: str | None = None) -> str:
    graph = _Graph(table, workflow)
    out = ["digraph lattice {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for group, nodes in graph.groups.items():
        if not nodes:
            continue
        if group:
            out.append(f'  subgraph cluster_{_node(group)} {{ label="workflow {group}";')
        out += [f'    {node} [label="{label}"];' for node, label in nodes]
        if group:
            out.append("  }")
    out += [
        f'  {node} [label="{label}", shape=ellipse];'
        for node, label in sorted(graph.sources.items())
    ]
    out += [f'  {a} -> {b} [label="{label}"];' for a, b, label in dict.fromkeys(graph.edges)]
    out.append("}")
    return "\n".join(out) + "\n"


# --- semantic diff -------------------------------------------------------------------------------


def diff(old: SignalTable, new: SignalTable) -> list[str]:
    """Human-readable changes from `old` to `new`: `+` added, `-` removed, `~` changed."""
    out: list[str] = []
    out += _diff_records("unit", old.units, new.units, lambda u: u.id)
    out += _diff_records(
        "route",
        old.routes,
        new.routes,
        lambda r: f"{_pattern(r)} → {r.unit}",
        ("event", "source", "unit"),
    )
    out += _diff_records("agent", old.agents, new.agents, lambda a: a.id)
    out += _diff_records("workflow", old.workflows, new.workflows, lambda w: w.id)
    out += _diff_records("skill", old.skills, new.skills, lambda s: s.id)
    out += _diff_records("provider", old.providers, new.providers, lambda p: p.name)
    out += _diff_records("tool", old.tools, new.tools, lambda t: t.id)
    out += _diff_records("schedule", old.schedules, new.schedules, lambda s: s.id)
    out += _diff_records("proactive", old.proactive, new.proactive, lambda p: p.id)
    out += _diff_records("MCP server", old.mcp_servers, new.mcp_servers, lambda s: s.name)
    for event in sorted(set(old.event_weights) | set(new.event_weights)):
        before, after = old.event_weights.get(event), new.event_weights.get(event)
        if before != after:
            out.append(f"~ event weight {event}: {num(before)} → {num(after)}")
    return out


def _diff_records(
    kind: str,
    old: Iterable[object],
    new: Iterable[object],
    key: object,
    identity: tuple[str, ...] = (),
) -> list[str]:
    keyed_old = {key(item): item for item in old}  # type: ignore[operator]
    keyed_new = {key(item): item for item in new}  # type: ignore[operator]
    out = []
    for name in sorted(keyed_old.keys() - keyed_new.keys()):
        out.append(f"- {kind} {name}")
    for name in sorted(keyed_new.keys() - keyed_old.keys()):
        out.append(f"+ {kind} {name}{_summary(keyed_new[name])}")
    for name in sorted(keyed_old.keys() & keyed_new.keys()):
        before, after = keyed_old[name], keyed_new[name]
        if before == after:
            continue
        changes = _changes("", before, after, identity)
        out.append(f"~ {kind} {name}: {'; '.join(changes)}")
    return out


def _changes(prefix: str, before: object, after: object, skip: tuple[str, ...] = ()) -> list[str]:
    """Changed fields, descending into nested records: `budget.per_call 1000 → 2000`."""
    if not (is_dataclass(before) and is_dataclass(after)):
        return [f"{prefix} {_show(before)} → {_show(after)}"]
    out = []
    for f in fields(before):
        a, b = getattr(before, f.name), getattr(after, f.name)
        if f.name not in skip and a != b:
            out += _changes(f"{prefix}{f.name}" if not prefix else f"{prefix}.{f.name}", a, b)
    return out


def _summary(item: object) -> str:
    if isinstance(item, Unit):
        return f" (θ {num(item.threshold)}, λ {num(item.decay)})"
    if isinstance(item, Route):
        return f" (×{num(item.weight)})"
    return ""


def _show(value: object) -> str:
    if isinstance(value, float):
        return num(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "…")
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
