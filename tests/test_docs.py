"""Generated blocks in the docs stay true: a fenced block right after a line
`<!-- generated: axoc ARGS -->` must equal the output of `axoc ARGS` (run from the repository
root); `--update-golden` rewrites the blocks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import axoc

MARK = re.compile(
    r"<!-- generated: axoc (?P<args>[^>]*?) -->\n```(?P<lang>\w*)\n(?P<body>.*?)```", re.S
)
DOCS = sorted((ROOT / "docs").glob("*.md"))


def generated(path: Path) -> list[re.Match[str]]:
    return list(MARK.finditer(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("doc", [d for d in DOCS if generated(d)], ids=lambda p: p.name)
def test_generated_blocks_are_current(
    doc: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    text = doc.read_text(encoding="utf-8")

    def fresh(match: re.Match[str]) -> str:
        result = axoc(*shlex.split(match["args"]))
        assert result.code == 0, f"axoc {match['args']}: {result.err}"
        return f"<!-- generated: axoc {match['args']} -->\n```{match['lang']}\n{result.out}```"

    rewritten = MARK.sub(fresh, text)
    if update_golden:
        doc.write_text(rewritten, encoding="utf-8")
    assert rewritten == text, f"{doc.name} is stale: run pytest tests/test_docs.py --update-golden"


def test_lattice_doc_and_gallery_have_generated_diagrams() -> None:
    assert len(generated(ROOT / "docs" / "lattice.md")) >= 2
    gallery = generated(ROOT / "docs" / "examples.md")
    drawn = {m["args"].split()[1] for m in gallery if "--format mermaid" in m["args"]}
    assert drawn == {f"examples/{p.name}" for p in (ROOT / "examples").glob("*.axoc.yaml")}
