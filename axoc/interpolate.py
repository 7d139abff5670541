"""`${VAR}` interpolation inside string scalars, after parsing (never in keys or comments).

Syntax: `${NAME}` is the variable's value; `${NAME:-default}` falls back to `default` when NAME is
unset or empty; `$$` is a literal `$`. A plain (unquoted) scalar is typed again after substitution,
as Axocoatl substitutes before parsing: `per_execution: ${BUDGET}` with BUDGET=5000 is the number
5000, `"${BUDGET}"` the string '5000'. In: a `Document`'s data and the environment. Out: new data
(the document's own when no value can hold a `$`), plus diagnostics: an unset variable without
default is a warning at check time (AX303) — `run` refuses it before any request — and a
malformed reference is an error (AX304). Values of secrets are never put into diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from axoc.diagnostics import Diagnostic, Path, error, warning
from axoc.yamlload import Document, resolve_plain

UNSET = "AX303"  # the code of an unset variable
_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


MAX_ADDED = 10 * 1024 * 1024  # characters substitution may add to a config, all values together
_UNCHANGED = frozenset({int, float, bool, type(None)})  # values substitution never changes
# How a `$` gets into a value without being in the text: an escape of a double-quoted scalar.
_DOLLAR_ESCAPE = re.compile(r"\\(?:x24|u0024|U00000024)", re.IGNORECASE)


def interpolate(doc: Document, env: Mapping[str, str]) -> tuple[Any, list[Diagnostic]]:
    if "$" not in doc.text and _DOLLAR_ESCAPE.search(doc.text) is None:
        # No value can hold a `$`: the data is as loaded, returned without a walk through it
        # (not copied either: no stage changes the data it is given).
        return doc.data, []
    diagnostics: list[Diagnostic] = []
    walk = _Walk(doc, env, diagnostics)
    return walk.value(doc.data, ()), diagnostics


class _Walk:
    """Substitutes through the data. What substitution adds is bounded (`MAX_ADDED`): a big
    variable written many times would otherwise make the config gigabytes long; past the bound,
    one error says so and the rest stays as written."""

    def __init__(self, doc: Document, env: Mapping[str, str], out: list[Diagnostic]) -> None:
        self.doc = doc
        self.env = env
        self.out = out
        self.left = MAX_ADDED

    def value(self, value: Any, path: Path) -> Any:
        if isinstance(value, str):
            if "$" not in value:
                return value
            result = self.substitute(value, path)
            plain = result != value and self.doc.is_plain(path)
            return resolve_plain(result) if plain else result
        # A value without `$` is kept as it is, without a call or its path: most values are.
        if isinstance(value, list):
            return [
                item
                if (type(item) is str and "$" not in item) or type(item) in _UNCHANGED
                else self.value(item, (*path, i))
                for i, item in enumerate(value)
            ]
        if isinstance(value, dict):
            return {
                k: v
                if (type(v) is str and "$" not in v) or type(v) in _UNCHANGED
                else self.value(v, (*path, k))
                for k, v in value.items()
            }
        return value

    def substitute(self, text: str, path: Path) -> str:
        doc, out = self.doc, self.out

        def replace(match: re.Match[str]) -> str:
            whole, name, default = match.group(0), match.group(1), match.group(2)
            if self.left < 0:
                return whole  # past the bound: said once, left as written
            if whole == "$$":
                return "$"
            if name is None:
                msg = (
                    "malformed interpolation: write ${NAME} with a name of letters, digits and '_'"
                )
                where = doc.span_in(path, match.start(), 2)
                out.append(error("AX304", msg, where, path, "write $$ for a literal $"))
                return whole
            value = self.env.get(name) or default
            if value is None:
                msg = f"environment variable {name} is not set"
                hint = f"export {name}=… before `axoc run`, or write ${{{name}:-default}}"
                out.append(warning(UNSET, msg, doc.span(path), path, hint))
                return whole
            self.left -= len(value) - len(whole)
            if self.left < 0:
                msg = (
                    f"interpolation adds more than {MAX_ADDED:,} characters to the config "
                    f"(here: ${{{name}}}, {len(value):,} characters); the rest is left as written"
                )
                out.append(error("AX304", msg, doc.span(path), path))
                return whole
            return value

        return _REF.sub(replace, text)
