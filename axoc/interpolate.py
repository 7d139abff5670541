"""`${VAR}` interpolation inside string scalars, after parsing (never in keys or comments).

Syntax: `${NAME}` is the variable's value; `${NAME:-default}` falls back to `default` when NAME is
unset or empty; `$$` is a literal `$`. A plain (unquoted) scalar is typed again after substitution,
as Axocoatl substitutes before parsing: `per_execution: ${BUDGET}` with BUDGET=5000 is the number
5000, `"${BUDGET}"` the string '5000'. In: a `Document`'s data and the environment. Out: new data,
plus diagnostics: an unset variable without default is a warning at check time (AX303) — `run`
refuses it before any request — and a malformed reference is an error (AX304). Values of secrets
are never put into diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from axoc.diagnostics import Diagnostic, Path, error, warning
from axoc.yamlload import Document, resolve_plain

UNSET = "AX303"  # the code of an unset variable
_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


def interpolate(doc: Document, env: Mapping[str, str]) -> tuple[Any, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    return _walk(doc, doc.data, (), env, diagnostics), diagnostics


def _walk(
    doc: Document, value: Any, path: Path, env: Mapping[str, str], out: list[Diagnostic]
) -> Any:
    if isinstance(value, str):
        if "$" not in value:
            return value
        result = _substitute(doc, value, path, env, out)
        return resolve_plain(result) if result != value and doc.is_plain(path) else result
    if isinstance(value, list):
        return [_walk(doc, item, (*path, i), env, out) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {k: _walk(doc, v, (*path, k), env, out) for k, v in value.items()}
    return value


def _substitute(
    doc: Document, text: str, path: Path, env: Mapping[str, str], out: list[Diagnostic]
) -> str:
    def replace(match: re.Match[str]) -> str:
        whole, name, default = match.group(0), match.group(1), match.group(2)
        if whole == "$$":
            return "$"
        if name is None:
            msg = "malformed interpolation: write ${NAME} with a name of letters, digits and '_'"
            where = doc.span_in(path, match.start(), 2)
            out.append(error("AX304", msg, where, path, "write $$ for a literal $"))
            return whole
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        msg = f"environment variable {name} is not set"
        hint = f"export {name}=… before `axoc run`, or write ${{{name}:-default}}"
        out.append(warning(UNSET, msg, doc.span(path), path, hint))
        return whole

    return _REF.sub(replace, text)
