"""Fields added to the plan format after it was published (`axoc.kernel.canonical.added`): a
plan saved before they existed still reads, by both readers, with its recorded digest; a table
that sets one writes it and reads it back; one that leaves it at its default writes the text it
always had."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from axoc.kernel.table import SignalTable
from tests.kernel.fakes import table

OLD = Path(__file__).parent.parent / "fixtures" / "plans" / "format1-before-tools.plan.json"


def test_a_plan_saved_before_the_fields_existed_reads_with_its_digest() -> None:
    text = OLD.read_text()
    loaded = SignalTable.from_json(text)
    assert loaded.to_json() == text
    recorded = SignalTable.from_recorded(text, loaded.digest)
    assert recorded.agents[0].emits == () and recorded.agents[0].max_tool_rounds == 10
    assert loaded.agents == recorded.agents


def test_a_field_set_is_written_and_read_back(tmp_path: Path) -> None:
    t = table(tmp_path, "agents: [{id: a, provider: echo}]\nworkflows: [{id: w, agents: [a]}]\n")
    agent = dataclasses.replace(t.agents[0], emits=("Ready",), max_tool_rounds=3)
    changed = t.derived(agents=(agent,))
    text = changed.to_json()
    assert '"emits":["Ready"]' in text and '"max_tool_rounds":3' in text
    assert "emits" not in t.to_json() and changed.digest != t.digest
    for back in (SignalTable.from_json(text), SignalTable.from_recorded(text, changed.digest)):
        assert back.agents[0].emits == ("Ready",) and back.agents[0].max_tool_rounds == 3
        assert back.to_json() == text


def test_mcp_servers_are_written_only_when_there_are_some(tmp_path: Path) -> None:
    from axoc.kernel.table import McpServerSpec

    t = table(tmp_path, "agents: [{id: a, provider: echo}]\nworkflows: [{id: w, agents: [a]}]\n")
    assert "mcp_servers" not in t.to_json()
    server = McpServerSpec("s", "stdio", "x", ("-v",), {"K": "${K}"}, None, {})
    changed = t.derived(mcp_servers=(server,))
    text = changed.to_json()
    assert '"mcp_servers": [\n{"name":"s","transport":"stdio","command":"x"' in text
    for back in (SignalTable.from_json(text), SignalTable.from_recorded(text, changed.digest)):
        assert back.mcp_servers == (server,) and back.to_json() == text
