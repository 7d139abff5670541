"""`axoc doctor` against real servers on loopback: a listening Ollama-like server, a closed
port, a server refusing the key, a slow one; missing keys, missing models, a state directory
that cannot be written — one line per check, the right exit code, keys never shown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers import axoc
from tests.providers.servers import OPENAI_BAD_KEY, FakeServer, Received, Reply, unused_port

# ollama/ollama docs/api.md, "List Local Models": the response, with its one model renamed.
OLLAMA_TAGS = {
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "modified_at": "2025-05-10T08:06:48.639712648-07:00",
            "size": 2019393189,
            "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        }
    ]
}
# OpenAI API reference, "List models": the example response.
OPENAI_MODELS = {
    "object": "list",
    "data": [
        {
            "id": "model-id-0",
            "object": "model",
            "created": 1686935002,
            "owned_by": "organization-owner",
        },
        {"id": "gpt-4o", "object": "model", "created": 1686935002, "owned_by": "openai"},
    ],
}
KEY = "sk-test-4d8c2a9b1f7e9f2c"


def write(tmp_path: Path, providers: str, agents: str) -> str:
    path = tmp_path / "axoc.yaml"
    section = f"providers:\n{providers}" if providers else ""
    path.write_text(f"{section}agents:\n{agents}", encoding="utf-8")
    return str(path)


def doctor(tmp_path: Path, path: str, *extra: str) -> tuple[int, list[str], str]:
    result = axoc("doctor", path, "--state-dir", str(tmp_path / "state"), *extra)
    return result.code, result.out.splitlines(), result.err


def tags(received: Received) -> Reply:
    assert received.method == "GET"
    return Reply(200, OLLAMA_TAGS) if received.path == "/api/tags" else Reply(404, {})


def test_a_healthy_setup_is_all_ok(tmp_path: Path, server: FakeServer) -> None:
    server.respond = tags
    path = write(
        tmp_path,
        f"  ollama: {{base_url: '{server.url}'}}\n",
        "  - {id: a, provider: ollama, model: llama3.2}\n  - {id: b, provider: echo}\n",
    )
    code, lines, _ = doctor(tmp_path, path)
    assert code == 0, lines
    assert lines == [
        f"ok   config {path}: valid",
        f"ok   ollama: reachable at {server.url} (1 model)",
        "ok   ollama: model llama3.2 available",
        f"ok   state directory {tmp_path / 'state'}/: does not exist yet; the first run creates it",
        "ok   extras: otel installed",
        "ok   extras: memory installed",
    ]
    assert [r.path for r in server.received] == ["/api/tags"]
    assert not (tmp_path / "state").exists()  # checked, not left behind


def test_a_missing_ollama_model_says_how_to_pull_it(tmp_path: Path, server: FakeServer) -> None:
    server.respond = tags
    path = write(
        tmp_path,
        f"  ollama: {{base_url: '{server.url}'}}\n",
        "  - {id: a, provider: ollama, model: llama3.2}\n  - {id: b, provider: ollama, model: qwen3}\n",
    )
    code, lines, _ = doctor(tmp_path, path)
    assert code == 1
    assert 'FAIL ollama: model qwen3 is not available — run "ollama pull qwen3"' in lines
    assert "ok   ollama: model llama3.2 available" in lines


def test_an_unreachable_ollama_says_how_to_start_it(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    path = write(tmp_path, f"  ollama: {{base_url: '{url}'}}\n",
                 "  - {id: a, provider: ollama, model: llama3.2}\n")  # fmt: skip
    code, lines, _ = doctor(tmp_path, path)
    assert code == 1
    assert lines[1] == (
        f'FAIL ollama: cannot reach {url} (connection refused) — start it with "ollama serve" '
        "or set providers.ollama.base_url"
    )


def test_a_missing_key_is_named_by_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    path = write(tmp_path, "  anthropic: {model: claude-sonnet-4-5}\n",
                 "  - {id: a, provider: anthropic}\n")  # fmt: skip
    code, lines, _ = doctor(tmp_path, path)
    assert code == 1
    assert "FAIL anthropic: ANTHROPIC_API_KEY is not set" in lines


def test_a_refused_key_is_reported_and_never_shown(
    tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_KEY", KEY)
    server.respond = lambda received: Reply(401, OPENAI_BAD_KEY)
    path = write(
        tmp_path,
        f"  lab: {{kind: openai_compatible, base_url: '{server.url}/v1', api_key: '${{LAB_KEY}}'}}\n",
        "  - {id: a, provider: lab, model: gpt-4o}\n",
    )
    result = axoc("doctor", path, "--state-dir", str(tmp_path / "state"))
    assert result.code == 1
    assert "ok   lab: key set (from LAB_KEY)" in result.out
    assert f"FAIL lab: {server.url}/v1 refused the key (HTTP 401) — check LAB_KEY" in result.out
    assert server.received[0].headers["authorization"] == f"Bearer {KEY}"  # sent to the server
    for shown in (result.out, result.err):
        assert KEY not in shown and KEY[-4:] not in shown and str(len(KEY)) not in shown


def test_an_openai_compatible_server_lists_its_models(tmp_path: Path, server: FakeServer) -> None:
    server.respond = lambda received: Reply(200, OPENAI_MODELS)
    path = write(
        tmp_path,
        f"  lab: {{kind: openai_compatible, base_url: '{server.url}/v1'}}\n",
        "  - {id: a, provider: lab, model: gpt-4o}\n  - {id: b, provider: lab, model: nope}\n",
    )
    code, lines, _ = doctor(tmp_path, path)
    assert code == 1
    assert f"ok   lab: reachable at {server.url}/v1 (2 models)" in lines
    assert "ok   lab: model gpt-4o available" in lines
    assert "FAIL lab: model nope is not available — check the model name" in lines
    assert server.received[0].path == "/v1/models"
    assert "authorization" not in server.received[0].headers  # no key configured, none sent


def test_slow_providers_are_checked_at_once_within_the_timeout(tmp_path: Path) -> None:
    with (
        FakeServer(Reply(200, OLLAMA_TAGS, hang=10)) as one,
        FakeServer(Reply(200, OPENAI_MODELS, hang=10)) as two,
    ):
        path = write(
            tmp_path,
            f"  ollama: {{base_url: '{one.url}'}}\n"
            f"  lab: {{kind: openai_compatible, base_url: '{two.url}/v1'}}\n",
            "  - {id: a, provider: ollama, model: llama3.2}\n  - {id: b, provider: lab, model: m}\n",
        )
        began = time.monotonic()
        code, lines, _ = doctor(tmp_path, path, "--timeout", "0.8")
        took = time.monotonic() - began
    assert code == 1
    assert any(
        line.startswith(f"FAIL ollama: no answer from {one.url} within 0.8 s") for line in lines
    )
    assert any(
        line.startswith(f"FAIL lab: no answer from {two.url}/v1 within 0.8 s") for line in lines
    )
    assert took < 1.5  # both at once, not one after the other (1.6 s)


def test_the_state_directory_check_leaves_nothing_behind(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "runs").mkdir(parents=True)
    before = sorted(p.name for p in state.rglob("*"))
    path = write(tmp_path, "", "  - {id: a, provider: echo}\n")
    code, lines, _ = doctor(tmp_path, path)
    assert code == 0
    assert f"ok   state directory {state}/: writable" in lines
    assert sorted(p.name for p in state.rglob("*")) == before


def test_a_state_directory_that_is_a_file_fails(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("not a directory", encoding="utf-8")
    path = write(tmp_path, "", "  - {id: a, provider: echo}\n")
    code, lines, _ = doctor(tmp_path, path)
    assert code == 1
    assert f"FAIL state directory {tmp_path / 'state'}/: exists and is not a directory" in lines


def test_an_invalid_config_fails_its_check(tmp_path: Path) -> None:
    path = write(tmp_path, "", "  - {id: a, provider: echo, modle: x}\n")
    code, lines, _ = doctor(tmp_path, path)
    assert code == 1
    assert lines[0] == f"FAIL config {path}: 1 error — see axoc check {path}"


def test_json_for_machines(tmp_path: Path, server: FakeServer) -> None:
    server.respond = tags
    path = write(tmp_path, f"  ollama: {{base_url: '{server.url}'}}\n",
                 "  - {id: a, provider: ollama, model: llama3.2}\n")  # fmt: skip
    result = axoc("doctor", path, "--json", "--state-dir", str(tmp_path / "state"))
    assert result.code == 0
    report = json.loads(result.out)
    assert report["exit_code"] == 0
    assert {"status": "ok", "check": "ollama", "message": "model llama3.2 available"} in report[
        "checks"
    ]
    assert {c["status"] for c in report["checks"]} == {"ok"}


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = axoc("doctor", str(tmp_path / "missing.yaml"))
    assert missing.code == 2
    assert "missing.yaml: no such file" in missing.err
    path = write(tmp_path, "", "  - {id: a, provider: echo}\n")
    assert axoc("doctor", path, "--timeout", "0").code == 2
    assert axoc("doctor", path, "--timeout", "soon").code == 2


def test_without_a_file_it_finds_the_config_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "", "  - {id: a, provider: echo}\n")
    monkeypatch.chdir(tmp_path)
    result = axoc("doctor")
    assert result.code == 0, result.out
    assert result.out.splitlines()[0] == "ok   config axoc.yaml: valid"
    (tmp_path / "other.axoc.yaml").write_text("agents: []\n", encoding="utf-8")
    several = axoc("doctor")
    assert several.code == 2
    assert "several configs here" in several.err
