"""Axocoatl's configs are accepted as Axocoatl reads them; its own refusals are errors here too;
whatever axoc does not execute yet is named (AX205, AX208), and one root cause is reported once.

Each case is a small config checked in-process; the upstream corpus (tests/fixtures/axocoatl)
covers the real files."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from axoc.diagnostics import Diagnostic, Severity
from axoc.pipeline import compile_file

AGENT = "  - {id: a, provider: echo}\n"


def diagnostics(
    tmp_path: Path, text: str, env: Mapping[str, str] | None = None
) -> list[Diagnostic]:
    path = tmp_path / "x.axoc.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return compile_file(str(path), env or {}).diagnostics


def codes(found: list[Diagnostic], severity: Severity | None = None) -> list[str]:
    return [d.code for d in found if severity is None or d.severity is severity]


def errors(found: list[Diagnostic]) -> list[str]:
    return codes(found, Severity.ERROR)


def first_error(found: list[Diagnostic]) -> Diagnostic:
    return next(d for d in found if d.severity is Severity.ERROR)


# --- tools ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["bash", "glob", "edit_file"])
def test_axocoatl_builtin_tools_are_known(tmp_path: Path, tool: str) -> None:
    found = diagnostics(tmp_path, f"agents:\n  - {{id: a, provider: echo, tools: [{tool}]}}\n")
    assert errors(found) == []
    assert codes(found) == ["AX208"]  # named: axoc run does not offer this one yet
    assert f"lists '{tool}', which axoc run does not offer" in found[0].message


@pytest.mark.parametrize("tool", ["read_file", "list_dir", "grep", "write_file"])
def test_the_file_tools_run_so_they_are_not_named(tmp_path: Path, tool: str) -> None:
    found = diagnostics(tmp_path, f"agents:\n  - {{id: a, provider: echo, tools: [{tool}]}}\n")
    assert found == []


MCP = """\
mcp_servers:
  - name: filesystem
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
"""


def test_mcp_tools_of_a_configured_server(tmp_path: Path) -> None:
    text = "agents:\n  - {id: a, provider: echo, tools: [mcp__filesystem__read_file]}\n" + MCP
    found = diagnostics(tmp_path, text)
    assert errors(found) == []
    assert codes(found) == []  # axoc run starts the server and offers its tool (no AX208)


def test_mcp_tool_of_an_unknown_server(tmp_path: Path) -> None:
    text = "agents:\n  - {id: a, provider: echo, tools: [mcp__filesytem__read_file]}\n" + MCP
    found = [d for d in diagnostics(tmp_path, text) if d.severity is Severity.ERROR]
    assert [d.code for d in found] == ["AX302"]
    assert found[0].message == "unknown MCP server 'filesytem' in tool 'mcp__filesytem__read_file'"
    assert found[0].hint is not None and "did you mean 'filesystem'?" in found[0].hint


def test_bare_tool_name_served_by_mcp_is_a_warning(tmp_path: Path) -> None:
    text = "agents:\n  - {id: a, provider: echo, tools: [read_text_file]}\n" + MCP
    found = diagnostics(tmp_path, text)
    assert errors(found) == []
    unresolved = [d for d in found if d.code == "AX302"]
    assert unresolved[0].severity is Severity.WARNING
    assert "only known when it runs" in unresolved[0].message


def test_unknown_tool_without_mcp_is_an_error(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, "agents:\n  - {id: a, provider: echo, tools: [read_fil]}\n")
    assert errors(found) == ["AX302"]
    assert "did you mean 'read_file'?" in (first_error(found).hint or "")


# --- Axocoatl's own refusals are errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "code", "words"),
    [
        ("{name: t, transport: stdio}", "AX203", "needs a non-empty 'command'"),
        ("{name: t, transport: stdio, command: '  '}", "AX203", "needs a non-empty 'command'"),
        ("{name: r, transport: http, url: 'file:///etc/passwd'}", "AX204", "http(s) URL"),
        ("{name: r, transport: streamable_http, url: 'http://'}", "AX204", "http(s) URL"),
        ("{name: r, transport: streamable_http}", "AX203", "needs a non-empty 'url'"),
        ("{name: w, transport: carrier-pigeon}", "AX204", "unknown MCP transport"),
    ],
)
def test_mcp_server_shape(tmp_path: Path, server: str, code: str, words: str) -> None:
    found = diagnostics(tmp_path, f"mcp_servers:\n  - {server}\n")
    assert errors(found) == [code]
    assert words in first_error(found).message


def test_well_formed_mcp_servers(tmp_path: Path) -> None:
    text = MCP + "  - {name: remote, transport: streamable_http, url: 'https://mcp.example.com'}\n"
    assert errors(diagnostics(tmp_path, text)) == []


def test_mcp_secrets_are_not_quoted(tmp_path: Path) -> None:
    text = (
        "mcp_servers:\n  - {name: s, transport: stdio, command: x, env: {TOKEN: [sk-live-123]}}\n"
    )
    found = diagnostics(tmp_path, text)
    assert errors(found) == ["AX202"]
    assert "sk-live-123" not in first_error(found).message


@pytest.mark.parametrize(
    ("webhook", "words"),
    [
        ("{name: '', url: 'https://hooks.example.com'}", "webhook name cannot be empty"),
        ("{name: w, url: 'ftp://hooks.example.com'}", "must be an http(s) URL"),
    ],
)
def test_webhook_shape(tmp_path: Path, webhook: str, words: str) -> None:
    found = diagnostics(tmp_path, f"webhooks:\n  - {webhook}\n")
    assert errors(found) == ["AX204"]
    assert words in next(d for d in found if d.code == "AX204").message


def test_role_rules(tmp_path: Path) -> None:
    worker = "agents:\n  - {id: w, provider: echo, role: worker}\n"
    assert errors(diagnostics(tmp_path, worker)) == ["AX402"]
    lead = "agents:\n  - {id: c, provider: echo, role: coordinator}\n"
    assert errors(diagnostics(tmp_path, lead)) == ["AX402"]


def test_budget_and_ids(tmp_path: Path) -> None:
    budget = "agents:\n  - {id: a, provider: echo, token_budget: {per_call: 10000, per_execution: 5000}}\n"
    assert errors(diagnostics(tmp_path, budget)) == ["AX403"]
    assert errors(diagnostics(tmp_path, "agents:\n  - {id: '', provider: echo}\n")) == ["AX207"]
    assert errors(diagnostics(tmp_path, "agents:\n" + AGENT + AGENT)) == ["AX301"]


# --- real Axocoatl keys ------------------------------------------------------------------------


def test_real_axocoatl_keys_are_known(tmp_path: Path) -> None:
    text = """\
    agents:
      - id: a
        provider: openai
        model: gpt-4o
        memory: {max_session_messages: 50}
    workflows:
      - {id: w, agents: [a], htn_methods_file: methods.yaml}
    providers:
      openai: {api_key: "${OPENAI_API_KEY}", fallback: "anthropic/claude-haiku"}
    """
    found = diagnostics(tmp_path, text, {"OPENAI_API_KEY": "k"})
    assert errors(found) == []
    assert sorted((d.code, d.path[-1]) for d in found) == [
        ("AX205", "fallback"),
        ("AX205", "htn_methods_file"),
        ("AX511", "max_session_messages"),
    ]


def test_coordinator_leads_without_being_listed(tmp_path: Path) -> None:
    text = """\
    agents:
      - {id: lead, provider: echo, role: coordinator}
      - {id: w1, provider: echo, role: worker}
      - {id: w2, provider: echo, role: worker}
    workflows:
      - {id: team, agents: [w1, w2], entry_point: lead}
    """
    found = diagnostics(tmp_path, text)
    assert errors(found) == []
    assert [d.code for d in found] == ["AX208"]  # once, not an AX506 per worker
    assert found[0].message == (
        "coordinator 'lead' does not delegate in axoc run yet: it runs alone, and 'w1' and "
        "'w2' never run"
    )


def test_entry_point_outside_agents_is_still_an_error_for_others(tmp_path: Path) -> None:
    text = (
        "agents:\n"
        + AGENT
        + "  - {id: b, provider: echo}\nworkflows:\n  - {id: w, agents: [a], entry_point: b}\n"
    )
    assert errors(diagnostics(tmp_path, text)) == ["AX302"]


# --- ${VAR} in numbers, intervals --------------------------------------------------------------

BUDGET = "agents:\n  - id: a\n    provider: echo\n    token_budget:\n      per_execution: BUDGET\n"


@pytest.mark.parametrize(("written", "env", "found"), [
    ("${BUDGET}", {"BUDGET": "50000"}, []),  # typed after substitution, as Axocoatl does
    ("${BUDGET:-40000}", {}, []),
    ("${BUDGET}", {}, ["AX303"]),  # unset: said once, not again as a wrong type
    ("'${BUDGET}'", {"BUDGET": "50000"}, ["AX202"]),  # quoted: text, as in Axocoatl
    ("${BUDGET}", {"BUDGET": "lots"}, ["AX202"]),
])  # fmt: skip
def test_interpolated_numbers(
    tmp_path: Path, written: str, env: dict[str, str], found: list[str]
) -> None:
    result = diagnostics(tmp_path, BUDGET.replace("BUDGET", written, 1), env)
    assert codes(result) == found


def test_quoted_interpolation_hint(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, BUDGET.replace("BUDGET", "'${B}'", 1), {"B": "5000"})
    assert found[0].hint == (
        "remove the quotes: a quoted ${VAR} stays text, an unquoted one becomes a number"
    )


@pytest.mark.parametrize(("every", "ok"), [("05m", True), ("1d", True), ("007s", True),
                                           ("0m", False), ("00s", False), ("5 m", False)])  # fmt: skip
def test_intervals(tmp_path: Path, every: str, ok: bool) -> None:
    text = "agents:\n" + AGENT + "workflows:\n  - {id: w, agents: [a]}\n"
    text += f"schedules:\n  - {{id: s, workflow: w, every: '{every}'}}\n"
    assert errors(diagnostics(tmp_path, text)) == ([] if ok else ["AX404"])


def test_long_integer_is_text_not_a_crash(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, BUDGET.replace("BUDGET", "9" * 5000, 1))
    assert codes(found) == ["AX202"]
    assert found[0].hint == "5,000 digits: far more than any number a config sets"


# --- one root cause, reported once --------------------------------------------------------------


def test_dependency_outside_is_reported_once_at_the_root(tmp_path: Path) -> None:
    text = """\
    agents:
      - {id: support, provider: echo}
      - {id: architect, provider: echo}
      - {id: planner, provider: echo, depends_on: [architect]}
      - {id: coder, provider: echo, depends_on: [planner]}
      - {id: tester, provider: echo, depends_on: [coder]}
    workflows:
      - {id: triage, agents: [support, planner, coder, tester], entry_point: support}
    """
    found = diagnostics(tmp_path, text)
    assert errors(found) == []
    assert [(d.code, d.severity) for d in found] == [("AX507", Severity.WARNING)]


def test_never_reached_names_what_waits_for_it(tmp_path: Path) -> None:
    text = """\
    agents:
      - {id: entry, provider: echo}
      - {id: orphan, provider: echo}
      - {id: after, provider: echo, depends_on: [orphan]}
    workflows:
      - {id: w, agents: [entry, orphan, after], entry_point: entry}
    """
    found = diagnostics(tmp_path, text)
    assert [d.code for d in found] == ["AX506"]
    assert found[0].message == (
        "agent 'orphan' is never reached from the entry of workflow 'w'; so 'after', which "
        "waits for it, cannot run there either"
    )


def test_a_threshold_no_input_reaches_is_still_an_error(tmp_path: Path) -> None:
    text = """\
    agents:
      - {id: a, provider: echo}
      - {id: b, provider: echo, depends_on: [a], activation_threshold: 5}
    workflows:
      - {id: w, agents: [a, b]}
    """
    assert errors(diagnostics(tmp_path, text)) == ["AX503"]


def test_bounded_reactive_loop_is_a_warning(tmp_path: Path) -> None:
    text = """\
    agents:
      - {id: a, provider: echo}
    skills:
      - {id: s, agents: [a], reacts_to: [AgentFailed], emits: [Done]}
    """
    found = diagnostics(tmp_path, text)
    assert errors(found) == []
    assert "only the run's cycle guard, max_activations, stops it" in found[0].message


def test_workflow_errors_belong_to_their_workflow(tmp_path: Path) -> None:
    text = """\
    agents:
      - {id: a, provider: echo}
      - {id: b, provider: echo, depends_on: [a], activation_threshold: 5}
    workflows:
      - {id: good, agents: [a]}
      - {id: bad, agents: [a, b]}
      - {id: empty, agents: []}
    """
    found = [d for d in diagnostics(tmp_path, text) if d.severity is Severity.ERROR]
    assert sorted((d.code, d.workflow) for d in found) == [("AX405", "empty"), ("AX503", "bad")]


# --- AX208: everything axoc run does not execute is named ---------------------------------------


def test_every_unexecuted_feature_is_named(tmp_path: Path) -> None:
    text = """\
    agents:
      - id: a
        provider: echo
        tools: [emit, read_file, web_search]
        emits: [Done]
        memory: {recall: {top_k: 3}}
    workflows:
      - {id: w, agents: [a]}
    schedules:
      - {id: s, workflow: w, every: 1h}
    proactive:
      - {id: p, agent: a, trigger: {type: schedule, every: 5m}}
    tools:
      - {id: t, module: t.wasm}
    memory: {enabled: true}
    workspace: ./work
    """
    (tmp_path / "t.wasm").write_bytes(b"\0asm\1\0\0\0")  # the smallest valid module
    found = diagnostics(tmp_path, textwrap.dedent(text) + MCP)
    assert errors(found) == []
    named = sorted(
        str(d.path[-1]) if d.path[0] == "agents" else str(d.path[0])
        for d in found
        if d.code == "AX208"
    )
    # mcp_servers run (axoc.tools.mcp), the top-level memory is kept, axoc serve fires the
    # schedules and the proactive schedule trigger (axoc run's note says they do not fire)
    assert named == [
        "memory",  # a's memory.recall: a lists no recall tool
        "tools",  # web_search (without its block); the WASM tool t runs
    ]
