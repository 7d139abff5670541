"""The compiler pipeline: an ordered tuple of stages over one config file.

In: a path and the environment. Out: a `Compilation` holding what each stage produced and every
diagnostic found. Each stage reports all of its own problems and guards its own precondition: a
stage whose input an earlier stage could not produce (no document after a YAML error, no config
after a schema error) does nothing, so every problem that can be found in one run is.
"""

from __future__ import annotations

import gc
import pathlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from axoc import checks, compat, cycles, interpolate, validate, yamlload
from axoc.config import Config
from axoc.tools import checks as tool_checks

if TYPE_CHECKING:
    from axoc.lower import Lowered
from axoc.diagnostics import Diagnostic, Path, Severity, has_errors
from axoc.kernel.table import SignalTable


@dataclass
class Compilation:
    file: str
    env: Mapping[str, str]
    text: str | None = None
    pruned: list[Path] = field(default_factory=list)  # values dropped after schema errors
    document: yamlload.Document | None = None
    data: dict[str, Any] | None = None
    config: Config | None = None
    lowered: Lowered | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.config is not None and not has_errors(self.diagnostics)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def errors_for(self, workflow: str | None) -> list[Diagnostic]:
        """The errors that stop a run or plan of `workflow`: those of the whole config, and
        those of that workflow (None: a run of no workflow, such as a skill fire)."""
        return [d for d in self.errors() if d.workflow in (None, workflow)]

    def broken_workflows(self) -> list[str]:
        """Workflows with errors of their own, in the order found."""
        found = (d.workflow for d in self.diagnostics if d.severity is Severity.ERROR)
        return list(dict.fromkeys(w for w in found if w is not None))

    def table(self, workflow: str | None = None) -> SignalTable | None:
        """The table to plan or run `workflow` (None: every workflow that has no error of its
        own) from: None while an error stops it. A workflow with errors is left out of the
        table, with what only it uses (its units, its schedules)."""
        broken = set(self.broken_workflows())
        if self.lowered is None or self.errors_for(workflow):
            return None
        table = self.lowered.table
        return without_workflows(table, broken) if broken else table


def load(unit: Compilation) -> list[Diagnostic]:
    unit.text, found = yamlload.read_text(unit.file)
    if unit.text is None:
        return found
    unit.document, parsed = yamlload.parse(unit.file, unit.text)
    return found + parsed


def interpolate_env(unit: Compilation) -> list[Diagnostic]:
    if unit.document is None:
        return []
    unit.data, found = interpolate.interpolate(unit.document, unit.env)
    return found


def validate_schema(unit: Compilation) -> list[Diagnostic]:
    if unit.document is None or unit.data is None:
        return []
    unresolved = frozenset(d.path for d in unit.diagnostics if d.code == interpolate.UNSET)
    validated, found = validate.validate(unit.document, unit.data, unresolved)
    if validated is not None:
        unit.config, unit.pruned = validated.config, validated.pruned
    return checks.plain_secrets(unit.document) + found


def check_semantics(unit: Compilation) -> list[Diagnostic]:
    if unit.document is None or unit.config is None:
        return []
    found = checks.check(unit.document, unit.config)
    found += cycles.dependency_cycles(unit.document, unit.config)
    found += compat.warnings(unit.document, unit.config)
    if unit.config.tools:  # imports wasmtime: only for configs with tools
        found += tool_checks.wasm_tools(unit.document, unit.config, pathlib.Path(unit.file).parent)
    return _trusted(unit, found)


def _trusted(unit: Compilation, found: list[Diagnostic]) -> list[Diagnostic]:
    """A schema error's value was dropped to get this far: say nothing more about its item."""
    suspect = [path[:-1] for path in unit.pruned]  # `(section, i, "*")`: a whole placeholder
    return [d for d in found if not any(d.path[: len(s)] == s for s in suspect)]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off compiled objects while compiling: compiling
    allocates ~10 objects per YAML node and creates few cycles, and the collector's passes over
    them cost more than the compile itself. The caller's setting is restored and nothing is
    frozen: a long-lived process (a daemon compiling on every reload) keeps collecting what it
    drops. A one-shot command goes further, from the CLI (`axoc.process`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def lower_table(unit: Compilation) -> list[Diagnostic]:
    """Lower to a signal table. Done even after errors elsewhere, so that problems inside
    activation expressions and event patterns are reported in the same run; such a table is
    never analysed, planned or run."""
    if unit.document is None or unit.config is None:
        return []
    from axoc import lower

    unit.lowered, found = lower.lower(unit.document, unit.config)
    return _trusted(unit, found)


def analyse_lattice(unit: Compilation) -> list[Diagnostic]:
    """Analyse the table of a config without errors, but for errors of single workflows: those
    are left out (an erroneous workflow would mislead the analysis; the others stand)."""
    if unit.document is None or unit.lowered is None:
        return []
    if unit.errors_for(None):
        return []
    from axoc import analysis

    return analysis.analyse(unit.document, unit.lowered, set(unit.broken_workflows()))


def _scoped(unit: Compilation, found: list[Diagnostic]) -> list[Diagnostic]:
    """A diagnostic located inside `workflows[i]` concerns that workflow only."""
    flows = unit.document.data.get("workflows") if unit.document is not None else None
    if not isinstance(flows, list):
        return found
    out = []
    for d in found:
        index = d.path[1] if d.path[:1] == ("workflows",) and len(d.path) > 1 else None
        if d.workflow is None and isinstance(index, int) and 0 <= index < len(flows):
            ident = flows[index].get("id") if isinstance(flows[index], dict) else None
            if isinstance(ident, str):
                d = replace(d, workflow=ident)
        out.append(d)
    return out


def without_workflows(table: SignalTable, drop: set[str]) -> SignalTable:
    """`table` without the workflows in `drop`, their units and routes, and the schedules that
    start them."""
    units = tuple(u for u in table.units if u.workflow not in drop)
    kept = {u.id for u in units}
    return table.derived(
        workflows=tuple(w for w in table.workflows if w.id not in drop),
        schedules=tuple(s for s in table.schedules if s.workflow not in drop),
        units=units,
        routes=tuple(r for r in table.routes if r.unit in kept),
    )


Stage = Callable[[Compilation], list[Diagnostic]]
STAGES: tuple[Stage, ...] = (
    load,
    interpolate_env,
    validate_schema,
    check_semantics,
    lower_table,
    analyse_lattice,
)


class InternalError(Exception):
    """A bug of axoc's met while compiling one file (`file`); the cause is chained."""

    def __init__(self, file: str, cause: Exception) -> None:
        super().__init__(f"{file}: {type(cause).__name__}: {cause}")
        self.file = file


def compile_each(
    paths: list[str], env: Mapping[str, str]
) -> tuple[list[Compilation], list[InternalError]]:
    """Every file compiled on its own: a bug one file triggers is returned beside the others'
    results, so one bad file never hides another's diagnostics."""
    units, failures = [], []
    for path in paths:
        try:
            units.append(compile_file(path, env))
        except Exception as exc:  # no input should get here: a bug, reported by the caller
            if env.get("AXOC_DEBUG") == "1":
                raise
            failures.append(InternalError(path, exc))
    return units, failures


def compile_file(
    path: str, env: Mapping[str, str], stages: tuple[Stage, ...] = STAGES
) -> Compilation:
    unit = Compilation(path, env)
    with gc_paused():
        for stage in stages:
            unit.diagnostics += _scoped(unit, stage(unit))
    unit.diagnostics.sort(key=lambda d: d.sort_key)
    return unit
