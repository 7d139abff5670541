"""How a one-shot command ends its process: `check` and `plan` end it at once, without the
interpreter's teardown (`axoc.process.end`), so these check in real processes, their output
buffered, that nothing they print or write is lost, and that their exit codes are kept."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers import Result
from tests.helpers import axoc_process as python_m_axoc

HELLO = ROOT / "examples" / "hello-world.axoc.yaml"


def axoc_process(*args: str, timeout: float = 30) -> Result:
    """`python -m axoc` with its output buffered, as a user's shell has it."""
    return python_m_axoc(*args, timeout=timeout, env={"PYTHONUNBUFFERED": ""})


def test_a_check_report_larger_than_a_pipe_arrives_whole(tmp_path: Path) -> None:
    config = tmp_path / "many.axoc.yaml"
    agents = "".join(
        f"  - {{id: a{i}, provider: echo, depends_on: [missing{i}]}}\n" for i in range(900)
    )
    config.write_text("agents:\n" + agents, encoding="utf-8")
    done = axoc_process("check", str(config), "--format", "json", timeout=120)
    assert done.code == 1
    assert len(done.out) > 2**16  # more than a pipe holds: written while the parent reads
    report = json.loads(done.out)
    assert len(report["diagnostics"]) >= 900


def test_a_clean_check_exits_0_with_its_summary() -> None:
    done = axoc_process("check", str(HELLO))
    assert (done.code, done.out, done.err) == (0, "0 errors, 0 warnings in 1 file\n", "")


def test_a_plan_written_to_a_file_is_whole(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    done = axoc_process("plan", str(HELLO), "--format", "json", "-o", str(out))
    assert done.code == 0 and done.out == ""
    assert json.loads(out.read_text(encoding="utf-8"))["format"] == "axoc.signal-table/1"


def test_a_plan_of_an_unknown_workflow_keeps_its_exit_code() -> None:
    done = axoc_process("plan", str(HELLO), "-w", "nope")
    assert done.code == 2 and "nope" in done.err
