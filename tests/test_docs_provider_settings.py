"""docs/provider-settings.md stays true: every config snippet passes `axoc check`, and its table
lists every provider kind of the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from axoc.providers import registry
from tests.conftest import ROOT
from tests.helpers import axoc

PAGE = ROOT / "docs" / "provider-settings.md"
SNIPPETS = re.findall(r"```yaml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.split("\n")[1].strip()[:30])
def test_every_snippet_is_a_valid_config(snippet: str, tmp_path: Path) -> None:
    path = tmp_path / "snippet.axoc.yaml"
    path.write_text(snippet, encoding="utf-8")
    result = axoc("check", str(path))
    assert result.code == 0, result.out


def test_the_table_lists_every_kind() -> None:
    rows = re.findall(r"^\| `(\w+)` \|", PAGE.read_text(encoding="utf-8"), re.M)
    assert rows == [kind.name for kind in registry.kinds()]
