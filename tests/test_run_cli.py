"""`axoc run` and `axoc tokens report` through the CLI, with the built-in echo provider."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from axoc.pipeline import STAGES, compile_file
from tests.conftest import ROOT
from tests.helpers import axoc, axoc_process

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")


def test_the_readme_dry_run(tmp_path: Path) -> None:
    result = axoc(
        "run", HELLO, "--dry-run", "-i", "Why is the sky blue?", "--state-dir", str(tmp_path)
    )
    assert result.code == 0, result.err
    assert result.out == (
        "summarizer <- Previous agent outputs: [researcher]: researcher <- Why is the sky blue? "
        "Original task: Why is the sky blue?\n"
    )
    assert "completed (exit 0); 2 activations" in result.err


def test_json_streams_one_object_per_event(tmp_path: Path) -> None:
    result = axoc("run", HELLO, "--dry-run", "--json", "-i", "q", "--state-dir", str(tmp_path))
    assert result.code == 0
    records = [json.loads(line) for line in result.out.splitlines()]
    kinds = [r["event"] for r in records]
    assert kinds[:2] == ["run", "published"] and kinds[-2:] == ["stopped", "output"]
    assert [r["agent"] for r in records if r["event"] == "activated"] == [
        "researcher",
        "summarizer",
    ]
    run_id = records[0]["run_id"]
    assert (tmp_path / "runs" / run_id / "journal.jsonl").is_file()
    assert records[0]["target"] == "hello-world" and records[0]["resumed"] is False
    times = [r["t"] for r in records if "t" in r]
    assert times == sorted(times)  # when things happened, in order
    output = records[-1]
    assert output["run_id"] == run_id and output["stop_reason"] == "completed"
    assert output["exit_code"] == 0
    assert output["outputs"]["summarizer"].startswith("summarizer <- ")


@pytest.mark.parametrize(
    ("example", "extra"),
    [
        ("hello-world", ()),
        ("research-pipeline", ()),
        ("quorum", ()),
        ("incident-response", ()),
        ("multi-provider", ()),
        ("skills-lattice", ("--fire", "write-code")),
    ],
)
def test_every_example_runs_dry(example: str, extra: tuple[str, ...], tmp_path: Path) -> None:
    path = str(ROOT / "examples" / f"{example}.axoc.yaml")
    result = axoc("run", path, "--dry-run", "-i", "x", "--state-dir", str(tmp_path), *extra)
    assert result.code == 0, result.err
    assert result.out.strip()


def test_a_saved_plan_runs_like_its_config(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert axoc("plan", HELLO, "--format", "json", "-o", str(plan)).code == 0
    from_plan = axoc("run", str(plan), "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    from_config = axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    assert from_plan.code == from_config.code == 0
    assert from_plan.out == from_config.out


def test_a_json_config_runs_like_its_yaml(tmp_path: Path) -> None:
    config = tmp_path / "hello.json"
    config.write_text(json.dumps(yaml.safe_load(Path(HELLO).read_text(encoding="utf-8"))))
    from_json = axoc("run", str(config), "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    from_yaml = axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    assert from_json.code == from_yaml.code == 0, from_json.err
    assert from_json.out == from_yaml.out
    flow_style = tmp_path / "flow.axoc.yaml"  # a YAML flow mapping, not JSON: a config too
    flow_style.write_text(
        "{agents: [{id: a, provider: echo}], workflows: [{id: w, agents: [a]}]}\n"
    )
    assert axoc("run", str(flow_style), "--dry-run", "--state-dir", str(tmp_path)).code == 0


def test_a_json_config_with_errors_gets_located_diagnostics(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(
        '{"agents": [{"id": "a", "provider": "echo", "depends_on": ["zz"]}],\n'
        ' "workflows": [{"id": "w", "agents": ["a"]}]}\n'
    )
    result = axoc("run", str(config), "--dry-run", "--state-dir", str(tmp_path))
    assert result.code == 2
    column = config.read_text().index('"zz"') + 1
    assert f"{config}:1:{column}: error: unknown agent 'zz' [AX302]" in result.err


def test_a_saved_plan_is_told_by_content_whatever_its_name(tmp_path: Path) -> None:
    plan = tmp_path / "saved.plan"
    assert axoc("plan", HELLO, "--format", "json", "-o", str(plan)).code == 0
    result = axoc("run", str(plan), "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    assert result.code == 0, result.err
    assert result.out.startswith("summarizer <- ")
    reordered = tmp_path / "reordered.json"  # "format" not first: still a plan, checked whole
    table = json.loads(plan.read_text(encoding="utf-8"))
    reordered.write_text(json.dumps(dict(reversed(list(table.items())))), encoding="utf-8")
    again = axoc("run", str(reordered), "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    assert again.code == 0, again.err
    assert again.out == result.out


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (
            '{"name": "x", "steps": []}',
            'a saved plan has "format": "axoc.signal-table/1", a config has agents or workflows; '
            "this JSON object has neither (its keys: name, steps)",
        ),
        ("[1, 2]", "its top level is not a JSON object"),
        ('{"agents": [', "not JSON (line 1, column 13: Expecting value)"),
    ],
)
def test_a_json_file_that_is_neither_plan_nor_config_is_refused(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    result = axoc("run", str(path), "--dry-run", "--state-dir", str(tmp_path))
    assert result.code == 2 and result.out == ""
    assert result.err == f"axoc run: {path} is neither a saved plan nor a config: {why}\n"
    assert not (tmp_path / "runs").exists()


def test_a_plan_of_another_format_is_refused_as_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "future.json"
    path.write_text('{"format": "axoc.signal-table/9"}', encoding="utf-8")
    result = axoc("run", str(path), "--dry-run")
    assert result.code == 2
    assert f"{path} is not a signal table: unsupported format 'axoc.signal-table/9'" in result.err


def test_a_corrupt_plan_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert axoc("plan", HELLO, "--format", "json", "-o", str(plan)).code == 0
    plan.write_text(plan.read_text().replace('"threshold":0.5', '"threshold":0.25'))
    result = axoc("run", str(plan), "--dry-run")
    assert result.code == 2
    assert "is not a signal table: digest mismatch" in result.err


def test_a_plan_with_an_unbounded_loop_stops_at_max_activations(tmp_path: Path) -> None:
    config = tmp_path / "loop.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: w, provider: echo}\n  - {id: e, provider: echo}\nskills:\n"
        "  - {id: draft, agents: [w], reacts_to: [Edited], emits: [Drafted]}\n"
        "  - {id: edit, agents: [e], reacts_to: [Drafted], emits: [Edited]}\n",
        encoding="utf-8",
    )
    unit = compile_file(str(config), os.environ, STAGES[:-1])  # check would refuse it (AX505)
    assert unit.lowered is not None
    plan = tmp_path / "loop.json"
    plan.write_text(unit.lowered.table.to_json(), encoding="utf-8")
    result = axoc("run", str(plan), "--fire", "draft", "--state-dir", str(tmp_path))
    assert result.code == 5
    assert "max_activations (exit 5); 6 activations" in result.err


def test_a_budget_refusal_exits_4(tmp_path: Path) -> None:
    config = tmp_path / "b.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo, token_budget: {per_call: 20}}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(config), "-i", "hello", "--state-dir", str(tmp_path))
    assert result.code == 4
    assert "budget_exhausted (exit 4)" in result.err


def test_a_config_with_errors_is_refused_with_its_diagnostics(tmp_path: Path) -> None:
    config = tmp_path / "e.axoc.yaml"
    config.write_text("agents:\n  - {id: a, provider: echo, depends_on: [zz]}\n", encoding="utf-8")
    result = axoc("run", str(config), "--dry-run")
    assert result.code == 2
    assert "unknown agent 'zz' [AX302]" in result.err
    assert "unset variable" not in result.err  # the refusal says what it is about


def test_an_unset_variable_is_an_error_before_any_request(tmp_path: Path) -> None:
    config = tmp_path / "v.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo, system_prompt: 'Use ${AXOC_TEST_NEVER_SET}'}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(config), "--dry-run")
    assert result.code == 2
    assert "cannot run (an unset variable is an error at run time):" in result.err
    assert "error: environment variable AXOC_TEST_NEVER_SET is not set [AX303]" in result.err
    assert "1 error, 0 warnings" in result.err


def test_a_missing_api_key_is_refused_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = tmp_path / "k.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: openai, model: gpt-4o-mini}\nworkflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(config), "--state-dir", str(tmp_path / "state"))
    assert result.code == 2
    assert "provider 'openai' needs an API key: set OPENAI_API_KEY" in result.err
    assert not (tmp_path / "state").exists()  # refused before any run record was made


def test_choosing_the_workflow(tmp_path: Path) -> None:
    config = tmp_path / "two.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo}\nworkflows:\n  - {id: one, agents: [a]}\n"
        "  - {id: two, agents: [a]}\n",
        encoding="utf-8",
    )
    missing = axoc("run", str(config), "--dry-run")
    assert missing.code == 2 and "choose a workflow with -w (workflows: one, two)" in missing.err
    assert (
        axoc("run", str(config), "-w", "two", "--dry-run", "--state-dir", str(tmp_path)).code == 0
    )
    assert axoc("run", str(config), "-w", "three", "--dry-run").code == 2
    assert axoc("run", str(config), "--fire", "nope", "--dry-run").code == 2


def test_a_misspelt_workflow_or_skill_gets_a_did_you_mean(tmp_path: Path) -> None:
    config = tmp_path / "two.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo}\nworkflows:\n  - {id: research, agents: [a]}\n"
        "  - {id: review, agents: [a]}\nskills:\n  - {id: write-code, agents: [a]}\n",
        encoding="utf-8",
    )
    flow = axoc("run", str(config), "-w", "reserch", "--dry-run", "--state-dir", str(tmp_path))
    assert flow.code == 2 and flow.out == ""
    assert flow.err == (
        "axoc run: no workflow 'reserch' (did you mean 'research'? workflows: research, review)\n"
    )
    skill = axoc("run", str(config), "--fire", "write_code", "--dry-run")
    assert skill.code == 2
    assert (
        skill.err
        == "axoc run: no skill 'write_code' (did you mean 'write-code'? skills: write-code)\n"
    )
    far = axoc("run", str(config), "-w", "zzz", "--dry-run")
    assert far.err == "axoc run: no workflow 'zzz' (workflows: research, review)\n"
    assert not (tmp_path / "runs").exists()  # refused before any run record


def test_tokens_report(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    assert axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", state).code == 0
    text = axoc("tokens", "report", "--state-dir", state)
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0].endswith("(hello-world): completed")
    assert lines[1].split() == ["agent", "input", "output", "total"]
    rows = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in lines[2:]}
    assert rows["total"] == [
        a + b for a, b in zip(rows["researcher"], rows["summarizer"], strict=True)
    ]
    as_json = json.loads(axoc("tokens", "report", "--format", "json", "--state-dir", state).out)
    assert as_json["totals"]["total"] == rows["total"][2]
    assert axoc("tokens", "report", "--run", "nope", "--state-dir", state).code == 2


def test_run_records_are_private(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    assert axoc("run", HELLO, "--dry-run", "--state-dir", str(state)).code == 0
    (folder,) = state.glob("runs/*")
    assert sorted(p.name for p in folder.iterdir()) == ["journal.jsonl", "lock", "plan.json"]
    for record in folder.iterdir():
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
    for directory in (state, state / "runs", folder):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not list(state.glob("agents/*/*/*"))  # echo's turns are not checkpointed


def test_runs_list_and_show(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", state).code == 0
    listing = axoc("runs", "list", "--state-dir", state)
    assert listing.code == 0
    header, row = listing.out.splitlines()
    assert header.split()[:4] == ["run", "target", "status", "tokens"]
    run_id, flow, status, tokens = row.split()[:4]
    report = json.loads(axoc("tokens", "report", "--format", "json", "--state-dir", state).out)
    assert (flow, status, int(tokens)) == ("hello-world", "completed", report["totals"]["total"])
    shown = axoc("runs", "show", run_id, "--state-dir", state)
    assert shown.code == 0
    assert shown.out.splitlines()[1] == f"status: completed; {tokens} tokens"
    used = report["usage"]["researcher"]
    assert f"  researcher: {used['input']} input, {used['output']} output" in shown.out
    assert shown.out.rstrip().endswith("summarizer: completed")
    assert axoc("runs", "show", "nope", "--state-dir", state).code == 2


def test_runs_show_tells_what_was_in_flight(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", state).code == 0
    (folder,) = tmp_path.glob("runs/*")
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:4]))  # killed once summarizer had started
    shown = axoc("runs", "show", folder.name, "--state-dir", state).out.splitlines()
    assert "status: interrupted; " in shown[1]
    assert "in flight (started, no outcome recorded): summarizer" in shown
    timeline = [line.split(None, 1)[1] for line in shown[shown.index("timeline:") + 1 :]]
    assert timeline == [
        "researcher: started", "researcher: completed", "summarizer: started",
    ]  # fmt: skip


def test_resume_refusals(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert axoc("run", HELLO, "--dry-run", "--state-dir", state).code == 0
    (folder,) = tmp_path.glob("runs/*")
    ended = axoc("run", HELLO, "--dry-run", "--resume", folder.name, "--state-dir", state)
    assert ended.code == 2 and f"run {folder.name} already ended: completed" in ended.err
    nobody = "20000101T000000.000000-000000"  # a run id, of no run
    unknown = axoc("run", HELLO, "--dry-run", "--resume", nobody, "--state-dir", state)
    assert unknown.code == 2 and f"no run '{nobody}'" in unknown.err


def test_resume_refuses_a_changed_config_unless_allowed(tmp_path: Path) -> None:
    config = tmp_path / "c.axoc.yaml"
    config.write_text(Path(HELLO).read_text(encoding="utf-8"), encoding="utf-8")
    state = str(tmp_path / "state")
    assert axoc("run", str(config), "--dry-run", "--state-dir", state).code == 0
    (folder,) = (tmp_path / "state").glob("runs/*")
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:3]))  # killed after the first tick: header, started, tick
    config.write_text(
        config.read_text().replace("per_call: 1000", "per_call: 1500"), encoding="utf-8"
    )
    refused = axoc("run", str(config), "--dry-run", "--resume", folder.name, "--state-dir", state)
    assert refused.code == 2
    assert "the config changed since run" in refused.err
    assert "~ agent researcher: budget.per_call 1000 → 1500" in refused.err
    allowed = axoc("run", str(config), "--dry-run", "--resume", folder.name, "--allow-config-drift",
                   "--state-dir", state)  # fmt: skip
    assert allowed.code == 0, allowed.err
    assert allowed.out.startswith("summarizer <- ")


def test_a_live_run_cannot_be_resumed_twice(tmp_path: Path) -> None:
    from axoc.runs import Lock

    state = str(tmp_path)
    assert axoc("run", HELLO, "--dry-run", "--state-dir", state).code == 0
    (folder,) = tmp_path.glob("runs/*")
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:3]))
    held = Lock(folder)  # another process holding the run
    try:
        result = axoc("run", HELLO, "--dry-run", "--resume", folder.name, "--state-dir", state)
        assert (
            result.code == 2 and f"run {folder.name} is still live in another process" in result.err
        )
    finally:
        held.release()
    assert axoc("run", HELLO, "--dry-run", "--resume", folder.name, "--state-dir", state).code == 0


def test_run_as_a_process_prints_no_traceback(tmp_path: Path) -> None:
    result = axoc_process("run", HELLO, "--dry-run", "-i", "q", "--state-dir", str(tmp_path))
    assert result.code == 0 and "Traceback" not in result.err


def test_a_malformed_base_url_is_refused_before_any_request(tmp_path: Path) -> None:
    config = tmp_path / "u.axoc.yaml"
    config.write_text(
        "providers:\n  lab: {kind: openai_compatible, base_url: 'not a url'}\n"
        "agents:\n  - {id: a, provider: lab, model: m}\nworkflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(config))
    assert result.code == 2
    assert result.err.startswith("axoc run: ") and "Traceback" not in result.err


def test_an_unusable_state_directory_is_refused_before_any_work(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "state"
    not_a_folder.write_text("a file, not a directory", encoding="utf-8")
    result = axoc("run", HELLO, "--dry-run", "--state-dir", str(not_a_folder))
    assert result.code == 2
    assert result.err.startswith(f"axoc run: cannot write the run record in {not_a_folder}")
    assert result.out == ""
    runs_blocked = tmp_path / "other"  # a run's checkpoints go in its folder, in runs/
    runs_blocked.mkdir()
    (runs_blocked / "runs").write_text("not a directory", encoding="utf-8")
    result = axoc("run", HELLO, "--dry-run", "--state-dir", str(runs_blocked))
    assert result.code == 2 and "cannot write the run record" in result.err
    assert result.out == "" and sorted(p.name for p in runs_blocked.iterdir()) == ["runs"]


def test_a_full_disk_is_refused_before_any_work(tmp_path: Path) -> None:
    import resource
    import signal
    import subprocess
    import sys

    def tiny_disk() -> None:  # in the child: any file grown past 64 bytes fails (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    state = tmp_path / "state"
    done = subprocess.run(
        [sys.executable, "-m", "axoc", "run", HELLO, "--dry-run", "--state-dir", str(state)],
        capture_output=True, text=True, timeout=30, preexec_fn=tiny_disk, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "cannot write the run record" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""  # nothing ran


def test_resume_reports_a_torn_journal_and_continues(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", state).code == 0
    (folder,) = tmp_path.glob("runs/*")
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:2]) + lines[2][:10])  # killed writing the first tick
    result = axoc("run", HELLO, "--dry-run", "--resume", folder.name, "--state-dir", state)
    assert result.code == 0
    assert "warning: " in result.err and "is torn; it was dropped" in result.err
    assert result.out.startswith("summarizer <- ")
