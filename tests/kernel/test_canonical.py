"""Writing plans: `axoc.kernel.canonical.Writer` against the writer it replaced — the plain form
of a value handed to `json.JSONEncoder` —, kept below as the reference definition of a plan's
bytes.

Every example and a config using every section, as compiled (agents sharing settings objects)
and as loaded back (nothing shared), give the reference's lines. Values a table can hold at run
time whatever its type hints say (an int where a float goes, -0.0, NaN, a str subclass, a
mapping, the same object twice, equal values of different types side by side) are written as the
reference writes them.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from axoc.kernel.canonical import Writer, added_fields
from axoc.kernel.table import (
    Budget,
    CoreBlock,
    Memory,
    Route,
    Sampling,
    SignalTable,
    Supervision,
    Unit,
)
from tests.kernel.test_table_load import EXAMPLES, compiled, write_every_section

# -- the reference: plain form, then the encoder (verbatim but for names) ----------------------

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SCALARS = frozenset({str, int, float, bool, type(None)})


def reference_plain(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple or kind is list:
        return [reference_plain(item) for item in value]
    if dataclasses.is_dataclass(kind):
        names = [
            f.name
            for f in dataclasses.fields(kind)
            if not f.name.startswith("_")
            and f.name != "format"
            # a field added after format 1 is left out while it holds its default
            and not (f.metadata.get("axoc.added") and getattr(value, f.name) == f.default)
        ]
        return {name: reference_plain(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(k): reference_plain(v) for k, v in sorted(value.items())}
    return value


def reference_lines(table: SignalTable) -> list[str]:
    names = [f.name for f in dataclasses.fields(SignalTable)]
    names = [n for n in names if not n.startswith("_") and n != "format"]
    # a field added after format 1 is left out while at its default (`canonical.added`)
    defaults = dict(added_fields(SignalTable))
    names = [n for n in names if n not in defaults or getattr(table, n) != defaults[n]]
    lines = []
    for n, name in enumerate(names):
        value = reference_plain(getattr(table, name))
        comma = "," if n < len(names) - 1 else ""
        if isinstance(value, list) and value:
            last = len(value) - 1
            lines.append(f'"{name}": [')
            lines += [_ENCODER.encode(e) + ("," if i < last else "") for i, e in enumerate(value)]
            lines.append("]" + comma)
        else:
            lines.append(f'"{name}": {_ENCODER.encode(value)}{comma}')
    lines.append("}\n")
    return lines


def assert_written_as_the_reference_writes_it(table: SignalTable) -> None:
    body = "\n".join(reference_lines(table))
    assert table.to_json().split("\n", 3)[3] == body
    assert table.digest == "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


# -- tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_written_as_the_reference_writes_it(example: Path) -> None:
    table = compiled(example)
    assert_written_as_the_reference_writes_it(table)
    assert_written_as_the_reference_writes_it(SignalTable.from_json(table.to_json()))


def test_every_section_is_written_as_the_reference_writes_it(tmp_path: Path) -> None:
    table = compiled(write_every_section(tmp_path))
    assert_written_as_the_reference_writes_it(table)
    assert_written_as_the_reference_writes_it(SignalTable.from_json(table.to_json()))


def test_agents_without_settings_of_their_own_share_one_spec_of_each(tmp_path: Path) -> None:
    path = tmp_path / "shared.axoc.yaml"
    path.write_text(
        "agents:\n  - {id: a, provider: echo}\n  - {id: b, provider: echo}\n"
        "  - {id: c, provider: echo, sampling: {temperature: 0.5}}\n",
        encoding="utf-8",
    )
    a, b, c = compiled(path).agents
    assert a.budget is b.budget and a.memory is b.memory and a.sampling is b.sampling
    assert c.sampling is not a.sampling and c.sampling.temperature == 0.5
    assert c.budget is a.budget


# -- values ----------------------------------------------------------------------------------


class Word(enum.StrEnum):
    A = "a"


BLOCK = CoreBlock("persona", 'é"\n\u2028', 1, False, "")
ODD: list[Any] = [
    Unit("u\u00e9", "a", "entry", 1, -0.0, None, True, 1, float("nan"), Word.A, None),
    Route("E", None, "u", float("inf")),
    Route("E", "s", "u", -float("inf")),
    Budget(True, 2.5, "warn"),
    Memory(1, True, 0.0, (BLOCK, BLOCK)),
    (BLOCK, [BLOCK, (1, 1.0, True, None)]),
    {"b": 1, "a": [1.0, -0.0, {"z": Sampling()}]},
    Supervision(),
    10**30,
    1e300,
    1e-7,
    "",
    [],
]


@pytest.mark.parametrize("value", ODD, ids=[type(v).__name__ for v in ODD])
def test_values_of_any_runtime_type_are_written_as_the_reference_writes_them(value: Any) -> None:
    assert Writer().write(value) == _ENCODER.encode(reference_plain(value))


def test_equal_values_of_different_types_are_not_mixed_up() -> None:
    """1 == 1.0 == True and 0.0 == -0.0, but each is written as what it is, even when one is
    written first and the other is equal to it."""
    writer = Writer()
    values = [
        Memory(True, 1, 0.0, ()),
        Memory(True, True, -0.0, ()),
        Memory(True, 1.0, 0.0, ()),  # type: ignore[arg-type]
    ]
    for value in values:
        for outer in (value, Unit("u", "a", "entry", 1.0, 0.0, skill=value)):  # type: ignore[arg-type]
            assert writer.write(outer) == _ENCODER.encode(reference_plain(outer))
