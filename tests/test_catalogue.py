"""The diagnostics catalogue (docs/diagnostics.md) and the golden `check` cases behind it.

docs/diagnostics.md must equal `tests.catalogue.render()`; `--update-golden` rewrites it (after
refreshing the golden cases it shows). Every code is documented with a failing example, every
golden case named for a code really reports that code, and every shell example replays.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from axoc.cli import main
from axoc.codes import CODES
from tests import catalogue
from tests.catalogue import DOC, GOLDEN, SHELL_EXAMPLES, CatalogueError, golden_cases, render
from tests.conftest import ROOT
from tests.golden import compare, split
from tests.test_golden_check import run_check

ALL_CASES = sorted(GOLDEN.glob("*.yaml"))
CASE_KINDS = re.compile(r"^(?:(?P<code>AX\d{3})|multi|ok)-[a-z0-9-]+\.yaml$")


def expected_of(case: Path) -> str:
    _, expected = split(case)
    assert expected is not None, f"{case.name}: no expected output (run --update-golden)"
    return expected


def test_docs_match_render(update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if update_golden:
        # Refresh the cases the catalogue shows first, so one --update-golden run is enough
        # whatever order the test files run in.
        monkeypatch.chdir(ROOT)
        for cases in golden_cases().values():
            code, output = run_check(cases[0].path.relative_to(ROOT).as_posix())
            compare(cases[0].path, f"exit {code}\n{output}", update=True)
        DOC.write_text(render(), encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/diagnostics.md is out of date (run pytest tests/test_catalogue.py --update-golden)"
    )


def test_every_code_has_an_example() -> None:
    cases = golden_cases()
    missing = [code for code in CODES if code not in cases and code not in SHELL_EXAMPLES]
    assert missing == []


def test_every_code_has_a_section() -> None:
    text = render()
    for code, title in CODES.items():
        assert f"## {code} — {title}\n" in text


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_case_demonstrates_its_name(case: Path) -> None:
    match = CASE_KINDS.match(case.name)
    assert match, f"{case.name}: name it AXnnn-slug.yaml, multi-slug.yaml or ok-slug.yaml"
    source, expected = case.read_text(encoding="utf-8").split("\n"), expected_of(case)
    assert source[0].startswith("# "), f"{case.name}: first line says what the case demonstrates"
    codes = set(re.findall(r"\[(AX\d{3})\]$", expected, flags=re.MULTILINE))
    if match["code"]:
        assert match["code"] in CODES
        assert match["code"] in codes, f"{case.name}: output does not report {match['code']}"
    elif case.name.startswith("multi-"):
        reported = re.findall(r"^\S+:\d+:\d+: (?:error|warning): ", expected, flags=re.MULTILINE)
        assert len(codes) >= 2 and len(reported) >= 3, f"{case.name}: shows too few problems"
    else:
        assert expected == "exit 0\n0 errors, 0 warnings in 1 file\n", f"{case.name}: not clean"


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_no_traceback_in_expected_output(case: Path) -> None:
    expected = expected_of(case)
    assert "Traceback (most recent call last)" not in expected
    assert "internal error" not in expected
    assert expected.startswith(("exit 0\n", "exit 1\n"))


def test_secrets_are_masked_in_expected_output() -> None:
    shown = [
        line
        for case in ALL_CASES
        for line in expected_of(case).splitlines()
        if re.match(r"\s+api_key:", line)
    ]
    assert shown, "some golden case shows an api_key line"
    assert all(line.split("api_key:", 1)[1].strip() == "****" for line in shown)


@pytest.mark.parametrize("code", sorted(SHELL_EXAMPLES))
def test_shell_example_replays(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = SHELL_EXAMPLES[code]
    for command in example.setup:
        program = command.split()[0]
        assert shutil.which(program) and shutil.which("sh"), f"this example needs {program} and sh"
        subprocess.run(["sh", "-c", command], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        monkeypatch.delenv(name)
    out = io.StringIO()
    with redirect_stdout(out):
        exit_code = main(["check", *example.argv])
    assert (exit_code, out.getvalue()) == (example.exit, example.output)


def test_render_refuses_an_undocumented_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalogue.CODES, "AX999", "a code nobody documented")
    with pytest.raises(CatalogueError, match="AX999: no explanation"):
        render()
    monkeypatch.setitem(catalogue.EXPLANATIONS, "AX999", "Explained, but never shown.")
    with pytest.raises(CatalogueError, match="AX999: no golden case"):
        render()


def test_render_refuses_a_missing_explanation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(catalogue.EXPLANATIONS, "AX401")
    with pytest.raises(CatalogueError, match="AX401: no explanation"):
        render()
