"""web_search and fetch_url through `axoc run` as a real process, against three loopback servers:
an OpenAI-compatible model that calls web_search, then fetch_url on the first hit's URL, then
answers with what the page said; a Tavily-shaped search API; a site with the page. The key, set
only in the environment as `${VAR}`, reaches the search API and nothing axoc writes (journal,
plan, checkpoints, output, stderr). Also what `axoc check` says about the blocks (no AX205 any
more; AX208 naming the block a listed web tool needs; AX204 for a bad URL), an unset key that
refuses a real run before anything is sent, and a dry run that sends nothing."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from axoc.diagnostics import Diagnostic
from axoc.pipeline import compile_file
from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply

KEY = "tvly-run-SECRET-9f8e7d6c5b4a"
VAR = "AXOC_TEST_TAVILY_KEY"
PAGE = b"<html><body><h1>Lattices</h1><p>The join of a and b is their least upper bound.</p>"


class Model(ScriptedModel):
    """web_search first; with its result, fetch_url on the first URL it lists; with that, the
    answer: the page's text."""

    def __init__(self) -> None:
        super().__init__()

    def __call__(self, received: Received) -> Reply:
        body, _ = self.record(received)
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        message: dict[str, Any]
        if len(results) < 2:
            if not results:
                name, arguments = "web_search", {"query": "lattice join", "max_results": 2}
            else:
                url = next(line.strip() for line in results[0].splitlines() if "://" in line)
                name, arguments = "fetch_url", {"url": url}
            call = {"id": f"call_{len(results)}", "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip
            message, finish = (
                {"role": "assistant", "content": None, "tool_calls": [call]},
                "tool_calls",
            )
        else:
            message, finish = {"role": "assistant", "content": f"found: {results[1]}"}, "stop"
        return openai_reply(body["model"], message, finish)


def write_config(folder: Path, model: str, search: str, site: str) -> Path:
    path = folder / "research.axoc.yaml"
    path.write_text(
        f"""\
web_search: {{provider: tavily, api_key: "${{{VAR}}}", url: "{search}"}}
fetch_url: {{allow: ["{site}/docs/"], max_bytes: 65536, timeout_s: 5}}
providers:
  local: {{kind: openai_compatible, base_url: '{model}/v1'}}
agents:
  - id: researcher
    provider: local
    model: m1
    system_prompt: Search, then read the best page.
    tools: [web_search, fetch_url]
workflows:
  - {{id: research, agents: [researcher]}}
""",
        encoding="utf-8",
    )
    return path


def test_a_run_searches_then_fetches_and_the_key_stays_secret(tmp_path: Path) -> None:
    model = Model()
    state = tmp_path / "state"
    with FakeServer() as provider, FakeServer() as search, FakeServer() as site:
        provider.respond = model
        search.default = Reply(200, {"results": [
            {"title": "Joins", "url": f"{site.url}/docs/join.html", "content": "about joins"},
            {"title": "Elsewhere", "url": "https://elsewhere.example/", "content": "other"},
        ]})  # fmt: skip
        site.default = Reply(200, PAGE, {"Content-Type": "text/html"})
        path = write_config(tmp_path, provider.url, search.url, site.url)
        done = axoc_process(
            "run", str(path), "-i", "what is a join?", "--state-dir", str(state), "--json",
            env={VAR: KEY}, timeout=60,
        )  # fmt: skip
    assert done.code == 0, done.err
    offered = sorted(t["function"]["name"] for t in model.requests[0]["tools"])
    assert offered == ["fetch_url", "web_search"]
    (searched,) = search.received
    assert searched.json() == {"api_key": KEY, "query": "lattice join", "max_results": 2,
                               "search_depth": "basic"}  # fmt: skip
    assert [r.path for r in site.received] == ["/docs/join.html"]
    assert len(model.requests) == 3
    results = [m["content"] for m in model.requests[2]["messages"] if m["role"] == "tool"]
    assert results[0].startswith("2 results for 'lattice join':\n1. Joins\n")
    assert "# Lattices\n\nThe join of a and b is their least upper bound." in results[1]
    events = [json.loads(line) for line in done.out.splitlines()]
    assert [(e["name"], e["error"]) for e in events if e.get("event") == "tool"] == [
        ("web_search", False), ("fetch_url", False)
    ]  # fmt: skip
    assert "least upper bound" in events[-1]["outputs"]["researcher"]
    assert "not executed by axoc run yet" not in done.err
    written = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "journal.jsonl" for p in written)
    assert any(p.name == "plan.json" for p in written)
    for where in written:
        assert KEY.encode() not in where.read_bytes(), where
    assert KEY not in done.out + done.err


