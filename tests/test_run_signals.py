"""SIGTERM and Ctrl-C end `axoc run` within a second, whatever the provider sends: a real
process, a real loopback server misbehaving, a real signal. Before, a 50 MB error message kept
the event loop busy in a quadratic regex and SIGTERM went unanswered for 30 minutes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.providers.servers import OPENAI_CHAT, FakeServer, Reply

HUGE = 50 * 1024 * 1024
ANSWER = json.dumps(OPENAI_CHAT).encode()
MISBEHAVIOUR = {
    # a valid answer, one byte every 50 ms: within every read timeout, never done
    "drip": Reply(200, ANSWER, trickle=0.05),
    # the headers, one byte of the body, then nothing
    "stall": Reply(200, ANSWER, trickle=60),
    # a 50 MB answer at 1.3 MB/s: the signal comes while it is being read
    "huge-answer": Reply(200, b'{"choices": [' + b" " * HUGE + b"]}", trickle=0.05, piece=65536),
    # a 50 MB error message at 1.3 MB/s
    "huge-error": Reply(
        400, b'{"error": {"message": "' + b"a" * HUGE + b'"}}', trickle=0.05, piece=65536
    ),
    # a 50 MB error message at once, again at every retry (the case that hung before)
    "huge-error-at-once": Reply(503, b'{"error": {"message": "' + b"a" * HUGE + b'"}}'),
    # nothing at all
    "hang": Reply(200, ANSWER, hang=60),
}
SIGNALS = {"drip": signal.SIGTERM, "stall": signal.SIGINT, "huge-answer": signal.SIGTERM,
           "huge-error": signal.SIGINT, "huge-error-at-once": signal.SIGTERM,
           "hang": signal.SIGTERM}  # fmt: skip


@pytest.mark.parametrize("kind", list(MISBEHAVIOUR), ids=list(MISBEHAVIOUR))
def test_a_signal_ends_the_run_within_a_second(
    tmp_path: Path, server: FakeServer, kind: str
) -> None:
    server.default = MISBEHAVIOUR[kind]
    config = tmp_path / "x.axoc.yaml"
    config.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{server.url}/v1'}}\n"
        "agents:\n  - {id: a, provider: lab, model: m, supervision: {max_restarts: 9}}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", str(config), "-i", "x", "--state-dir",
         str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not server.received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.received, "the run never reached the provider"
        # well into the misbehaviour: for a body sent at once, after it has all arrived (before,
        # the quadratic redaction of it was running by then)
        time.sleep(2.0 if kind == "huge-error-at-once" else 0.5)
        assert child.poll() is None, "the run ended before the signal"
        sent = time.monotonic()
        child.send_signal(SIGNALS[kind])
        _, err = child.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:  # a run that ignored the signal: this test's own child
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    assert took < 1.5, f"exit {took:.2f} s after the signal"
    why = "by SIGTERM" if SIGNALS[kind] == signal.SIGTERM else "by Ctrl-C"
    assert f"interrupted (exit 130) {why}" in err and "Traceback" not in err
