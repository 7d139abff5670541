"""`axoc check DIR` never skips a directory in silence: one that cannot be listed — DIR itself
or one met on the way down — is an AX100 located at it, and `check` exits 2, while everything
readable is still checked. Directories that are skipped by design (hidden ones, node_modules)
stay skipped, readable or not. Run as real processes that file permissions bind, even as root
(tests/readers.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.readers import as_reader, may_list

HELLO = (ROOT / "examples" / "hello-world.axoc.yaml").read_text(encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """project/ with a readable config, and configs in directories nobody may list:
    team/private/ (deep), .secret/ (hidden) and node_modules/."""
    root = tmp_path / "project"
    for folder in ("", "team", "team/private", ".secret", "node_modules"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "a.axoc.yaml").write_text(HELLO, encoding="utf-8")
    (root / "team" / "b.axoc.yaml").write_text(HELLO, encoding="utf-8")
    locked = [root / "team" / "private", root / ".secret", root / "node_modules"]
    for folder in locked:
        (folder / "hidden.axoc.yaml").write_text("agents: [", encoding="utf-8")  # an error
        os.chmod(folder, 0)
    try:
        yield root
    finally:
        for folder in locked:
            os.chmod(folder, 0o700)


def test_an_unreadable_subdirectory_is_a_located_ax100(tree: Path) -> None:
    private = tree / "team" / "private"
    assert not may_list(private)  # the permissions bind
    result = as_reader("check", str(tree))
    assert result.code == 2, result.err
    assert result.out.splitlines() == [
        f"{private}:1:1: error: cannot read this directory (Permission denied); the configs in "
        "it, if any, were not checked [AX100]",
        "1 error, 0 warnings in 2 files",  # the two readable configs were checked
    ]
    as_json = json.loads(as_reader("check", str(tree), "--format", "json").out)
    (diagnostic,) = as_json["diagnostics"]
    assert (diagnostic["file"], diagnostic["line"], diagnostic["column"]) == (str(private), 1, 1)
    assert diagnostic["code"] == "AX100" and diagnostic["severity"] == "error"
    github = as_reader("check", str(tree), "--format", "github")
    assert github.code == 2 and f"file={private},line=1" in github.out


def test_an_unreadable_directory_given_is_an_ax100_not_an_empty_one(tree: Path) -> None:
    private = tree / "team" / "private"
    result = as_reader("check", str(private))
    assert result.code == 2
    assert result.out.splitlines()[0] == (
        f"{private}:1:1: error: cannot read this directory (Permission denied); the configs in "
        "it, if any, were not checked [AX100]"
    )
    assert "AX113" not in result.out  # not "no config files"


def test_directories_skipped_by_design_stay_skipped(tree: Path) -> None:
    os.chmod(tree / "team" / "private", 0o700)
    (tree / "team" / "private" / "hidden.axoc.yaml").unlink()
    result = as_reader("check", str(tree))
    assert result.code == 0, result.out  # .secret/ and node_modules/ are never walked into
    assert result.out.splitlines()[-1] == "0 errors, 0 warnings in 2 files"
