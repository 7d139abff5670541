"""`depends_on` cycles, each reported as a path `a → b → c → a` at the edge that closes it.

An arrow reads "depends on". Acyclic configs (the common case) are confirmed by `topological_order`,
Kahn's algorithm, which lowering also uses for its stable order; only when there is a cycle is
networkx imported to find every strongly connected component and one cycle in each, so a clean
`axoc check` does not pay networkx's import time. Each cycle starts at its agent defined first in
the file, so output is stable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from axoc.config import Config
from axoc.diagnostics import Diagnostic, error
from axoc.yamlload import Document

if TYPE_CHECKING:
    import networkx as nx


def dependency_cycles(doc: Document, config: Config) -> list[Diagnostic]:
    index: dict[str, int] = {}
    for i, agent in enumerate(config.agents):
        index.setdefault(agent.id, i)  # a duplicate id is AX301; its first definition counts
    graph = {a: [d for d in config.agents[i].depends_on if d in index] for a, i in index.items()}
    if topological_order(graph) is None:
        return _report(doc, index, graph)
    return []


def topological_order(depends_on: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Nodes with every dependency before its dependents, ties in the mapping's order; None when
    there is a cycle. Dependencies that are not keys of the mapping are ignored."""
    waiting = {node: 0 for node in depends_on}
    dependents: dict[str, list[str]] = {node: [] for node in depends_on}
    for node, deps in depends_on.items():
        for dep in deps:
            if dep in dependents:
                dependents[dep].append(node)
                waiting[node] += 1
    ready = deque(node for node, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for dependent in dependents[node]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    return order if len(order) == len(waiting) else None


def _report(doc: Document, index: dict[str, int], graph: dict[str, list[str]]) -> list[Diagnostic]:
    import networkx as nx

    digraph: nx.DiGraph[str] = nx.DiGraph()
    digraph.add_nodes_from(graph)
    digraph.add_edges_from((a, d) for a, deps in graph.items() for d in deps)
    out = []
    components = [c for c in nx.strongly_connected_components(digraph) if _cyclic(digraph, c)]
    for component in sorted(components, key=lambda c: min(index[a] for a in c)):
        start = min(component, key=index.__getitem__)
        edges = nx.find_cycle(digraph.subgraph(component), source=start)
        path = [edges[0][0], *(v for _, v in edges)]
        last, closing = path[-2], path[-1]
        where = ("agents", index[last], "depends_on", graph[last].index(closing))
        msg = f"dependency cycle: {' → '.join(path)}"
        hint = f"remove '{closing}' from the depends_on of '{last}', or break the cycle elsewhere"
        out.append(error("AX401", msg, doc.span(where), where, hint))
    return out


def _cyclic(digraph: nx.DiGraph[str], component: set[str]) -> bool:
    if len(component) > 1:
        return True
    (node,) = component
    return bool(digraph.has_edge(node, node))
