"""Helpers shared by tests: run the CLI in-process or as a real process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from axoc.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def axoc(*args: str) -> Result:
    """Run the CLI in this process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def axoc_process(
    *args: str, timeout: float = 30, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> Result:
    """Run `python -m axoc` as a real process."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "axoc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )
    return Result(done.returncode, done.stdout, done.stderr)
