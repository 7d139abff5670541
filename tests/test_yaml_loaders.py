"""The loader's guards hold whichever YAML composer parses: libyaml (`c`) or PyYAML's pure-Python
one (`python`, used where PyYAML was built without libyaml). libyaml's own limits change between
PyYAML releases (6.0.4 gave up at 1,000 block levels with a syntax error); the guards do not
depend on them, so each hostile input gets the same located diagnostic from both composers."""

from __future__ import annotations

import pytest

from axoc.yamlload import DEEP_COLUMN, LOADERS, MAX_DEPTH, parse

LOADER_NAMES = sorted(LOADERS)


def test_both_composers_are_available_here() -> None:
    # PyPI's PyYAML wheels carry libyaml; the pure-Python composer is always there.
    assert LOADER_NAMES == ["c", "python"]


def codes(text: str, loader: str) -> list[tuple[str, int, int, str]]:
    _, found = parse("f.yaml", text, loader)
    return [(d.code, d.span.line, d.span.column, d.message) for d in found]


def block(depth: int) -> str:
    """`depth` mappings, each indented one column more than its parent."""
    return "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "v\n"


@pytest.mark.parametrize("loader", LOADER_NAMES)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 2000, 20_000])
def test_deep_block_nesting(loader: str, depth: int) -> None:
    found = codes(block(depth), loader)
    # the first mapping too deep is the value of k100, on line 102 (the root mapping is level 0)
    assert found == [
        ("AX108", MAX_DEPTH + 2, MAX_DEPTH + 2, f"nested deeper than {MAX_DEPTH} levels")
    ]


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_deep_compact_sequences(loader: str) -> None:
    """`- - - - x`: nesting on one line, without indentation."""
    text = "agents:\n" + "- " * 3000 + "x\n"
    found = codes(text, loader)
    assert [f[0] for f in found] == ["AX108"]
    assert found[0][1] == 2


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_block_and_flow_nesting_combined(loader: str) -> None:
    """Block nesting just under the indentation bound, then flow nesting just under the flow
    bound: together deeper than either composer manages on its own."""
    levels = DEEP_COLUMN - 1
    text = "".join(" " * i + f"k{i}:\n" for i in range(levels))
    text += " " * levels + "x: " + "[" * 990 + "]" * 990 + "\n"
    found = codes(text, loader)
    assert [f[0] for f in found] == ["AX108"]


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_nesting_at_the_limit_is_accepted(loader: str) -> None:
    doc, found = parse("f.yaml", block(MAX_DEPTH), loader)
    assert found == [] and doc is not None


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_deeply_indented_text_is_not_nesting(loader: str) -> None:
    """A block scalar whose lines are indented far (code in a prompt) takes the exact path and
    passes it: indentation alone is not depth."""
    lines = "".join(" " * (DEEP_COLUMN + i) + f"line {i}\n" for i in range(50))
    doc, found = parse("f.yaml", "prompt: |\n" + lines, loader)
    assert found == [] and doc is not None
    assert doc.data["prompt"].count("\n") == 50


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_deep_flow_nesting(loader: str) -> None:
    found = codes("agents: " + "[" * 5000 + "]" * 5000 + "\n", loader)
    assert [f[0] for f in found] == ["AX108"]
    assert found[0][1] == 1


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_alias_bomb(loader: str) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    assert [f[0] for f in codes("\n".join(lines) + "\n", loader)] == ["AX107"]


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_same_data_and_positions(loader: str) -> None:
    text = "agents:\n  - id: a   # comment\n    model: 'm'\n    depends_on: [b, c]\nx: yes\n"
    doc, found = parse("f.yaml", text, loader)
    assert doc is not None
    assert doc.data == {"agents": [{"id": "a", "model": "m", "depends_on": ["b", "c"]}], "x": "yes"}
    assert doc.span(("agents", 0, "depends_on", 1)).column == 21
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("AX103", 5, 4)]


@pytest.mark.parametrize("loader", LOADER_NAMES)
def test_syntax_errors_are_located(loader: str) -> None:
    found = codes("agents:\n  - id: a\n\tmodel: m\n", loader)
    assert [(f[0], f[1]) for f in found] == [("AX101", 3)]
