"""What a run starts from and what may stop it: one agent alone (`--agent`), one workflow among
others with errors, the variables a run needs (a dry run needs no secrets), and what the run
says about what it does not execute."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.helpers import axoc, axoc_process

TEAM = """\
agents:
  - {id: lead, provider: echo, role: coordinator}
  - {id: w1, provider: echo, role: worker}
workflows:
  - {id: team, agents: [w1], entry_point: lead}
"""

NO_WORKFLOW = """\
agents:
  - id: assistant
    provider: ollama
    model: llama3.2
    system_prompt: "You help."
  - {id: critic, provider: echo, tools: [read_file]}
providers:
  ollama: {base_url: "http://localhost:11434"}
"""

TWO_WORKFLOWS = """\
agents:
  - {id: a, provider: echo}
  - {id: b, provider: echo, depends_on: [a], activation_threshold: 5}
workflows:
  - {id: good, agents: [a]}
  - {id: bad, agents: [a, b]}
"""


def write(tmp_path: Path, text: str, name: str = "x.axoc.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def run(tmp_path: Path, config: str, *args: str) -> tuple[int, str, str]:
    result = axoc("run", config, "--state-dir", str(tmp_path / "state"), *args)
    return result.code, result.out, result.err


# --- one agent alone --------------------------------------------------------------------------


def test_agent_alone_in_a_config_without_workflows(tmp_path: Path) -> None:
    config = write(tmp_path, NO_WORKFLOW)
    code, out, err = run(tmp_path, config, "--agent", "assistant", "--dry-run", "-i", "hi")
    assert code == 0, err
    assert out == "assistant <- hi\n"
    assert "completed (exit 0); 1 activation" in err


def test_a_config_without_workflows_says_how_to_run_it(tmp_path: Path) -> None:
    config = write(tmp_path, NO_WORKFLOW)
    code, _, err = run(tmp_path, config, "--dry-run", "-i", "hi")
    assert code == 2
    assert "this config has no workflow: run one agent with --agent (assistant, critic)" in err


def test_unknown_agent_gets_a_did_you_mean(tmp_path: Path) -> None:
    config = write(tmp_path, NO_WORKFLOW)
    code, _, err = run(tmp_path, config, "--agent", "asistant", "--dry-run")
    assert code == 2
    assert "no agent 'asistant' (did you mean 'assistant'? agents: assistant, critic)" in err


def test_agent_alone_is_recorded_and_resumes(tmp_path: Path) -> None:
    config = write(tmp_path, NO_WORKFLOW)
    result = axoc("run", config, "--agent", "critic", "--dry-run", "--json", "-i", "x",
                  "--state-dir", str(tmp_path / "state"))  # fmt: skip
    records = [json.loads(line) for line in result.out.splitlines()]
    assert records[0]["target"] == "agent:critic"
    run_id = records[0]["run_id"]
    journal = tmp_path / "state" / "runs" / run_id / "journal.jsonl"
    header = json.loads(journal.read_text().splitlines()[0])
    assert header["agent"] == "critic" and header["dry_run"] is True
    # cut the journal to its header: the run is interrupted before it did anything
    journal.write_text(journal.read_text().splitlines()[0] + "\n")
    resumed = axoc(
        "run", config, "--resume", run_id, "--dry-run", "--state-dir", str(tmp_path / "state")
    )
    assert resumed.code == 0, resumed.err
    assert resumed.out == "critic <- x\n"


def test_agent_alone_of_a_saved_plan(tmp_path: Path) -> None:
    config = write(tmp_path, NO_WORKFLOW)
    plan = tmp_path / "plan.json"
    assert axoc("plan", config, "--format", "json", "-o", str(plan)).code == 0
    code, out, err = run(tmp_path, str(plan), "--agent", "critic", "--dry-run", "-i", "q")
    assert code == 0, err
    assert out == "critic <- q\n"


# --- one workflow's errors do not stop another -------------------------------------------------


def test_a_healthy_workflow_runs_beside_a_broken_one(tmp_path: Path) -> None:
    config = write(tmp_path, TWO_WORKFLOWS)
    assert axoc("check", config).code == 1  # the file has an error: check says so
    code, out, err = run(tmp_path, config, "-w", "good", "--dry-run", "-i", "q")
    assert code == 0, err
    assert out == "a <- q\n"
    code, _, err = run(tmp_path, config, "-w", "bad", "--dry-run", "-i", "q")
    assert code == 2
    assert "can never fire in workflow 'bad'" in err


def test_plan_leaves_a_broken_workflow_out(tmp_path: Path) -> None:
    config = write(tmp_path, TWO_WORKFLOWS)
    good = axoc("plan", config, "-w", "good", "--format", "json")
    assert good.code == 0
    plan = json.loads(good.out)
    assert [w["id"] for w in plan["workflows"]] == ["good"]
    assert all(u["workflow"] in ("good", None) for u in plan["units"])
    whole = axoc("plan", config)
    assert whole.code == 1
    assert "left out of the plan for their errors: bad" in whole.err
    assert "workflow good:" in whole.out and "workflow bad" not in whole.out
    assert axoc("plan", config, "-w", "bad").code == 1


def test_an_error_of_the_whole_config_stops_every_workflow(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        TWO_WORKFLOWS.replace(
            "  - {id: b,", "  - {id: c, provider: echo, dpends_on: []}\n  - {id: b,"
        ),
    )
    code, _, err = run(tmp_path, config, "-w", "good", "--dry-run")
    assert code == 2
    assert "unknown key 'dpends_on'" in err


def test_plan_of_a_config_without_workflows_shows_agents_and_skills(tmp_path: Path) -> None:
    config = write(
        tmp_path, NO_WORKFLOW + "skills:\n  - {id: review, agents: [critic], emits: [Reviewed]}\n"
    )
    result = axoc("plan", config)
    assert result.code == 0
    assert "agents (no workflow: run one alone with axoc run FILE --agent ID)" in result.out
    assert "  assistant  ollama    llama3.2  8192 / -" in result.out
    assert "skills (fire one with axoc run FILE --fire ID)" in result.out
    assert "  review  critic   -          Reviewed" in result.out


# --- variables: a dry run needs no secrets ------------------------------------------------------

SECRETS = """\
agents:
  - {id: a, provider: openai, model: gpt-4o, system_prompt: "${PROMPT:-be brief}"}
  - {id: idle, provider: anthropic, model: claude, system_prompt: "${IDLE_PROMPT}"}
