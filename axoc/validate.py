"""Schema validation: plain data → `Config`, with every violation located at its line and column.

In: a `Document` and its (interpolated) data. Out: the `Config` when valid, and diagnostics for
every schema problem at once — unknown keys with did-you-mean (AX201), wrong types (AX202),
missing keys (AX203), invalid values (AX204), ids (AX207), intervals (AX404), event patterns
(AX510) — plus warnings for deprecated values (AX206).
Inputs of secret-bearing keys are never quoted in messages.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from axoc.config import ID_PATTERN, Config, explain_id
from axoc.diagnostics import Diagnostic, Path, error, format_path, warning
from axoc.providers import registry
from axoc.yamlload import Document

ID_RE = re.compile(ID_PATTERN)
EXTENSION_PREFIX = "x-"  # top-level extension fields (anchors for reuse), as in docker-compose
# Values under these keys are never quoted; `env` and `headers` carry tokens (MCP, webhooks).
SECRET_KEYS = frozenset(
    {"api_key", "token", "secret", "password", "env", "headers", "api_keys", "bearer_tokens"}
)

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", "≥"),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "≤"),
}
_CUSTOM_CODES = {"axoc_id": "AX207", "axoc_interval": "AX404", "axoc_event": "AX510"}


@dataclass
class Validated:
    config: Config
    # Data paths removed so the rest could validate; later stages must not trust what is below
    # their parents (a removed `model` would make "agent has no model" a false report).
    pruned: list[Path] = field(default_factory=list)


def validate(
    doc: Document, data: dict[str, Any], unresolved: frozenset[Path] = frozenset()
) -> tuple[Validated | None, list[Diagnostic]]:
    """`unresolved`: paths of values holding an unset `${VAR}`. Their value is unknown here, so
    what it fails is not reported (the unset variable is, where it is written); it is dropped
    like any invalid value, and `run` refuses the variable before anything depends on it."""
    diagnostics: list[Diagnostic] = []
    data = {k: v for k, v in data.items() if not k.startswith(EXTENSION_PREFIX)}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        diagnostics += [
            _diagnostic(doc, data, err)
            for err in errors
            if _data_path(err["loc"], data) not in unresolved
        ]
        validated = _rest(data, errors)
        if validated is None:
            return None, diagnostics
        return validated, diagnostics + _deprecations(doc, validated.config)
    return Validated(config), diagnostics + _deprecations(doc, config)


def _rest(data: dict[str, Any], errors: list[Any]) -> Validated | None:
    """The config without what the errors are about, so one run also reports references,
    cycles and roles: the offending values are dropped; when that leaves something required
    missing, the list items concerned (an agent, a workflow, ...) are replaced by minimal
    placeholders with the same id, which keeps every index, and every reference to them, valid.
    Whatever later stages say about a dropped value's item or a placeholder is not reported."""
    # A missing key's path is its whole item: that item gets a placeholder below, not a drop.
    values = [_data_path(err["loc"], data) for err in errors if err["type"] not in _WHOLE_ITEM]
    unknown = {_data_path(err["loc"], data) for err in errors if err["type"] == "extra_forbidden"}
    dropped = [p for p in values if p not in unknown]  # an unknown key never meant anything
    trimmed = _without(data, values)
    try:
        return Validated(Config.model_validate(trimmed), dropped)
    except ValidationError as again:
        remaining = [_data_path(err["loc"], trimmed) for err in again.errors()]
    items = {p[:2] for p in remaining if len(p) >= 2}
    for section, key in items:
        if section == "providers" and isinstance(key, str):
            # What was valid stays (its model, say): an agent using it is judged on that.
            kept = trimmed["providers"][key]
            kept = kept if isinstance(kept, dict) else {}
            trimmed["providers"][key] = {**kept, **_PLACEHOLDER_PROVIDER}
        elif isinstance(key, int) and isinstance(trimmed.get(str(section)), list):
            trimmed[str(section)][key] = _placeholder(str(section), key, data)
    try:
        config = Config.model_validate(trimmed)
    except ValidationError:
        return None
    return Validated(config, dropped + [(*item, "*") for item in sorted(items, key=str)])