def test_an_unset_key_refuses_a_real_run_and_a_dry_run_sends_nothing(tmp_path: Path) -> None:
    model = Model()
    with FakeServer() as provider, FakeServer() as search, FakeServer() as site:
        provider.respond = model
        path = write_config(tmp_path, provider.url, search.url, site.url)
        refused = axoc_process(
            "run", str(path), "-i", "x", "--state-dir", str(tmp_path / "state"),
            env={VAR: ""}, timeout=60,
        )  # fmt: skip
        dry = axoc_process(
            "run", str(path), "-i", "x", "--state-dir", str(tmp_path / "state"), "--dry-run",
            "--json", env={VAR: ""}, timeout=60,
        )  # fmt: skip
    assert refused.code == 2 and VAR in refused.err
    assert dry.code == 0, dry.err
    called = {e["name"]: e["error"] for e in map(json.loads, dry.out.splitlines())
              if e.get("event") == "tool"}  # fmt: skip
    # echo's arguments: every string is "echo"; "echo" is no URL under the allow-list
    assert called == {"web_search": False, "fetch_url": True}
    assert model.requests == [] and search.received == [] and site.received == []


# --- axoc check ---------------------------------------------------------------------------------


def found(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = tmp_path / "x.axoc.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return compile_file(str(path), {"KEY": "k-1234"}).diagnostics


AGENT = "agents:\n  - {id: a, provider: echo, tools: [web_search, fetch_url]}\n"


def test_configured_web_tools_draw_no_warning(tmp_path: Path) -> None:
    text = AGENT + textwrap.dedent("""\
        web_search: {provider: tavily, api_key: "${KEY}"}
        fetch_url: {allow: ["https://docs.example.com/guide/"]}
        """)
    assert found(tmp_path, text) == []


def test_listed_without_their_block_each_names_the_block(tmp_path: Path) -> None:
    messages = sorted(d.message for d in found(tmp_path, AGENT) if d.code == "AX208")
    assert messages == [
        "agent 'a' lists 'fetch_url', which runs only with a top-level 'fetch_url:' block (the "
        "URL prefixes it may fetch, in allow): it runs without it",
        "agent 'a' lists 'web_search', which runs only with a top-level 'web_search:' block "
        "(provider tavily with an api_key, or searxng with a url): it runs without it",
    ]
    assert not [d for d in found(tmp_path, AGENT) if d.code == "AX205"]


@pytest.mark.parametrize(
    ("block", "said"),
    [
        ("{provider: brave, api_key: x}", "web_search provider 'brave' is not one axoc runs"),
        ("{provider: tavily}", "web_search provider tavily needs an api_key"),
        ("{provider: searxng}", "web_search provider searxng needs a url"),
    ],
)
def test_a_web_search_block_that_cannot_run_is_named(tmp_path: Path, block: str, said: str) -> None:
    diagnostics = found(tmp_path, AGENT + f"web_search: {block}\n")
    assert [d.code for d in diagnostics if d.severity.value == "error"] == []
    assert any(said in d.message and d.code == "AX208" for d in diagnostics)


@pytest.mark.parametrize(
    ("block", "said"),
    [
        ('web_search: {provider: searxng, url: "ftp://h"}', "must be an http(s) URL with a host"),
        ('fetch_url: {allow: ["https://u:p@h/"]}', "must not hold user info"),
        ('fetch_url: {allow: ["https://h/?q=1"]}', "must not hold a query or a fragment"),
        ('fetch_url: {allow: ["docs.example.com"]}', "must be an http(s) URL with a host"),
        ("fetch_url: {allow: []}", "at least 1 item"),
        ('fetch_url: {allow: ["https://h/"], max_bytes: 0}', "max_bytes"),
    ],
)
def test_bad_blocks_are_errors(tmp_path: Path, block: str, said: str) -> None:
    errors = [d for d in found(tmp_path, AGENT + block + "\n") if d.severity.value == "error"]
    assert errors and errors[0].code == "AX204" and said in errors[0].message, errors
    assert "u:p" not in errors[0].message
