"""The live status appears on a terminal (a real pseudo-terminal here) and never otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

EXAMPLE = str(ROOT / "examples" / "research-pipeline.axoc.yaml")


def dry_run(tmp_path: Path, stderr: int) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "axoc", "run", EXAMPLE, "--dry-run", "-i", "q"]
    return subprocess.run(
        [*command, "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        timeout=30,
        check=False,
    )


def test_live_status_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    done = dry_run(tmp_path, follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    screen = b"".join(chunks).decode()
    assert done.returncode == 0
    assert "\r\x1b[2Kwaiting 6  running 0  done 0  failed 0  skipped 0" in screen
    assert "waiting 0  running 0  done 6  failed 0  skipped 0" in screen
    assert "completed (exit 0); 6 activations" in screen
    assert "\x1b" not in done.stdout.decode()  # the final output stays clean


def test_no_status_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    done = dry_run(tmp_path, subprocess.PIPE)
    assert done.returncode == 0
    assert b"\x1b" not in done.stderr and b"waiting" not in done.stderr
