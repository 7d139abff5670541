"""Golden tests for `axoc check`: each file in tests/golden/check is a config with the exact
expected text output below its divider (see tests/golden.py)."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from axoc.cli import main
from tests.conftest import ROOT
from tests.golden import compare

CASES = sorted((ROOT / "tests" / "golden" / "check").glob("*.yaml"))
ENV = {"AXOC_GOLDEN_SET": "value-from-env"}


def run_check(relative: str) -> tuple[int, str]:
    out = io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(ENV)
    try:
        with redirect_stdout(out):
            code = main(["check", relative])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    relative = case.relative_to(ROOT).as_posix()
    code, output = run_check(relative)
    compare(case, f"exit {code}\n{output}", update_golden)
    assert code in (0, 1)


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 10
