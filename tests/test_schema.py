"""The committed JSON schema: generated from the models, draft-07, documented, in step."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from axoc.schema import config_schema, dumps
from axoc.yamlload import load_file
from tests.conftest import ROOT
from tests.golden import split
from tests.helpers import axoc

SCHEMA_PATH = ROOT / "schema" / "axoc.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.axoc.yaml"))
GOLDEN = sorted((ROOT / "tests" / "golden" / "check").glob("*.yaml"))


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """`pattern` as JSON Schema reads it (ECMA-262, as editors do): a final `$` ends the text.
    jsonschema uses Python's `re`, whose `$` also matches before a final line break."""
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
    if validator.is_type(instance, "string") and not re.search(python, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _ecma_pattern})


def committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def test_committed_schema_matches_the_models(update_golden: bool) -> None:
    fresh = dumps(config_schema())
    if update_golden:
        SCHEMA_PATH.write_text(fresh, encoding="utf-8")
    assert SCHEMA_PATH.read_text(encoding="utf-8") == fresh, (
        "run: axoc schema -o schema/axoc.schema.json"
    )


def test_axoc_schema_command_prints_the_same_schema() -> None:
    result = axoc("schema")
    assert result.code == 0
    assert json.loads(result.out) == committed()


def test_schema_is_valid_draft_07() -> None:
    schema = committed()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{where}/{i}")


def test_no_keywords_newer_than_draft_07() -> None:
    newer = {"$defs", "prefixItems", "unevaluatedProperties", "dependentRequired", "$anchor"}
    for where, node in walk(committed()):
        if isinstance(node, dict):
            assert not newer & set(node), f"{where} uses {newer & set(node)}"
            assert not ("$ref" in node and len(node) > 1), (
                f"{where}: draft-07 ignores $ref siblings"
            )


def test_every_property_has_a_description() -> None:
    missing = [
        f"{where}/{name}"
        for where, node in walk(committed())
        if isinstance(node, dict) and isinstance(node.get("properties"), dict)
        for name, prop in node["properties"].items()
        if not prop.get("description")
    ]
    assert not missing


def test_enums_defaults_and_examples_are_published() -> None:
    definitions = committed()["definitions"]
    budget = definitions["TokenBudget"]["properties"]
    assert budget["per_call"]["default"] == 8192
    assert budget["overflow_policy"]["enum"] == ["abort", "warn", "summarize"]
    assert definitions["Agent"]["properties"]["id"]["examples"] == ["researcher"]
    assert definitions["Agent"]["additionalProperties"] is False


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_valid_under_the_schema(example: Path) -> None:
    doc, _ = load_file(str(example))
    assert doc is not None
    jsonschema.Draft7Validator(committed()).validate(doc.data)


def schema_error_cases() -> list[Path]:
    """Golden cases of schema errors, except those using ${VAR}: interpolation happens before
    validation, so the schema sees different text there."""
    codes = ("AX201", "AX202", "AX203", "AX204", "AX207")
    return [p for p in GOLDEN if p.name.startswith(codes) and "${" not in split(p)[0]]


@pytest.mark.parametrize("case", schema_error_cases(), ids=lambda p: p.stem)
def test_schema_rejects_what_axoc_rejects_as_schema_errors(case: Path, tmp_path: Path) -> None:
    """The editor's schema and `axoc check` agree: a config axoc rejects for its shape is
    rejected by the JSON schema too."""
    source, _ = split(case)
    copy = tmp_path / "case.axoc.yaml"
    copy.write_text(source, encoding="utf-8")
    doc, _ = load_file(str(copy))
    assert doc is not None
    errors = list(EcmaValidator(committed()).iter_errors(doc.data))
    assert errors, f"{case.name}: axoc reports a schema error the JSON schema accepts"


def test_config_reference_doc_is_generated_from_the_schema(update_golden: bool) -> None:
    from axoc.reference import render

    path = ROOT / "docs" / "config-reference.md"
    fresh = render(config_schema())
    if update_golden:
        path.write_text(fresh, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == fresh, "run: axoc schema --format markdown -o …"
    for name in committed()["definitions"]:
        assert f"## {name}\n" in fresh
