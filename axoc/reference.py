"""Render the config JSON schema as a Markdown reference (docs/config-reference.md).

In: the schema dict from `axoc.schema.config_schema`. Out: Markdown with one table per section
(key, type, default, description), top level first, then each definition in order of first
use. Deterministic; a test keeps docs/config-reference.md equal to it.
"""

from __future__ import annotations

import json
from typing import Any

_INTRO = """\
# Config reference

Generated from `schema/axoc.schema.json` by `axoc schema --format markdown`; do not edit by
hand. Every mapping rejects unknown keys (AX201, with a did-you-mean). Ids match
`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`. Top-level keys starting with `x-` are ignored: use them to
hold YAML anchors (`x-defaults: &defaults {...}`, then `<<: *defaults`).
"""


def render(schema: dict[str, Any]) -> str:
    definitions: dict[str, Any] = schema.get("definitions", {})
    out = [_INTRO, "## Top level\n", _table(schema, definitions)]
    for name in _order(schema, definitions):
        node = definitions[name]
        out.append(f"## {name}\n")
        if node.get("description"):
            out.append(node["description"].strip() + "\n")
        out.append(_table(node, definitions))
    return "\n".join(out)


def _order(schema: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    queue = [schema]
    while queue:
        for ref in _refs(queue.pop(0)):
            if ref not in seen and ref in definitions:
                seen.append(ref)
                queue.append(definitions[ref])
    return seen


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _table(node: dict[str, Any], definitions: dict[str, Any]) -> str:
    required = set(node.get("required", []))
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, prop in node.get("properties", {}).items():
        name = f"`{key}`" + (" (required)" if key in required else "")
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        description = prop.get("description", "").replace("|", "\\|")
        rows.append(f"| {name} | {_type(prop)} | {default} | {description} |")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        rows.append(f"| *any other name* | {_type(extra)} | | Named entries. |")
    for pattern, prop in node.get("patternProperties", {}).items():
        rows.append(f"| *`{pattern}`* | {_type(prop)} | | {prop.get('description', '')} |")
    return "\n".join(rows) + "\n"


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{target}](#{target.lower()})"
    if "allOf" in prop:
        return " & ".join(_type(p) for p in prop["allOf"])
    if "oneOf" in prop or "anyOf" in prop:
        return " or ".join(_type(p) for p in prop.get("oneOf", prop.get("anyOf", [])))
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object" and "patternProperties" in prop:
        (value,) = prop["patternProperties"].values()
        return f"map of {_type(value)}"
    if "pattern" in prop:
        return f"{kind} `{prop['pattern']}`"
    return str(kind) if kind else "any"
