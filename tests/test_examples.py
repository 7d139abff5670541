"""Examples are tests: every config in examples/ (and its subdirectories, such as examples/tools/)
is discovered and must check clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import axoc

EXAMPLES = sorted((ROOT / "examples").rglob("*.axoc.yaml"))


def test_the_examples_are_there() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "hello-world.axoc.yaml",
        "research-pipeline.axoc.yaml",
        "skills-lattice.axoc.yaml",
        "incident-response.axoc.yaml",
        "multi-provider.axoc.yaml",
        "quorum.axoc.yaml",
        "wasm-emit.axoc.yaml",
    } <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_checks_clean(example: Path) -> None:
    result = axoc("check", "--strict", str(example))
    assert result.code == 0, result.out
    assert result.out.endswith("0 errors, 0 warnings in 1 file\n")


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_has_modeline_and_comment(example: Path) -> None:
    lines = example.read_text(encoding="utf-8").splitlines()
    up = "../" * len(example.relative_to(ROOT).parents[:-1])
    assert lines[0] == f"# yaml-language-server: $schema={up}schema/axoc.schema.json"
    comment = [line for line in lines[1:12] if line.startswith("# ") and len(line) > 20]
    assert comment, f"{example.name} should say in a comment what it shows"


def test_checking_the_examples_directory_finds_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = axoc("check", "examples")
    assert result.code == 0
    assert result.out == f"0 errors, 0 warnings in {len(EXAMPLES)} files\n"