_WHOLE_ITEM = frozenset({"missing", "union_tag_invalid", "union_tag_not_found"})
SET_ASIDE = "set-aside-"  # prefix of the ids placeholders get when the original id is invalid
_PLACEHOLDER_PROVIDER = {"kind": registry.named().name, "base_url": "http://set-aside.invalid"}
_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "agents": {"provider": "echo"},
    "workflows": {"agents": []},
    "skills": {},
    "schedules": {"workflow": "set-aside", "every": "1d"},
    "proactive": {"agent": "set-aside", "trigger": {"type": "schedule", "every": "1d"}},
    "tools": {"module": "set-aside.wasm"},
}


_NAMED_PLACEHOLDERS: dict[str, dict[str, Any]] = {  # sections whose items have no id
    "mcp_servers": {"transport": "stdio", "command": "set-aside"},
    "webhooks": {"url": "http://set-aside.invalid"},
    "hooks": {"type": "set-aside"},
}


def _placeholder(section: str, index: int, data: dict[str, Any]) -> dict[str, Any]:
    original = data[section][index]
    if section in _NAMED_PLACEHOLDERS:
        name = original.get("name") if isinstance(original, dict) else None
        name = name if isinstance(name, str) else f"{SET_ASIDE}{index}"
        return {"name": name, **_NAMED_PLACEHOLDERS[section]}
    ident = original.get("id") if isinstance(original, dict) else None
    if not (isinstance(ident, str) and ID_RE.fullmatch(ident)):
        ident = f"{SET_ASIDE}{index}"
    return {"id": ident, **_PLACEHOLDERS.get(section, {})}


def _without(data: Any, locations: list[Path]) -> Any:
    """A copy of `data` with the keys and list items at `locations` removed."""
    drop = set(locations)

    def walk(node: Any, path: Path) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*path, k)) for k, v in node.items() if (*path, k) not in drop}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node) if (*path, i) not in drop]
        return node

    return walk(data, ())


def _deprecations(doc: Document, config: Config) -> list[Diagnostic]:
    out = []
    for i, agent in enumerate(config.agents):
        if agent.token_budget.overflow_policy == "summarize":
            path: Path = ("agents", i, "token_budget", "overflow_policy")
            msg = "overflow_policy 'summarize' is a deprecated alias of 'warn'"
            out.append(warning("AX206", msg, doc.span(path), path, "write overflow_policy: warn"))
    return out


