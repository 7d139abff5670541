"""Generate the config's JSON schema (draft-07) from the pydantic models.

Out: a dict written to `schema/axoc.schema.json` by `axoc schema`. Guaranteed: draft-07
keywords only (`definitions`, no tuples), a description on every property, defaults, enums and
examples where the models declare them. A test regenerates the committed file and fails on drift.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from axoc.config import Config

SCHEMA_ID = "https://axoc.dev/schema/axoc.schema.json"
TABLE_SCHEMA_ID = "https://axoc.dev/schema/signal-table.schema.json"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


class _Draft7(GenerateJsonSchema):
    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # `X | None = None` means "may be left out", not "write null": show X to editors.
        return self.generate_inner(schema["schema"])


def config_schema() -> dict[str, Any]:
    generated = Config.model_json_schema(
        by_alias=True, ref_template="#/definitions/{model}", schema_generator=_Draft7
    )
    definitions = generated.pop("$defs", {})
    _draft7_refs(generated)
    _draft7_refs(definitions)
    _no_null_defaults(generated)
    _no_null_defaults(definitions)
    generated["patternProperties"] = {
        "^x-": {"description": "Extension field, ignored: a place for YAML anchors to reuse."}
    }
    return {
        "$schema": DRAFT_07,
        "$id": SCHEMA_ID,
        "title": "axoc config",
        **{k: v for k, v in generated.items() if k != "title"},
        "definitions": dict(sorted(definitions.items())),
    }


def table_schema() -> dict[str, Any]:
    """The schema of a saved plan (`axoc plan --format json`), from the kernel's dataclasses."""
    from pydantic import TypeAdapter

    from axoc.kernel.table import FORMAT, SignalTable

    generated = TypeAdapter(SignalTable).json_schema(
        mode="serialization", ref_template="#/definitions/{model}"
    )  # nullable fields stay nullable: a table writes null where a value is unset
    definitions = generated.pop("$defs", {})
    properties = generated["properties"]
    properties.pop("_index", None)
    properties["format"] = {"const": FORMAT, "description": "Format version of the table."}
    properties["digest"] = {
        "type": "string",
        "pattern": "^sha256:[0-9a-f]{64}$",
        "description": (
            "SHA-256 of the canonical table without this field; axoc plan writes it. A plan "
            "edited by hand may leave it out (docs/lattice.md)."
        ),
    }
    generated["required"] = ["format", *generated.get("required", [])]
    for node in (generated, *definitions.values()):
        node["additionalProperties"] = False
    _draft7_refs(generated)
    _draft7_refs(definitions)
    return {
        "$schema": DRAFT_07,
        "$id": TABLE_SCHEMA_ID,
        "title": "axoc signal table",
        "description": "A lowered config: units, routes, run settings (axoc plan --format json).",
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
        "definitions": dict(sorted(definitions.items())),
    }


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _draft7_refs(node: Any) -> None:
    """Draft-07 ignores keywords beside `$ref`: wrap such refs in `allOf`; close pattern maps."""
    if isinstance(node, list):
        for item in node:
            _draft7_refs(item)
        return
    if not isinstance(node, dict):
        return
    if "$ref" in node and len(node) > 1:
        node["allOf"] = [{"$ref": node.pop("$ref")}]
    if "patternProperties" in node:
        node.setdefault("additionalProperties", False)
    for value in node.values():
        _draft7_refs(value)


def _no_null_defaults(node: Any) -> None:
    """`None` means "leave it out": editors must not insert `key: null` (which the schema then
    rejects; yaml-language-server even stops completing at the first null string default)."""
    if isinstance(node, list):
        for item in node:
            _no_null_defaults(item)
        return
    if not isinstance(node, dict):
        return
    if "default" in node:
        if node["default"] is None:
            del node["default"]
        else:
            node["default"] = _without_nulls(node["default"])
    for value in node.values():
        _no_null_defaults(value)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value
