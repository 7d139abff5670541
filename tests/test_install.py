"""axoc installs from a git URL, as docs/ci.md tells CI and pre-commit users to (axoc is not on
the package index): a real `pip install "axoc @ git+URL@COMMIT"`, not editable, and the
installed package runs, kernel included (it is installed as axoc.kernel from kernel/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_pip_installs_axoc_from_a_git_url(tmp_path: Path) -> None:
    source = tmp_path / "axoc-git"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(source)], check=True, timeout=120)
    commit = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    site = tmp_path / "site"
    # As a user's pip does it: setuptools comes from the index into an isolated build
    # environment. --no-deps: the dependencies are this environment's already.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         f"axoc @ git+file://localhost{source}@{commit}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    assert (site / "axoc" / "kernel" / "table.py").is_file()
    assert not (site / "kernel").exists()  # never a top-level `kernel` package
    env = {**os.environ, "PYTHONPATH": str(site)}
    checked = subprocess.run(
        [sys.executable, "-m", "axoc", "check", str(ROOT / "examples" / "hello-world.axoc.yaml")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    where = subprocess.run(
        [sys.executable, "-c", "import axoc.kernel.table as t; print(t.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(site))


def test_ci_docs_install_from_git_not_from_the_index() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert "axoc==" not in text  # no such release on the package index
    assert text.count('pip install "axoc @ git+${AXOC_GIT}@${AXOC_REF}"') == 3
    assert "additional_dependencies:" in text and '"axoc @ git+https://' in text


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(commands) == 2  # install and run; install and test
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert script[-1] == commands[1]
    # a new virtualenv, no pip cache: what a new user resolves, not what this machine has
    removal = [i for i, line in enumerate(script) if line.startswith("rm -rf .venv ")]
    assert removal and removal[0] < len(script) - 1
    assert any(line.startswith("export PIP_NO_CACHE_DIR=1 ") for line in script)