workflows:
  - {id: w, agents: [a]}
providers:
  openai: {api_key: "${OPENAI_API_KEY}"}
  anthropic: {api_key: "${ANTHROPIC_API_KEY}"}
webhooks:
  - {name: alerts, url: "https://hooks.example.com", secret: "${WEBHOOK_SECRET}"}
"""


def test_a_dry_run_needs_no_secrets(tmp_path: Path) -> None:
    config = write(tmp_path, SECRETS)
    env = {"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "WEBHOOK_SECRET": "", "IDLE_PROMPT": ""}
    result = axoc_process("run", config, "--dry-run", "-i", "q", "--state-dir",
                          str(tmp_path / "s"), env=env)  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == "a <- q\n"


def test_a_real_run_needs_exactly_the_variables_it_uses(tmp_path: Path) -> None:
    config = write(tmp_path, SECRETS)
    env = {"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "WEBHOOK_SECRET": "", "IDLE_PROMPT": ""}
    result = axoc_process("run", config, "-i", "q", "--state-dir", str(tmp_path / "s"), env=env)
    assert result.code == 2
    assert "environment variable OPENAI_API_KEY is not set" in result.err
    for unused in ("ANTHROPIC_API_KEY", "WEBHOOK_SECRET", "IDLE_PROMPT"):  # not in this run
        assert unused not in result.err
    assert not (tmp_path / "s" / "runs").exists() or not any((tmp_path / "s" / "runs").iterdir())


def test_a_dry_run_still_needs_what_it_uses(tmp_path: Path) -> None:
    config = write(tmp_path, SECRETS.replace("${PROMPT:-be brief}", "${PROMPT}"))
    result = axoc_process("run", config, "--dry-run", "-i", "q", "--state-dir",
                          str(tmp_path / "s"), env={"PROMPT": ""})  # fmt: skip
    assert result.code == 2
    assert "environment variable PROMPT is not set" in result.err
    assert "(an unset variable is an error at run time)" in result.err


# --- what a run does not execute is said ---------------------------------------------------------


def test_the_run_says_what_it_does_not_execute(tmp_path: Path) -> None:
    config = write(tmp_path, TEAM)
    code, out, err = run(tmp_path, config, "--dry-run", "-i", "q")
    assert code == 0
    assert out == "lead <- q\n"
    assert (
        "axoc run: note: not executed by axoc run yet: coordinator delegation (lead) "
        "(axoc check names each)\n"
    ) in err
    assert "never ran, nothing activated them: w1" in err


@pytest.mark.parametrize(
    ("extra", "feature"),
    [
        (
            "schedules:\n  - {id: s, workflow: w, every: 1h}\n",
            "schedule s fire only under axoc serve",
        ),
        ("server: {port: 8080}\n", "Axocoatl keys (server)"),
    ],
)
def test_each_unexecuted_feature_is_in_the_note(tmp_path: Path, extra: str, feature: str) -> None:
    config = write(
        tmp_path,
        "agents:\n  - {id: a, provider: echo}\nworkflows:\n  - {id: w, agents: [a]}\n" + extra,
    )
    code, _, err = run(tmp_path, config, "--dry-run")
    assert code == 0
    note = next(line for line in err.splitlines() if line.startswith("axoc run: note:"))
    assert feature in note


def test_a_sink_that_never_runs_does_not_fail_the_run(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """\
    agents:
      - {id: support, provider: echo}
      - {id: architect, provider: echo}
      - {id: planner, provider: echo, depends_on: [architect]}
      - {id: coder, provider: echo, depends_on: [planner]}
    workflows:
      - {id: triage, agents: [support, planner, coder], entry_point: support}
    """,
    )
    code, out, err = run(tmp_path, config, "--dry-run", "-i", "bug")
    assert code == 0, err
    assert out == "support <- bug\n"
    assert "never ran, nothing activated them: coder, planner" in err
