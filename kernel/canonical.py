"""Writing a table's values as compact JSON text: a writer per type, composed once per table.

In: values of a signal table — frozen dataclasses, tuples, mappings, str, int, float, bool,
None. Out: each value's compact JSON text, exactly what
`json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))` writes for its plain form:
dataclasses as objects in field order (private fields and `format` left out), tuples as lists,
mappings sorted by key; a field `added` to a type after format 1 was published is left out
while it holds its default, so a table that does not use it keeps the text and the digest
it had before the field existed (a plan saved by an earlier axoc still reads, and matches its
digest). `axoc.kernel.table` writes one such text per line of a plan and takes
the plan's digest over them, so this is what writing a plan, and checking the digest of one
read back, costs.

Guaranteed: the text never depends on how it was produced — a value is written as the encoder
writes its plain form, whatever its runtime type (a value of a type without a writer here is
handed to the encoder itself). A dataclass value met again inside another (agents share their
budget, sampling, supervision and memory settings when the config does) is written once and its
text reused: the writer is made for one table, and the table is immutable. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

_Write = Callable[[Any], str]

# The encoder of every value this module has no writer for; `json.dumps` with these options
# would build an equal one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_FIELDS: dict[type, tuple[str, ...]] = {}
_ADDED: dict[type, tuple[tuple[str, Any], ...]] = {}
_ADDED_KEY = "axoc.added"


def added(default: Any) -> Any:
    """A dataclass field added after format 1: `field: T = added(default)`. Written only when
    its value differs from `default`, which must be immutable."""
    return dataclasses.field(default=default, metadata={_ADDED_KEY: True})


def added_fields(kind: type) -> tuple[tuple[str, Any], ...]:
    """(name, default) of the `added` fields of dataclass `kind`."""
    found = _ADDED.get(kind)
    if found is None:
        found = _ADDED[kind] = tuple(
            (f.name, f.default) for f in dataclasses.fields(kind) if f.metadata.get(_ADDED_KEY)
        )
    return found


def public_fields(kind: type) -> tuple[str, ...]:
    """The fields of dataclass `kind` that a plan holds: not private, not `format`."""
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if not f.name.startswith("_") and f.name != "format"
        )
    return names


def plain(value: Any) -> Any:
    """Dataclasses to dicts in field order (private fields and `format` left out); mappings
    sorted by key; tuples to lists. The form the encoder writes."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple or kind is list:
        return [plain(item) for item in value]
    if dataclasses.is_dataclass(kind):
        written = {name: plain(getattr(value, name)) for name in public_fields(kind)}
        for name, default in added_fields(kind):
            if getattr(value, name) == default:
                del written[name]
        return written
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    return value


def _float(value: float) -> str:
    """As the encoder writes a float (`allow_nan`: NaN and the infinities as JavaScript does)."""
    if value - value == 0.0:  # finite (inf - inf and NaN - NaN are NaN): math.isfinite, inline
        return float.__repr__(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


# Exactly these types (not subclasses), each written as the encoder writes it.
_SCALARS: dict[type, _Write] = {
    str: encode_basestring,
    int: int.__repr__,
    float: _float,
    bool: {True: "true", False: "false"}.__getitem__,
    type(None): {None: "null"}.__getitem__,
}


class Writer:
    """Writes the values of one table. Each dataclass type gets its writer on first use: the
    field names as JSON keys, and an `attrgetter` reading all the fields at once."""

    def __init__(self) -> None:
        # Writers of values inside others, by exact type: a dataclass's is the shared one.
        self._inner: dict[type, _Write] = {**_SCALARS, tuple: self._list, list: self._list}
        self._objects: dict[type, _Write] = {}  # dataclass type → its writer
        self._shared: dict[int, tuple[Any, str]] = {}  # id → (value, text) of inner dataclasses

    def write(self, value: Any) -> str:
        """The compact JSON text of `value`."""
        kind = type(value)
        write = self._objects.get(kind) or self._inner.get(kind) or self._learn(kind)
        return write(value)

    def _inner_value(self, value: Any) -> str:
        kind = type(value)
        return (self._inner.get(kind) or self._learn(kind, inner=True))(value)

    def _learn(self, kind: type, *, inner: bool = False) -> _Write:
        if not dataclasses.is_dataclass(kind):
            return _encoded
        write = self._objects[kind] = self._compose(kind)
        shared = self._inner[kind] = self._share(write)
        return shared if inner else write

    def _share(self, write: _Write) -> _Write:
        """A dataclass value met before is not written again; it is kept alive with its text,
        so its id stays its own."""
        seen = self._shared

        def write_shared(value: Any) -> str:
            found = seen.get(id(value))
            if found is None:
                found = seen[id(value)] = (value, write(value))
            return found[1]

        return write_shared

    def _list(self, items: Any) -> str:
        if not items:
            return "[]"
        inner, learn = self._inner, self._inner_value
        return "[" + ",".join([(inner.get(type(v)) or learn)(v) for v in items]) + "]"

    def _compose(self, kind: type) -> _Write:
        names = public_fields(kind)
        if not names:
            return lambda value: "{}"
        keys = [encode_basestring(name) + ":" for name in names]
        fields = operator.attrgetter(*names)
        single = len(names) == 1
        inner, learn = self._inner, self._inner_value
        optional = dict(added_fields(kind))
        if optional:  # rare: written field by field, each `added` one only when not default
            defaults = [optional.get(name, _REQUIRED) for name in names]

            def write_sparse(value: Any) -> str:
                values = (fields(value),) if single else fields(value)
                return (
                    "{"
                    + ",".join(
                        [
                            key + (inner.get(type(v)) or learn)(v)
                            for key, v, default in zip(keys, values, defaults, strict=True)
                            if default is _REQUIRED or v != default
                        ]
                    )
                    + "}"
                )

            return write_sparse

        # The object with a `%s` for each value: field names are identifiers, so the only `%`
        # in it are these (the hot spot of writing a plan: a third faster than joining keys).
        template = "{" + ",".join(key + "%s" for key in keys) + "}"

        def write_object(value: Any) -> str:
            values = (fields(value),) if single else fields(value)
            return template % tuple([(inner.get(type(v)) or learn)(v) for v in values])

        return write_object


_REQUIRED = object()  # the "default" of a field that is always written


def _encoded(value: Any) -> str:
    """A value of any other type: as the encoder writes its plain form."""
    return _ENCODER.encode(plain(value))
