"""`axoc check` on the `tools[]` section: what a run would refuse when it loads a WASM tool.

In: the `Document` (for positions), the `Config` and the directory module paths are relative to
(the config's). Out: diagnostics, all at once — a `module` that does not exist, cannot be read
or is not a valid WebAssembly module (binary, or WAT text in a `.wat` file: AX407), and
`parameters` that is not a valid JSON schema (AX408).

Modules are validated, not compiled (validation is cheap; compiling is the run's job).
`wasmtime` is imported only when the config has tools, so checking other configs never pays for
it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from axoc.config import Config
from axoc.diagnostics import Diagnostic, error
from axoc.yamlload import Document


def wasm_tools(doc: Document, config: Config, base_dir: Path) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for i, tool in enumerate(config.tools):
        out += _module(doc, i, tool.id, tool.module, base_dir)
        out += _parameters(doc, i, tool.id, tool.parameters)
    return out


def _module(doc: Document, i: int, tool: str, module: str, base_dir: Path) -> list[Diagnostic]:
    path = ("tools", i, "module")
    where = base_dir / module
    try:
        data = where.read_bytes()
    except FileNotFoundError:
        msg = f"module '{module}' of tool '{tool}' does not exist (looked for {where})"
        hint = "module paths are relative to the config's directory"
        return [error("AX407", msg, doc.span(path), path, hint)]
    except OSError as exc:
        msg = f"module '{module}' of tool '{tool}' cannot be read: {exc.strerror or exc}"
        return [error("AX407", msg, doc.span(path), path)]
    import wasmtime

    from axoc.tools import wasm

    text = where.suffix.lower() == ".wat"
    try:
        wasmtime.Module.validate(wasm.engine(), wasm.binary(data, where))
    except wasmtime.WasmtimeError as exc:
        kind = "WAT (WebAssembly text)" if text else "WebAssembly"
        msg = f"module '{module}' of tool '{tool}' is not a valid {kind} module: "
        msg += wasm.cause(str(exc))
        advice = None if text else "build it for wasm32-wasip1, or give a .wat file"
        return [error("AX407", msg, doc.span(path), path, advice)]
    return []


def _parameters(
    doc: Document, i: int, tool: str, parameters: Mapping[str, Any]
) -> list[Diagnostic]:
    from jsonschema import Draft7Validator, SchemaError

    try:
        Draft7Validator.check_schema(parameters)
    except SchemaError as exc:
        inner = ("tools", i, "parameters", *exc.path)
        where = "/".join(str(p) for p in exc.path)
        msg = f"parameters of tool '{tool}' is not a valid JSON schema"
        msg += f" at '{where}'" if where else ""
        msg += f": {exc.message}"
        return [error("AX408", msg, doc.span(inner), inner)]
    return []
