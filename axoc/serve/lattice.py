"""The lattice as the dashboard draws it, and a run's live state on it.

In: a signal table and a workflow (the plan's, as `axoc plan --format mermaid|dot` draws it:
the same nodes and edges, `axoc.plan.graph`); a running driver's state. Out:
- `drawing(table, workflow)`: nodes (agents, per workflow, and the sources of their signals:
  input, events, skill fires, schedule ticks) placed in columns left to right — a node's column
  is the longest path to it, cycles (reactive loops) collapsed first so every graph has one —
  with each agent's units (id, kind, threshold θ) and the edges between nodes;
- `board(state, tokens)`: per agent its status (waiting, running, done, failed, skipped) and
  tokens, per unit its accumulated signal: the numbers the dashboard colours and fills.

Plain data (JSON-ready); the page (`static/`) turns it into SVG.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from axoc.kernel.core import RunState
from axoc.kernel.table import SignalTable
from axoc.plan import graph

NODE_W, NODE_H, GAP_X, GAP_Y = 170, 64, 90, 28


def drawing(table: SignalTable, workflow: str | None) -> dict[str, Any]:
    drawn = graph(table, workflow)
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for unit in table.units:
        if unit.workflow in (workflow, None) or workflow is None:
            node = drawn.node_of(unit.workflow or "", unit.agent)
            units[node].append({"id": unit.id, "kind": unit.kind, "threshold": unit.threshold})
    nodes: dict[str, dict[str, Any]] = {}
    for group, members in drawn.groups.items():
        for node, label in members:
            agent = label.split("\\n", 1)[0]
            nodes[node] = {"id": node, "label": agent, "agent": agent, "workflow": group or None,
                           "units": units.get(node, [])}  # fmt: skip
    for node, label in drawn.sources.items():
        nodes[node] = {"id": node, "label": label, "agent": None, "workflow": None, "units": []}
    edges = [{"from": a, "to": b, "label": label} for a, b, label in dict.fromkeys(drawn.edges)]
    columns = _columns(list(nodes), [(e["from"], e["to"]) for e in edges])
    rows: dict[int, int] = defaultdict(int)
    for node in sorted(nodes, key=lambda n: (columns[n], n)):
        column = columns[node]
        nodes[node]["x"] = column * (NODE_W + GAP_X)
        nodes[node]["y"] = rows[column] * (NODE_H + GAP_Y)
        rows[column] += 1
    width = (max(columns.values(), default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = max(rows.values(), default=1) * (NODE_H + GAP_Y) - GAP_Y
    size = {"width": NODE_W, "height": NODE_H}
    return {"workflow": workflow, "nodes": list(nodes.values()), "edges": edges, "node": size,
            "width": width, "height": height}  # fmt: skip


def _columns(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: the longest path to it, in the graph with its cycles collapsed."""
    directed: nx.DiGraph[str] = nx.DiGraph()
    directed.add_nodes_from(nodes)
    directed.add_edges_from(edges)
    dag = nx.condensation(directed)
    depth: dict[int, int] = {}
    for component in nx.topological_sort(dag):
        depth[component] = max((depth[p] + 1 for p in dag.predecessors(component)), default=0)
    mapping = dag.graph["mapping"]
    return {node: depth[mapping[node]] for node in nodes}


def board(state: RunState, tokens: dict[str, int]) -> dict[str, Any]:
    """The run's live numbers: agents' statuses, units' accumulated signals, tokens per agent."""
    return {
        "status": {agent: str(status) for agent, status in state.status.items()},
        "level": {unit: round(level, 6) for unit, level in state.level.items()},
        "activations": state.activations,
        "tokens": dict(tokens),
    }