def _data_path(loc: tuple[int | str, ...], data: Any) -> Path:
    """pydantic's loc with union tags and other non-data parts dropped."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            found = part in node
        else:
            found = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if found:
            node = node[part]
            path.append(part)
    return tuple(path)


def _diagnostic(doc: Document, data: dict[str, Any], err: Any) -> Diagnostic:
    kind: str = err["type"]
    loc: tuple[int | str, ...] = err["loc"]
    path = _data_path(loc, data)
    where = format_path(path) or "the top level"
    secret = any(part in SECRET_KEYS for part in path)
    value = err.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(doc, path, where)
    if kind == "missing":
        missing = loc[-1]
        parent = _data_path(loc[:-1], data)
        if parent[:1] == ("providers",) and len(parent) == 2 and missing == "kind":
            return _unknown_provider(doc, parent)
        msg = f"missing required key '{missing}' in {format_path(parent) or 'the top level'}"
        return error("AX203", msg, doc.span(parent), parent)
    if kind in _EXPECTED:
        return _wrong_type(doc, path, where, _EXPECTED[kind], value, secret)
    if kind in _CUSTOM_CODES:
        on_key = loc[-1:] == ("[key]",)
        return error(_CUSTOM_CODES[kind], err["msg"], doc.span(path, key=on_key), path)
    if kind == "string_pattern_mismatch" and err["ctx"]["pattern"] == ID_PATTERN:
        on_key = loc[-1:] == ("[key]",)
        return error("AX207", explain_id(value), doc.span(path, key=on_key), path)
    if kind == "literal_error":
        if len(path) == 3 and path[0] == "providers" and path[2] == "kind":
            return _named_provider_kind(doc, path, where, value)
        return _not_one_of(doc, path, where, err["ctx"]["expected"], value)
    if kind == "union_tag_invalid":
        tag = (*path, "type")
        return _not_one_of(
            doc, tag, format_path(tag), err["ctx"]["expected_tags"], value.get("type")
        )
    if kind == "union_tag_not_found":
        msg = f"missing required key '{err['ctx']['discriminator'].strip(chr(39))}' in {where}"
        return error("AX203", msg, doc.span(path), path)
    if kind in _BOUNDS:
        name, symbol = _BOUNDS[kind]
        msg = f"{where} must be {symbol} {err['ctx'][name]}, got {_describe(value, secret)}"
        return error("AX204", msg, doc.span(path), path)
    if kind == "finite_number":
        return error("AX204", f"{where} must be a finite number", doc.span(path), path)
    return error("AX204", f"{where}: {err['msg']}", doc.span(path), path)


def _unknown_key(doc: Document, path: Path, where: str) -> Diagnostic:
    key = str(path[-1])
    valid = _valid_keys(path[:-1])
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint: str | None = f"valid keys: {', '.join(valid)}" if valid else None
    if close:
        hint = f"did you mean '{close[0]}'?"
    parent = format_path(path[:-1]) or "the top level"
    return error("AX201", f"unknown key '{key}' in {parent}", doc.span(path, key=True), path, hint)


def _unknown_provider(doc: Document, path: Path) -> Diagnostic:
    name = str(path[-1])
    known = list(registry.builtin())
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"built-in providers: {', '.join(known)}"
    msg = f"unknown provider '{name}': a named server needs kind: {registry.named().name}"
    return error("AX201", msg, doc.span(path, key=True), path, hint)


def _named_provider_kind(doc: Document, path: Path, where: str, value: Any) -> Diagnostic:
    """A named provider is an OpenAI-compatible server (SPEC §3): the built-in kinds have their
    own sections, so `kind: ollama` says how to reach a second Ollama server instead."""
    named = registry.named().name
    msg = (
        f"{where} is {_describe(value, False)}; a named provider is an OpenAI-compatible "
        f"server (kind: {named})"
    )
    hint: str | None
    if value == "ollama":
        hint = (
            f"Ollama serves the OpenAI API under /v1: write kind: {named} and "
            "base_url: http://HOST:11434/v1, or set the server under providers.ollama"
        )
    elif value in (kind.name for kind in registry.sections()):
        hint = f"set it under providers.{value}, and provider: {value} on its agents"
    else:
        close = difflib.get_close_matches(str(value), [named], n=1, cutoff=0.5)
        hint = f"did you mean '{named}'?" if close else None
    return error("AX204", msg, doc.span(path), path, hint)


def _wrong_type(
    doc: Document, path: Path, where: str, expected: str, value: Any, secret: bool
) -> Diagnostic:
    hint = None
    number = expected == "a string" and _is_number(value) and not secret
    text = doc.scalar_text(path) if number else None
    if text is not None:
        hint = f'YAML reads {text} as a number; quote it: "{text}"'
    elif (
        expected == "true or false"
        and isinstance(value, str)
        and value.lower() in ("yes", "no", "on", "off")
    ):
        hint = "only true and false are booleans (YAML 1.2); write true or false"
    elif expected in ("an integer", "a number") and isinstance(value, str):
        hint = _number_hint(doc, path, value)
    msg = f"{where} must be {expected}, got {_describe(value, secret)}"
    return error("AX202", msg, doc.span(path), path, hint)


def _number_hint(doc: Document, path: Path, value: str) -> str | None:
    """Why text stands where a number should: quotes (around a number or a `${VAR}`), or
    digits too many to be a number (read as text, see `yamlload.MAX_INT_DIGITS`)."""
    digits = value.strip().isdigit()
    if doc.is_plain(path):
        return f"{len(value):,} digits: far more than any number a config sets" if digits else None
    written = doc.scalar_text(path) or ""
    if "${" in written:
        return "remove the quotes: a quoted ${VAR} stays text, an unquoted one becomes a number"
    return (
        f"write the number without quotes: {value.strip()}" if digits and len(value) < 40 else None
    )


def _not_one_of(doc: Document, path: Path, where: str, expected: str, value: Any) -> Diagnostic:
    options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
    close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else None
    msg = f"{where} is {_describe(value, False)}; expected one of: {', '.join(options)}"
    return error("AX204", msg, doc.span(path), path, hint)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any, secret: bool) -> str:
    if secret:
        return "a value that is not shown (secret)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "…"
        return f"the string '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _valid_keys(path: Path) -> list[str]:
    """Keys allowed in the mapping at `path`, found by walking the models."""
    model: Any = Config
    for part in path:
        model = _step(model, part)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return _unwrap(info.annotation)
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and isinstance(part, int):
        return _unwrap(args[0])
    if origin is dict:
        return _unwrap(args[1])
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional; a union of models keeps its first model."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
