"""The provider registry: every part of axoc learns the providers from it. A kind registered
from outside (a new provider speaking a wire format axoc has) is accepted by `axoc check`, built
by `axoc run` and checked by `axoc doctor`, with nothing else changed; looking kinds up loads
no adapter, no httpx and no pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from axoc.providers import registry
from tests.providers.servers import OPENAI_CHAT, FakeServer, Reply

KEY = "sk-acme-5be1c0ffee7d"
# A new provider: one `ProviderKind`, registered before the config models are built, as a
# module in axoc/providers/kinds/ listed in KIND_MODULES is.
PROGRAM = """
import sys
from axoc.providers import registry
from axoc.providers.kinds.openai import build

registry.register(registry.ProviderKind(
    name="acme", summary="Acme settings.", settings="HostedProvider", build=build,
    wire="openai", default_base_url=sys.argv[1], key="required", key_env="ACME_API_KEY",
))
from axoc.cli import main

sys.exit(main(sys.argv[2:]))
"""
CONFIG = """
providers:
  acme: {model: acme-large}
agents:
  - {id: writer, provider: acme}
workflows:
  - {id: w, agents: [writer]}
"""


def with_acme(url: str, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "NO_PROXY": "*"}
    if key is not None:
        env["ACME_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, url, *args],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_a_registered_kind_is_checked_run_and_doctored(tmp_path: Path, server: FakeServer) -> None:
    config = tmp_path / "acme.axoc.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"{server.url}/v1"
    state = str(tmp_path / "state")

    unknown = subprocess.run(
        [sys.executable, "-m", "axoc", "check", str(config)], capture_output=True, text=True
    )
    assert unknown.returncode == 1 and "unknown provider 'acme'" in unknown.stdout  # not yet

    checked = with_acme(url, "check", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    refused = with_acme(url, "run", str(config), "-i", "hi", "--state-dir", state, key=None)
    assert refused.returncode == 2
    assert "provider 'acme' needs an API key: set ACME_API_KEY" in refused.stderr
    assert server.received == []  # refused before anything was sent

    server.script(Reply(200, OPENAI_CHAT))
    ran = with_acme(url, "run", str(config), "-i", "hi", "--state-dir", state)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "Hello! How can I assist you today?\n"
    (sent,) = server.received
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json()["model"] == "acme-large"

    plan = with_acme(url, "plan", str(config), "--format", "json")
    (spec,) = json.loads(plan.stdout)["providers"]
    assert spec["kind"] == "acme" and spec["api_key_env"] == "ACME_API_KEY"
    assert KEY not in plan.stdout

    server.respond = lambda received: Reply(
        200, {"object": "list", "data": [{"id": "acme-large", "object": "model"}]}
    )
    doctored = with_acme(url, "doctor", str(config), "--state-dir", state)
    assert doctored.returncode == 0, doctored.stdout
    assert "ok   acme: model acme-large available" in doctored.stdout
    assert KEY not in doctored.stdout


def test_the_builtin_kinds_are_the_config_sections_and_echo() -> None:
    from axoc.config import Providers

    assert registry.builtin() == (
        "echo", "ollama", "openai", "anthropic", "gemini", "mistral", "openrouter",
    )  # fmt: skip
    assert tuple(Providers.model_fields) == registry.builtin()[1:]
    assert registry.named().name == "openai_compatible"
    for kind in registry.kinds():
        assert kind.name in registry.KIND_MODULES
        if kind.key == "required":
            assert kind.default_base_url and kind.key_env == f"{kind.name.upper()}_API_KEY"


def test_the_key_variable_is_the_one_written_else_the_kinds() -> None:
    openai, local, ollama = (registry.get(n) for n in ("openai", "openai_compatible", "ollama"))
    assert openai is not None and local is not None and ollama is not None
    assert openai.key_variable("openai", "${MY_KEY}") == "MY_KEY"
    assert openai.key_variable("openai", " ${MY_KEY:-none} ") == "MY_KEY"
    assert openai.key_variable("openai", None) == "OPENAI_API_KEY"
    assert local.key_variable("lm-studio", None) is None  # local servers need none
    assert local.key_variable("lm-studio", "literal") == "LM_STUDIO_API_KEY"
    assert ollama.key_variable("ollama", "${X}") == "X" and ollama.key_variable("ollama", 1) is None


def test_looking_kinds_up_loads_no_adapter() -> None:
    program = (
        "import sys\nfrom axoc.providers import registry\n"
        "registry.kinds(); registry.get('anthropic')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'pydantic', 'pydantic_core', 'anyio') or m in "
        "('axoc.providers.openai', 'axoc.providers.ollama', 'axoc.providers.settings')))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
