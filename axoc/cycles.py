"""`depends_on` cycles, each reported as a path `a → b → c → a` at the edge that closes it.

An arrow reads "depends on". Acyclic configs (the common case) are confirmed by one pass when
every agent depends only on agents defined above it, else by `topological_order`, Kahn's
algorithm, which lowering also uses for its stable order; only when there is a cycle is
networkx imported to find every strongly connected component and one cycle in each, so a clean
`axoc check` does not pay networkx's import time. Each cycle starts at its agent defined first in
the file, so output is stable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from axoc.config import Config
from axoc.diagnostics import Diagnostic, error
from axoc.yamlload import Document

if TYPE_CHECKING:
    import networkx as nx


def dependency_cycles(doc: Document, config: Config) -> list[Diagnostic]:
    if _defined_first(config):
        return []
    index: dict[str, int] = {}
    for i, agent in enumerate(config.agents):
        index.setdefault(agent.id, i)  # a duplicate id is AX301; its first definition counts
    graph = {a: [d for d in config.agents[i].depends_on if d in index] for a, i in index.items()}
    if topological_order(graph) is None:
        return _report(doc, index, graph)
    return []


def _defined_first(config: Config) -> bool:
    """Whether every agent depends only on agents defined above it (as configs are mostly
    written): then every arrow points up the file and none can close a cycle. One set lookup
    per dependency, in C, without building the graph or ordering it. An unknown dependency (an
    error of its own) or a repeated definition may answer False: the graph then decides."""
    above: set[str] = set()
    for agent in config.agents:
        if not above.issuperset(agent.depends_on):
            return False
        above.add(agent.id)
    return True


def topological_order(depends_on: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Nodes with every dependency before its dependents, ties in the mapping's order; None when
    there is a cycle. Dependencies that are not keys of the mapping are ignored."""
    waiting: dict[str, int] = {}  # node → how many of its dependencies are not ordered yet
    dependents: dict[str, list[str]] = {node: [] for node in depends_on}
    for node, deps in depends_on.items():
        count = 0
        for dep in deps:
            found = dependents.get(dep)
            if found is not None:
                found.append(node)
                count += 1
        waiting[node] = count
    # `order` is also the queue of Kahn's algorithm: read from the front as it grows at the end.
    order = [node for node, count in waiting.items() if count == 0]
    for node in order:
        for dependent in dependents[node]:
            left = waiting[dependent] - 1
            waiting[dependent] = left
            if left == 0:
                order.append(dependent)
    return order if len(order) == len(waiting) else None


def cycles(
    edges: Mapping[str, Iterable[str]], rank: Callable[[str], Any] = str
) -> list[tuple[frozenset[str], list[str]]]:
    """Every self-loop as a cycle `a → a`, then one cycle per strongly connected component of the
    rest (self-loops left out, so a longer cycle through a looping node is found too): the
    component and a path `start → … → start`, rotated to start at its lowest-ranked node; in
    rank order. Imports networkx: call it only once a cycle is known or likely."""
    import networkx as nx

    digraph: nx.DiGraph[str] = nx.DiGraph()
    digraph.add_nodes_from(edges)
    digraph.add_edges_from((a, b) for a, targets in edges.items() for b in targets if a != b)
    found = [(rank(a), frozenset([a]), [a, a]) for a, targets in edges.items() if a in set(targets)]
    for component in nx.strongly_connected_components(digraph):
        if len(component) == 1:
            continue
        start = min(component, key=rank)
        loop = [u for u, _ in nx.find_cycle(digraph.subgraph(component), source=start)]
        first = min(range(len(loop)), key=lambda i: rank(loop[i]))
        path = [*loop[first:], *loop[:first], loop[first]]
        found.append((rank(path[0]), frozenset(component), path))
    found.sort(key=lambda item: item[0])
    return [(component, path) for _, component, path in found]


def _report(doc: Document, index: dict[str, int], graph: dict[str, list[str]]) -> list[Diagnostic]:
    out = []
    for _, path in cycles(graph, rank=index.__getitem__):
        last, closing = path[-2], path[-1]
        where = ("agents", index[last], "depends_on", graph[last].index(closing))
        msg = f"dependency cycle: {' → '.join(path)}"
        hint = f"remove '{closing}' from the depends_on of '{last}', or break the cycle elsewhere"
        out.append(error("AX401", msg, doc.span(where), where, hint))
    return out
