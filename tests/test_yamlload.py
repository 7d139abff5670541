"""The position-keeping loader: typing, positions, duplicates, merges, and a round-trip law."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from axoc.diagnostics import Span
from axoc.yamlload import LOADERS, parse


def load(text: str) -> tuple[Any, list[tuple[str, int, int]]]:
    doc, found = parse("f.yaml", text)
    return (doc.data if doc else None), [(d.code, d.span.line, d.span.column) for d in found]


def test_yaml_12_core_typing() -> None:
    data, found = load(
        "a: true\nb: False\nc: ~\nd: 0x1f\ne: 0o17\nf: -1.5e3\ng: .inf\nh: '5'\ni: 1_000\nj: 1:30\n"
    )
    assert data == {
        "a": True, "b": False, "c": None, "d": 31, "e": 15, "f": -1500.0,
        "g": math.inf, "h": "5", "i": "1_000", "j": "1:30",
    }  # fmt: skip
    # where a YAML 1.1 reader would disagree: 0o17, -1.5e3 (no dot) and 1_000, 1:30 (numbers)
    assert found == [("AX104", 5, 4), ("AX104", 6, 4), ("AX104", 9, 4), ("AX104", 10, 4)]


def test_yaml_11_booleans_are_strings_with_a_warning() -> None:
    data, found = load("enabled: yes\nother: Off\n'on': 1\non: 2\n")
    assert data == {"enabled": "yes", "other": "Off", "on": 1}  # the first of duplicates counts
    assert ("AX103", 1, 10) in found and ("AX103", 2, 8) in found and ("AX103", 4, 1) in found
    assert ("AX102", 4, 1) in found  # quoted 'on' and plain on are the same key


def test_version_and_octal_like_numbers_warn() -> None:
    data, found = load("a: 1.10\nb: 0755\nc: 1.0\nd: 0.5\n")
    assert data == {"a": 1.1, "b": 755, "c": 1.0, "d": 0.5}
    assert found == [("AX104", 1, 4), ("AX104", 2, 4)]


def test_duplicate_key_names_first_line() -> None:
    doc, found = parse("f.yaml", "agents: []\nx: 1\nagents: [a]\n")
    assert doc is not None and doc.data["agents"] == []
    assert [d.message for d in found] == ["duplicate key 'agents' (first defined on line 1)"]
    assert found[0].span == Span("f.yaml", 3, 1, 3, 7)
    assert found[0].path == ("agents",)


def test_spans_of_keys_and_values() -> None:
    doc, _ = parse("f.yaml", "agents:\n  - id: a\n    depends_on: [b, c]\n")
    assert doc is not None
    assert doc.span(("agents", 0, "depends_on", 1)) == Span("f.yaml", 3, 21, 3, 22)
    assert doc.span(("agents", 0, "depends_on"), key=True) == Span("f.yaml", 3, 5, 3, 15)
    # a missing path is located at its nearest existing ancestor
    assert doc.span(("agents", 0, "nope", 3)).line == 2


def test_merge_keys() -> None:
    doc, found = parse("f.yaml", "x-d: &d {p: 1, q: 2}\na:\n  <<: *d\n  q: 3\n")
    assert doc is not None and found == []
    assert doc.data["a"] == {"p": 1, "q": 3}
    assert doc.span(("a", "p")).line == 1  # found through the merge
    assert doc.span(("a", "q")).line == 4


def test_explicit_standard_tags() -> None:
    data, found = load("a: !!str 12\nb: !!float 3\nc: !!int '7'\n")
    assert data == {"a": "12", "b": 3.0, "c": 7}
    data, found = load("a: !!int nope\n")
    assert data is None and found == [("AX204", 1, 4)]


def test_scalar_text_is_the_text_as_written() -> None:
    doc, _ = parse("f.yaml", "a: 1.10\nb: [2]\nc: '1.10'\n")
    assert doc is not None
    assert doc.scalar_text(("a",)) == "1.10"
    assert doc.scalar_text(("b",)) is None
    assert doc.scalar_text(("c",)) == "1.10"


def test_spans_inside_strings() -> None:
    doc, _ = parse("f.yaml", "a: x and y\nb: 'x and y'\nc: |\n  x and y\n")
    assert doc is not None
    assert doc.span_in(("a",), 6, 1) == Span("f.yaml", 1, 10, 1, 11)
    assert doc.span_in(("b",), 6, 1) == Span("f.yaml", 2, 11, 2, 12)
    assert doc.span_in(("c",), 6, 1) == doc.span(("c",))  # block scalar: the whole value


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text("abcxyz_-", min_size=1, max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=5), json_like, max_size=5))
def test_round_trip_of_safe_dump(data: dict[str, Any]) -> None:
    """What PyYAML (a YAML 1.1 writer) writes, axoc (YAML 1.2 typing) reads back unchanged, or
    it flags the value where the two YAML versions disagree, such as `0E0` or `0o17`."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    doc, found = parse("f.yaml", text)
    assert doc is not None, found
    assert not [d for d in found if d.code not in ("AX103", "AX104")]
    flagged = {d.path[0] for d in found if d.path}
    for key, value in data.items():
        assert doc.data[key] == value or key in flagged, (key, value, doc.data[key])


def test_where_yaml_11_and_12_disagree_is_flagged() -> None:
    data, found = load("a: 0E0\nb: 0o17\nc: 1_000\nd: 1e+3\ne: 12\n")
    assert data == {"a": 0.0, "b": 15, "c": "1_000", "d": 1000.0, "e": 12}
    assert [(code, line) for code, line, _ in found] == [
        ("AX104", 1),
        ("AX104", 2),
        ("AX104", 3),
        ("AX104", 4),  # 1e+3: YAML 1.1 wants a dot in a float
    ]


TABBED = [
    ("agents:\n\t- id: a\n", 2, 1),  # a tab before a sequence item
    ("agents:\n  - id: a\n\tprovider: echo\n", 3, 1),  # a tab indenting a mapping key
    ("agents:\n  - id: a\n  -\tid: b\n", 3, 4),  # a tab after the dash
    ("a:\n  b: 1\n  \t c: 2\n", 3, 3),  # spaces, then a tab
]


@pytest.mark.parametrize("loader", sorted(LOADERS))  # libyaml does not name the character
def test_a_tab_in_indentation_gets_a_hint_pointing_at_it(loader: str) -> None:
    for text, line, column in TABBED:
        doc, found = parse("f.yaml", text, loader)
        assert doc is None, text
        (d,) = found
        assert (d.code, d.span.line, d.span.column) == ("AX101", line, column), text
        assert d.hint == "YAML indentation uses spaces, never tabs: replace this tab with spaces"


def test_other_syntax_errors_get_no_tab_hint() -> None:
    for text in ("a: [1, 2\nb: 3\n", "a: 'open\n", "a: b: c\n", "a:\tb\nc: d: e\n"):
        doc, found = parse("f.yaml", text)
        assert doc is None and found[0].code in ("AX101", "AX111"), text
        assert found[0].hint is None, text
