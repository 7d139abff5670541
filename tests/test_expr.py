"""Activation expressions: parsing, errors located inside the text, and the lowering law —
the lowered threshold units fire exactly when the expression holds, for every set of arrivals."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Token, Tree

from axoc.expr import ExprError, Term, _parser, lower, parse

AGENTS = ("a", "b", "c", "d", "e", "f", "g", "h")
STRENGTH = {"TaskCompleted": 0.5, "AgentFailed": 0.8}


def resolve(
    name: str, source: str | None, offset: int, length: int
) -> tuple[str, str | None, float]:
    if source is None:
        if name not in AGENTS:
            raise ExprError(f"unknown agent or event '{name}'", offset, length)
        return "TaskCompleted", name, STRENGTH["TaskCompleted"]
    return name, source, STRENGTH.get(name, 0.5)


def holds(tree: Tree[Token] | Token, arrived: set[tuple[str, str | None]]) -> bool:
    """The boolean meaning of a parse tree (weights play no part in it)."""
    assert isinstance(tree, Tree)
    kids = tree.children
    if tree.data == "disj":
        return any(holds(k, arrived) for k in kids)
    if tree.data == "conj":
        return all(holds(k, arrived) for k in kids)
    if tree.data == "call":
        values = [holds(k, arrived) for k in kids[1:]]
        return all(values) if str(kids[0]) == "all" else any(values)
    if tree.data == "kof":
        return sum(holds(k, arrived) for k in kids[1:]) >= int(str(kids[0]))
    if tree.data == "weighted":
        return holds(kids[0], arrived)
    assert tree.data == "atom"
    name, *source = (str(k) for k in kids)
    key = (name, source[0]) if source else ("TaskCompleted", name)
    return key in arrived


def fires(terms: list[Term], arrived: set[tuple[str, str | None]]) -> bool:
    return any(
        sum(a.weight for a in t.atoms if (a.event, a.source) in arrived) >= t.threshold - 1e-9
        for t in terms
    )


def atoms_of(tree: Tree[Token]) -> set[tuple[str, str | None]]:
    found = set()
    for atom in tree.find_data("atom"):
        name, *source = (str(k) for k in atom.children)
        found.add((name, source[0]) if source else ("TaskCompleted", name))
    return found


grammar_sentences = from_lark(
    _parser(),
    explicit={
        "NAME": st.sampled_from(AGENTS[:4]),
        "FUNC": st.sampled_from(["all", "any"]),
        "INT": st.sampled_from(["1", "2", "3"]),
        "NUMBER": st.sampled_from(["1", "1.5", "2", "0.5"]),
        "AND": st.just(" and "),
        "OR": st.just(" or "),
        "OF": st.just(" of "),
        "__IGNORE_0": st.sampled_from([" ", "\n  "]),
    },
)


# from_lark discards most of its draws while building sentences (that is how it generates,
# not a filter of ours), which makes it slow: a few dozen sentences prove robustness, and the
# bounded generator below carries the semantic law.
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(grammar_sentences)
def test_any_sentence_of_the_grammar_lowers_or_is_rejected_with_a_location(text: str) -> None:
    try:
        terms = lower(text, resolve)
    except ExprError as exc:
        assert 0 <= exc.offset <= len(text) and exc.length >= 1
        return
    assert terms and all(t.threshold > 0 and t.atoms for t in terms)


expressions_leaf = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "AgentFailed(a)", "AgentFailed(c)"]),
    st.sampled_from(["", "", " * 1.5", " * 2"]),
).map("".join)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    items = st.lists(children, min_size=1, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(children, children).map(lambda p: f"{p[0]} and {p[1]}"),
        st.tuples(children, children).map(lambda p: f"{p[0]} or {p[1]}"),
        st.tuples(children, children).map(lambda p: f"({p[0]}) and ({p[1]})"),
        items.map(lambda x: f"all({x})"),
        items.map(lambda x: f"any({x})"),
        st.tuples(st.integers(1, 3), items).map(lambda t: f"{t[0]} of ({t[1]})"),
    )


expressions = st.recursive(expressions_leaf, _extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_lowering_fires_exactly_when_the_expression_holds(text: str) -> None:
    """For every set of arrived events, some lowered unit reaches its threshold exactly when
    the expression (as the grammar parses it) holds."""
    tree = parse(text)
    try:
        terms = lower(text, resolve)
    except ExprError as exc:
        # Rejected only for a reason a user can act on, located inside the text.
        assert exc.message.startswith("expands into") or " of (" in exc.message, exc.message
        assert 0 <= exc.offset <= len(text)
        return
    assert terms and all(t.threshold > 0 for t in terms)
    for arrived in arrivals(sorted(atoms_of(tree), key=str)):
        assert fires(terms, arrived) == holds(tree, arrived), (text, arrived)


def arrivals(universe: list[tuple[str, str | None]]) -> list[set[tuple[str, str | None]]]:
    """Every subset of up to 8 atoms; beyond that the empty, the full, all singletons and
    pairs, and 200 seeded random subsets."""
    if len(universe) <= 8:
        return [
            set(c) for n in range(len(universe) + 1) for c in itertools.combinations(universe, n)
        ]
    rng = random.Random(len(universe))
    found: list[set[tuple[str, str | None]]] = [set(), set(universe)]
    found += [set(c) for n in (1, 2) for c in itertools.combinations(universe, n)]
    found += [{a for a in universe if rng.random() < 0.5} for _ in range(200)]
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all(a, b)", [(1.0, 2)]),
        ("any(a, b)", [(0.5, 2)]),
        ("2 of (a, b, c)", [(1.0, 3)]),
        ("a and any(b, c)", [(1.0, 2), (1.0, 2)]),
        ("(a and b) or (c and d)", [(1.0, 2), (1.0, 2)]),
        ("AgentFailed(a)", [(0.8, 1)]),
        ("a * 1.5 and b", [(1.25, 2)]),
        ("any(a, AgentFailed(b))", [(0.5, 2)]),
        ("a and a", [(0.5, 1)]),
    ],
)
def test_lowering_table(text: str, expected: list[tuple[float, int]]) -> None:
    terms = lower(text, resolve)
    assert [(t.threshold, len(t.atoms)) for t in terms] == expected


@pytest.mark.parametrize(
    ("text", "message", "offset", "length"),
    [
        ("all(a, b", "unexpected end of expression: a '(' is not closed", 8, 1),
        ("a and and b", "unexpected 'and', expected '(' or a name or a number or all/any", 6, 3),
        ("a ? b", "unexpected character '?'", 2, 1),
        ("5 of (a, b)", "5 of (2 items) can never hold; k must be 1 to 2", 0, 1),
        ("2 of (a)", "2 of (1 item) can never hold; k must be 1 to 1", 0, 1),
        ("a * 0", "weight 0 must be a positive number up to 1e6", 4, 1),
        ("a * 9999999", "weight 9999999 must be a positive number up to 1e6", 4, 7),
        ("all(a, zz)", "unknown agent or event 'zz'", 7, 2),
        ("a or", "unexpected end of expression", 4, 1),
        ("(a and b", "unexpected end of expression: a '(' is not closed", 8, 1),
        ("a b", "unexpected 'b', expected", 2, 1),
    ],
)
def test_errors_point_inside_the_text(text: str, message: str, offset: int, length: int) -> None:
    with pytest.raises(ExprError) as caught:
        lower(text, resolve)
    assert caught.value.message.startswith(message)
    assert (caught.value.offset, caught.value.length) == (offset, length)


def test_expansion_is_bounded() -> None:
    with pytest.raises(ExprError, match="expands into"):
        lower("2 of (a * 2, b, c, d, e) and 2 of (e * 2, f, g, h)", resolve)


def test_keywords_are_not_names() -> None:
    with pytest.raises(ExprError):
        lower("all(and, b)", resolve)
    assert (
        lower("anyway and allison", lambda n, s, o, k: ("TaskCompleted", n, 0.5))[0].threshold
        == 1.0
    )
