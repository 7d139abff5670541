"""A key inside `base_url` (`?api-key=${K}`, `user:${K}@host`) is a secret everywhere: never in
`plan.json`, `axoc plan --format json`, stderr, `--json` events, the journal or checkpoints, in
any case or encoding a server echoes it back in; the plan keeps `${K}`, so its digest does not
depend on the key and resume still tells config drift. Before, the key was written to plan.json
and printed, and requests went to `/v1?api-key=K/chat/completions`."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import axoc
from tests.providers.servers import OPENAI_CHAT, FakeServer, Reply

KEY = "qk-7Fh2Lp9Xw4Bn6Tc1Zr8Vm3Ks5Jd0Ya"
PASSWORD = "pw-Tn5Rk2Gx8Mv1Bq7Lc4Hz"
CONFIG = """
providers:
  lab:
    kind: openai_compatible
    base_url: "{url}"
agents:
  - {{id: a, provider: lab, model: m, supervision: {{max_restarts: 0}}}}
  - {{id: b, provider: lab, model: m, depends_on: [a]}}
workflows:
  - {{id: w, agents: [a, b]}}
"""


def config(tmp_path: Path, url: str, name: str = "x.axoc.yaml") -> str:
    path = tmp_path / name
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return str(path)


def secret_url(server: FakeServer, literal: str = "&v=2") -> str:
    """The loopback server's URL with a password and a key from variables, and a value written
    into the config (hidden in plans too: `literal=""` leaves it out)."""
    return server.url.replace("http://", "http://${U}:${P}@") + "/v1?api-key=${K}" + literal


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K", KEY)
    monkeypatch.setenv("P", PASSWORD)
    monkeypatch.setenv("U", "me")


def everything(tmp_path: Path, *outputs: str) -> str:
    """What the user saw and every file the run left, lowercased."""
    files = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    return "\n".join([*outputs, *files]).lower()


def assert_secret(text: str) -> None:
    for secret in (KEY, PASSWORD):
        for shown in (secret, quote(secret), base64.b64encode(secret.encode()).decode()[4:-4]):
            assert shown.lower() not in text, shown


def test_a_plan_keeps_the_variables_never_their_values(
    tmp_path: Path, server: FakeServer, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, secret_url(server))
    planned = axoc("plan", path, "--format", "json")
    assert planned.code == 0, planned.err
    [provider] = json.loads(planned.out)["providers"]
    assert provider["base_url"] == secret_url(server).replace("&v=2", "&v=(redacted)")
    assert_secret(planned.out.lower() + planned.err.lower())
    monkeypatch.setenv("K", "another-key-entirely-0123456789")
    again = axoc("plan", path, "--format", "json")
    assert json.loads(again.out)["digest"] == json.loads(planned.out)["digest"]


def test_a_run_sends_the_credentials_and_shows_them_nowhere(
    tmp_path: Path, server: FakeServer, keys: None
) -> None:
    basic = base64.b64encode(f"me:{PASSWORD}".encode()).decode()
    echoes = [KEY.upper(), quote(KEY, safe=""), base64.b64encode(KEY.encode()).decode(),
              f"Basic {basic}", PASSWORD.swapcase(), KEY.encode().hex()]  # fmt: skip
    answer = json.loads(json.dumps(OPENAI_CHAT))
    answer["choices"][0]["message"]["content"] = f"echo: {KEY} {' '.join(echoes)}"
    error = {"error": {"message": "rejected: " + " ".join(echoes)}}
    server.script(Reply(200, answer), Reply(401, error))
    state = tmp_path / "state"
    result = axoc("run", config(tmp_path, secret_url(server)), "-i", "x", "--json",
                  "--state-dir", str(state))  # fmt: skip
    assert result.code == 1, result.err
    first = server.received[0]
    assert first.path == f"/v1/chat/completions?api-key={KEY}&v=2"
    assert first.headers["authorization"] == f"Basic {basic}"
    failed = [json.loads(line) for line in result.out.splitlines() if '"failed"' in line]
    assert failed[0]["agent"] == "b" and "rejected: [redacted]" in failed[0]["error"]
    assert_secret(everything(state, result.out, result.err))
    assert (state / "runs").is_dir() and list(state.rglob("journal.jsonl"))


def test_an_interrupted_runs_checkpoint_holds_no_key(
    tmp_path: Path, server: FakeServer, keys: None
) -> None:
    answer = json.loads(json.dumps(OPENAI_CHAT))
    answer["choices"][0]["message"]["content"] = f"echo: {KEY.upper()} {quote(KEY, safe='')}"
    server.script(Reply(200, answer), Reply(200, OPENAI_CHAT, hang=60))
    state = tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", config(tmp_path, secret_url(server)), "-i", "x",
         "--state-dir", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while len(server.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.received) == 2, "b was never called"
        child.send_signal(signal.SIGTERM)  # b in flight: the run is interrupted, not ended
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    [checkpoint] = state.rglob("checkpoints/a/*.json")  # a's answer, kept for the resume
    assert "echo: [redacted] [redacted]" in checkpoint.read_text(encoding="utf-8")
    assert_secret(everything(state, out, err))


def test_a_saved_plan_runs_with_its_variables_set(
    tmp_path: Path, server: FakeServer, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.respond = lambda received: Reply(200, OPENAI_CHAT)
    plan = tmp_path / "plan.json"
    path = config(tmp_path, secret_url(server, literal=""))
    saved = axoc("plan", path, "--format", "json", "-o", str(plan))
    assert saved.code == 0, saved.err
    state = str(tmp_path / "state")
    assert axoc("run", str(plan), "-i", "x", "--state-dir", state).code == 0
    assert server.received[0].path == f"/v1/chat/completions?api-key={KEY}"
    monkeypatch.delenv("K")
    refused = axoc("run", str(plan), "-i", "x", "--json", "--state-dir", state)
    assert refused.code == 2
    assert "provider 'lab': its base_url needs ${K}, which is not set" in refused.err
    assert json.loads(refused.out)["code"] == "provider"


@pytest.mark.parametrize("literal", [f"?api-key={KEY}", "?api-key=${K}&api-version=2024"])
def test_a_saved_plan_of_a_literal_value_is_refused_without_it(
    tmp_path: Path, server: FakeServer, keys: None, literal: str
) -> None:
    path = config(tmp_path, f"{server.url}/v1{literal}")
    plan = tmp_path / "plan.json"
    assert axoc("plan", path, "--format", "json", "-o", str(plan)).code == 0
    assert KEY not in plan.read_text(encoding="utf-8")
    refused = axoc("run", str(plan), "-i", "x", "--state-dir", str(tmp_path / "state"))
    assert refused.code == 2
    assert "held credentials written into the config" in refused.err
    assert server.received == []  # nothing was sent without the key


def test_resume_tells_drift_but_not_a_new_key(
    tmp_path: Path, server: FakeServer, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(Reply(200, OPENAI_CHAT), Reply(500, {"error": {"message": "down"}}))
    path, state = config(tmp_path, secret_url(server)), str(tmp_path / "state")
    first = axoc("run", path, "-i", "x", "--json", "--state-dir", state)
    run_id = json.loads(first.out.splitlines()[0])["run_id"]
    journal = tmp_path / "state" / "runs" / run_id / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    head = b"".join(lines[:3])  # the header, a started, a answered: as if killed then
    journal.write_bytes(head)
    monkeypatch.setenv("K", "a-rotated-key-0123456789abcdef")  # a new key is no drift
    server.default = Reply(200, OPENAI_CHAT)
    resumed = axoc("run", path, "--resume", run_id, "--state-dir", state)
    assert resumed.code == 0, resumed.err
    assert server.received[-1].path.endswith("api-key=a-rotated-key-0123456789abcdef&v=2")
    journal.write_bytes(head)
    moved = config(tmp_path, secret_url(server).replace("/v1?", "/v2?"))
    drifted = axoc("run", moved, "--resume", run_id, "--state-dir", state)
    assert drifted.code == 2 and "the config changed" in drifted.err
    assert "/v1?a…' → 'http://${U}:${P}@" in drifted.err and "/v2?a…" in drifted.err
    assert_secret(drifted.err.lower())
