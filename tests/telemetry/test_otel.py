"""OpenTelemetry traces of `axoc run`: off (nothing imported) unless the `OTEL_*` variables ask;
the console exporter's spans, nested run → activation → LLM call / tool call, with the GenAI
attributes; a real OTLP/HTTP export to a collector on loopback, with no prompt in it; a tracer
provider the user set is used, never replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.providers.servers import FakeServer, Reply

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello-world.axoc.yaml"
SECRET_INPUT = "the launch code is 0000-SECRET"


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**clean, **extra}


def run(tmp_path: Path, extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "axoc", "run", str(HELLO), "--dry-run", "-i", SECRET_INPUT,
         "--state-dir", str(tmp_path / "state"), *args],
        capture_output=True, text=True, timeout=120, env=extra_env,
    )  # fmt: skip


def spans_in(text: str) -> list[dict[str, Any]]:
    """The console exporter's spans: JSON objects one after another in `text`."""
    decoder, found, at = json.JSONDecoder(), [], text.find("{")
    while at >= 0:
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict) and "context" in value:
            found.append(value)
        at = text.find("{", end)
    return found


def test_no_variables_no_opentelemetry(tmp_path: Path) -> None:
    code = (
        "import sys; from axoc.cli import main; "
        f"code = main(['run', {str(HELLO)!r}, '--dry-run', '-i', 'x', '--state-dir', "
        f"{str(tmp_path / 's')!r}]); "
        "print('imported' if any(m.startswith('opentelemetry') for m in sys.modules) else 'no', code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env())  # fmt: skip
    assert done.stdout.splitlines()[-1] == "no 0", done.stderr


def test_console_spans_nest_and_carry_the_genai_attributes(tmp_path: Path) -> None:
    plain = run(tmp_path, env())
    traced = run(tmp_path, env(OTEL_TRACES_EXPORTER="console"))
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == plain.stdout  # spans go to stderr: the output is untouched
    spans = spans_in(traced.stderr)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"].split(" ")[0], []).append(span)
    (root,) = by_name["axoc"]
    assert root["name"] == "axoc run hello-world" and root["parent_id"] is None
    assert root["attributes"]["axoc.stop_reason"] == "completed"
    agents = by_name["invoke_agent"]
    assert sorted(s["attributes"]["gen_ai.agent.name"] for s in agents) == [
        "researcher",
        "summarizer",
    ]
    assert all(s["parent_id"] == root["context"]["span_id"] for s in agents)
    chats = by_name["chat"]
    assert len(chats) == 2
    parents = {s["context"]["span_id"]: s["attributes"]["gen_ai.agent.name"] for s in agents}
    for chat in chats:
        attributes = chat["attributes"]
        assert parents[chat["parent_id"]] == attributes["gen_ai.agent.name"]
        assert chat["kind"] == "SpanKind.CLIENT"
        assert attributes["gen_ai.system"] == "axoc.echo"  # a dry run: echo stands in
        assert attributes["gen_ai.request.model"] == "llama3.2"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    assert SECRET_INPUT not in traced.stderr


def test_spans_reach_an_otlp_collector_on_loopback_without_prompts(tmp_path: Path) -> None:
    with FakeServer(Reply(200, b"")) as collector:
        done = run(tmp_path, env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
                                 OTEL_SERVICE_NAME="axoc-test"))  # fmt: skip
        posts = [r for r in collector.received if r.method == "POST"]
    assert done.returncode == 0, done.stderr
    assert posts and all(r.path == "/v1/traces" for r in posts)
    assert posts[0].headers["content-type"] == "application/x-protobuf"
    body = b"".join(r.body for r in posts)
    for expected in (b"invoke_agent researcher", b"gen_ai.usage.input_tokens", b"axoc-test"):
        assert expected in body
    assert SECRET_INPUT.encode() not in body


def test_a_tracer_provider_the_user_set_is_used_not_replaced(tmp_path: Path) -> None:
    code = f"""
import sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
mine, memory = TracerProvider(), InMemorySpanExporter()
mine.add_span_processor(SimpleSpanProcessor(memory))
trace.set_tracer_provider(mine)
from axoc.cli import main
code = main(['run', {str(HELLO)!r}, '--dry-run', '-i', 'x', '--state-dir', {str(tmp_path / "s")!r}])
names = sorted(s.name for s in memory.get_finished_spans())
print(trace.get_tracer_provider() is mine, code, names)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env(OTEL_TRACES_EXPORTER="console"))  # fmt: skip
    last = done.stdout.splitlines()[-1]
    assert last.startswith("True 0 "), (done.stdout, done.stderr)
    assert "'axoc run hello-world'" in last and "'invoke_agent summarizer'" in last
    assert spans_in(done.stderr) == []  # the user's provider has no console exporter


def test_tool_calls_are_spans_under_their_activation(tmp_path: Path) -> None:
    from tests.tools.test_run_file_tools import Model

    (tmp_path / "notes.txt").write_text("notes\n", encoding="utf-8")
    with FakeServer() as server:
        server.respond = Model()
        config = tmp_path / "tools.axoc.yaml"
        config.write_text(
            f"providers:\n  lab: {{kind: openai_compatible, base_url: '{server.url}/v1'}}\n"
            "agents:\n  - {id: reader, provider: lab, model: m, tools: [read_file]}\n"
            "workflows:\n  - {id: w, agents: [reader]}\n",
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, "-m", "axoc", "run", str(config), "-i", "read",
             "--state-dir", str(tmp_path / "state")],
            capture_output=True, text=True, timeout=120, env=env(OTEL_TRACES_EXPORTER="console"),
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    spans = spans_in(done.stderr)
    (agent,) = [s for s in spans if s["name"] == "invoke_agent reader"]
    tools = [s for s in spans if s["name"] == "execute_tool read_file"]
    assert sorted(s["attributes"]["gen_ai.tool.call.id"] for s in tools) == ["call_0", "call_1"]
    assert all(s["parent_id"] == agent["context"]["span_id"] for s in tools)
    refused = next(s for s in tools if s["attributes"]["gen_ai.tool.call.id"] == "call_1")
    assert refused["status"]["status_code"] == "ERROR"  # the path out of the workspace
    chats = [s for s in spans if s["name"] == "chat m"]
    assert len(chats) == 2 and all(s["attributes"]["gen_ai.system"] == "openai" for s in chats)
