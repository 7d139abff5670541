"""Tool calls as a model writes them: the built-in `emit` tool, reading a call's arguments, and
recovering calls a local model wrote as JSON text.

In: the calls of a response (`ToolCall`, arguments as JSON text), or its text; the definitions
offered. Out: the arguments as an object, or the sentence the model is shown as an error
result; the calls recovered from text, only for names that were offered.

Arguments are checked against the tool's JSON schema as far as this small reader goes: an
object; every `required` property present; each property of a declared `type` (string,
integer, number, boolean, array, object, null, or a list of them) of that type; a value of a
property with an `enum` one of its values; no other property when `additionalProperties` is
false. A tool may check more itself. Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from axoc.kernel.ports import ToolCall, ToolDefinition

EMIT = "emit"
_FENCE = re.compile(r"^```[A-Za-z]*\s*\n(.*)\n\s*```$", re.DOTALL)
_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
MAX_SHOWN = 80  # characters of a model's value quoted back to it in an error


def emit_definition(events: tuple[str, ...]) -> ToolDefinition:
    """The `emit` tool of an agent that may publish `events` (its `emits`)."""
    return ToolDefinition(
        EMIT,
        "Publish an event into the run's lattice; agents that react to it are activated once "
        "this activation ends. Only the listed events may be published.",
        {
            "type": "object",
            "properties": {
                "event": {"type": "string", "enum": list(events)},
                "payload": {"type": "string", "description": "Text the event carries."},
            },
            "required": ["event"],
            "additionalProperties": False,
        },
    )


def arguments(call: ToolCall, schema: Mapping[str, Any]) -> dict[str, Any] | str:
    """The call's arguments as an object, or why they are not usable (shown to the model)."""
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except (ValueError, RecursionError):
        return f"the arguments of '{call.name}' are not JSON: {_shown(call.arguments)}"
    if not isinstance(value, dict):
        return f"the arguments of '{call.name}' must be a JSON object, not {_kind(value)}"
    problem = _mismatch(value, schema)
    if problem is not None:
        return f"the arguments of '{call.name}' do not match its schema: {problem}"
    return value


def _mismatch(value: dict[str, Any], schema: Mapping[str, Any]) -> str | None:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    for name in required if isinstance(required, list) else ():
        if name not in value:
            return f"'{name}' is required"
    if schema.get("additionalProperties") is False:
        for name in value:
            if name not in properties:
                return f"'{_shown(name)}' is not one of its properties"
    for name, rule in properties.items():
        if name not in value or not isinstance(rule, Mapping):
            continue
        item = value[name]
        wanted = rule.get("type")
        kinds = [wanted] if isinstance(wanted, str) else wanted if isinstance(wanted, list) else []
        if kinds and not any(_is(item, kind) for kind in kinds):
            return f"'{name}' must be {' or '.join(map(str, kinds))}, not {_kind(item)}"
        choices = rule.get("enum")
        if isinstance(choices, list) and item not in choices:
            listed = ", ".join(json.dumps(c) for c in choices[:20])
            return f"'{name}' is {_cut(json.dumps(item, ensure_ascii=False))}, not one of {listed}"
    return None


def _is(value: object, kind: object) -> bool:
    types = _TYPES.get(kind) if isinstance(kind, str) else None
    if types is None:
        return True  # a type this reader does not know: the tool decides
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, types)


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _shown(text: str) -> str:
    """A model's text, quoted back to it: cut, as a JSON string."""
    return json.dumps(_cut(text), ensure_ascii=False)


def recover(text: str, offered: Collection[str]) -> tuple[ToolCall, ...]:
    """Calls a model wrote as JSON text instead of structured calls: the whole text (or a
    ```json fence that is the whole text) an object `{"name": N, "arguments": {...}}` (or
    `"parameters"`), or an array of them, every N one of the `offered` names. Anything else —
    prose around it, a name not offered, arguments that are not an object — recovers nothing:
    the text is the model's answer."""
    body = text.strip()
    if not body or body[0] not in "{[`":
        return ()
    fenced = _FENCE.match(body)
    if fenced is not None:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return ()
    items = value if isinstance(value, list) else [value]
    calls = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or set(item) - {"name", "arguments", "parameters"}:
            return ()
        name = item.get("name")
        args = item.get("arguments", item.get("parameters", {}))
        if not isinstance(name, str) or name not in offered or not isinstance(args, dict):
            return ()
        calls.append(ToolCall(f"call_text_{n}", name, json.dumps(args, ensure_ascii=False)))
    return tuple(calls)
