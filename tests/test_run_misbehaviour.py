"""A property test of `axoc run` as a whole: generated provider misbehaviour
(`tests/providers/misbehaviour.py`: bodies, error messages, headers, impossible counts, the keys
echoed in every case and encoding) served by the real loopback server to a workflow whose
provider has an API key, a password and a query key. Whatever the server does, the run ends
within a bound with exit 0 or 1 (never 3), and no key shows in stdout, stderr, the `--json`
events, the journal, the plan or the checkpoints; `runs list` and `tokens report` still work."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.helpers import axoc
from tests.providers.misbehaviour import KEY, PASSWORD, QUERY_KEY, leaks, reply
from tests.providers.servers import FakeServer, Reply

CONFIG = """
providers:
  lab:
    kind: openai_compatible
    base_url: "{url}"
    api_key: ${{LAB_KEY}}
agents:
  - {{id: a, provider: lab, model: m, timeout: 4,
      supervision: {{max_restarts: 1, backoff: 0.01}}}}
  - {{id: b, provider: lab, model: m, depends_on: [a], timeout: 4,
      supervision: {{max_restarts: 1, backoff: 0.01}}}}
workflows:
  - {{id: w, agents: [a, b]}}
"""
BOUND = 10.0  # seconds: two activations of at most 4 s each, and the rest


def files(folder: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()
    )


def test_a_run_survives_any_provider(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_KEY", KEY)
    monkeypatch.setenv("LAB_QUERY", QUERY_KEY)
    monkeypatch.setenv("LAB_PASSWORD", PASSWORD)
    url = server.url.replace("http://", "http://me:${LAB_PASSWORD}@") + "/v1?api-key=${LAB_QUERY}"

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(reply("openai"), reply("openai"))
    def one(first: Reply, then: Reply) -> None:
        server.script(first)
        server.default = then
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            path = folder / "x.axoc.yaml"
            path.write_text(CONFIG.format(url=url), encoding="utf-8")
            state = str(folder / "state")
            started = time.monotonic()
            result = axoc("run", str(path), "-i", "why?", "--json", "--state-dir", state)
            took = time.monotonic() - started
            listed = axoc("runs", "list", "--state-dir", state)
            report = axoc("tokens", "report", "--state-dir", state)
            assert result.code in (0, 1), result.err
            assert took < BOUND, f"{took:.1f} s"
            assert (listed.code, report.code) == (0, 0), listed.err + report.err
            seen = "\n".join([result.out, result.err, listed.out, listed.err, report.out,
                              report.err, files(folder / "state")])  # fmt: skip
            assert leaks(seen) == [], seen[:3000]

    one()
