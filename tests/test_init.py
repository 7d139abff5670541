"""`axoc init [DIR]`: a starter config that checks clean and dry-runs, with the schema modeline
and the schema it points at, and `.axoc/` in the .gitignore exactly once; never over a config."""

from __future__ import annotations

from pathlib import Path

import pytest

from axoc.schema import config_schema, dumps
from tests.helpers import axoc, axoc_process

MODELINE = "# yaml-language-server: $schema=./schema/axoc.schema.json\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_init_writes_a_project_that_checks_clean_and_dry_runs(tmp_path: Path) -> None:
    project = tmp_path / "new" / "project"  # created, parents too
    result = axoc_process("init", str(project))
    assert result.code == 0, result.err
    assert sorted(snapshot(project)) == [".gitignore", "axoc.yaml", "schema/axoc.schema.json"]
    config = (project / "axoc.yaml").read_text(encoding="utf-8")
    assert config.startswith(MODELINE)
    assert config.count("\n# ") >= 5  # commented for a newcomer
    assert (project / "schema" / "axoc.schema.json").read_text() == dumps(config_schema())
    assert (project / ".gitignore").read_text().splitlines() == ["# axoc run records", ".axoc/"]
    checked = axoc_process("check", str(project), "--strict")
    assert checked.code == 0 and checked.out == "0 errors, 0 warnings in 1 file\n"
    ran = axoc_process("run", str(project / "axoc.yaml"), "--dry-run", "-i", "Why?",
                       "--state-dir", str(tmp_path / "state"))  # fmt: skip
    assert ran.code == 0, ran.err
    assert ran.out.startswith("summarizer <- ") and "Original task: Why?" in ran.out
    assert (
        result.out.splitlines()[0]
        == f"created {project}/axoc.yaml: a researcher, then a summarizer; edit it"
    )


def test_init_without_dir_uses_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = axoc("init")
    assert result.code == 0
    assert result.out.splitlines()[0].startswith("created axoc.yaml: ")
    assert (tmp_path / "axoc.yaml").is_file() and (tmp_path / "schema").is_dir()


@pytest.mark.parametrize("existing", ["axoc.yaml", "axoc.yml"])
def test_init_never_writes_over_a_config(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("agents: []\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("build/\n", encoding="utf-8")
    before = snapshot(tmp_path)
    result = axoc("init", str(tmp_path))
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"axoc init: {tmp_path}/{existing} exists already; axoc init writes nothing over a config\n"
    )
    assert snapshot(tmp_path) == before  # nothing written: no schema, .gitignore untouched


def test_init_refuses_a_file_as_dir(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x", encoding="utf-8")
    result = axoc("init", str(path))
    assert result.code == 2 and result.err == f"axoc init: {path} is not a directory\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("build/\n", "build/\n.axoc/\n"),
        ("build/", "build/\n.axoc/\n"),  # no final line break: the entry still gets its own line
        ("", ".axoc/\n"),
        ("build/\n/.axoc\n", "build/\n/.axoc\n"),  # ignored already, another spelling: kept
        (".axoc/\n", ".axoc/\n"),
    ],
)
def test_init_adds_the_state_directory_to_gitignore_once(
    tmp_path: Path, before: str, after: str
) -> None:
    (tmp_path / ".gitignore").write_text(before, encoding="utf-8")
    assert axoc("init", str(tmp_path)).code == 0
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == after
