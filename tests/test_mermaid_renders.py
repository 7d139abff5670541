"""Our Mermaid diagrams parse and render with the real Mermaid library, as GitHub would show them.

Every example's `axoc plan --format mermaid` output, and every golden Mermaid expectation, goes
through tests/mermaid/check.mjs: Mermaid's parser and renderer in headless Chromium, one Node
process for all of them, drawing each to a PNG. A broken diagram rides along to prove the
parser is live. Needs Node, Debian's chromium and `npm ci --prefix tests/mermaid`; a missing
piece fails the test with the command that installs it, never skips it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests import golden
from tests.conftest import ROOT

CHECKER = ROOT / "tests" / "mermaid"
EXAMPLES = sorted((ROOT / "examples").glob("*.axoc.yaml"))
GOLDEN = sorted((ROOT / "tests" / "golden" / "plan").glob("*-mermaid.yaml"))
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")  # as check.mjs
BROKEN = 'flowchart LR\n  a -->|"unclosed| b\n'


def _setup_problem() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed (apt-get install -y nodejs npm)"
    if (
        not (CHECKER / "node_modules" / "mermaid").is_dir()
        or not (CHECKER / "node_modules" / "puppeteer-core").is_dir()
    ):
        return "the Mermaid checker's packages are missing: run `npm ci --prefix tests/mermaid`"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM}: run `apt-get install -y chromium`"
    return None


def _plan(example: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "axoc", "plan", str(example), "--format", "mermaid"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"axoc plan {example.name} failed:\n{done.stderr}"
    assert done.stdout.startswith("flowchart "), done.stdout
    return done.stdout


def test_examples_and_golden_diagrams_parse_and_render(tmp_path: Path) -> None:
    problem = _setup_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    assert EXAMPLES, "no examples found"

    sources = tmp_path / "mmd"
    sources.mkdir()
    diagrams: list[Path] = []
    for example in EXAMPLES:
        path = sources / f"{example.name.removesuffix('.axoc.yaml')}.mmd"
        path.write_text(_plan(example), encoding="utf-8")
        diagrams.append(path)
    for case in GOLDEN:
        _, expected = golden.split(case)
        assert expected, f"{case.name} has no expected output"
        path = sources / f"golden-{case.stem}.mmd"
        path.write_text(expected, encoding="utf-8")
        diagrams.append(path)
    broken = sources / "zz-broken.mmd"
    broken.write_text(BROKEN, encoding="utf-8")

    pngs = tmp_path / "png"
    done = subprocess.run(
        ["node", str(CHECKER / "check.mjs"), "--png-dir", str(pngs)]
        + [str(p) for p in [*diagrams, broken]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=CHECKER,
    )
    report = f"{done.stdout}{done.stderr}"
    assert done.returncode in (0, 1), f"the Mermaid checker could not run:\n{report}"

    failed = [p for p in diagrams if f"FAIL {p}\n" in done.stdout]
    assert not failed, f"Mermaid rejects {[p.name for p in failed]}:\n{report}"
    for path in diagrams:
        assert f"ok   {path} (" in done.stdout, f"{path.name} was not checked:\n{report}"
        assert (pngs / f"{path.name}.png").stat().st_size > 0, f"no PNG for {path.name}"
    # The canary: Mermaid's parser really ran, and said what was wrong.
    assert done.returncode == 1, f"the broken diagram was accepted:\n{report}"
    assert f"FAIL {broken}\n  parse error: Parse error" in done.stdout, report

    for line in done.stdout.splitlines():
        if line.strip().startswith("warning:"):
            warnings.warn(f"Mermaid layout: {line.strip()}", stacklevel=1)


def test_checker_versions_are_pinned() -> None:
    package = json.loads((CHECKER / "package.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} should be pinned, not {version}"
    assert (CHECKER / "package-lock.json").is_file()
