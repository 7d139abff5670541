"""What a misbehaving provider costs `axoc run`, measured against a real loopback server.

1. Wall time of `axoc run` (a real process) when an OpenAI-compatible server answers 400 with an
   `error.message` of 10 KB to 50 MB (one long word: the worst case of the old redaction).
2. Seconds from SIGTERM to exit while the server answers 503 with a 50 MB message at every
   retry (the signal is sent 2 s after the first request, once the body has arrived).
3. In-process redaction (`axoc.providers.http.redact`) of one word of 1.25, 2.5 and 5 MB, and
   the ratio of the 5 MB time to the 1.25 MB time (linear: about 4; quadratic: 16).

Every subprocess is cut off at `--cap` seconds (reported as `>CAP`). `--tree DIR` runs another
checkout's axoc (e.g. `git archive main | tar -x -C DIR`), to compare before and after.

    python -m tests.bench.bench_provider_bounds [--cap 60] [--tree DIR]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.providers.servers import FakeServer, Reply

CONFIG = """providers:
  lab: {{kind: openai_compatible, base_url: "{url}/v1"}}
agents:
  - {{id: a, provider: lab, model: m, supervision: {{max_restarts: 9}}}}
workflows:
  - {{id: w, agents: [a]}}
"""


def start(tree: str | None, folder: Path, url: str) -> subprocess.Popen[str]:
    config = folder / "x.axoc.yaml"
    config.write_text(CONFIG.format(url=url), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": tree} if tree else None
    return subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", str(config), "-i", "x", "--state-dir",
         str(folder / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tree, env=env,
    )  # fmt: skip


def finish(child: subprocess.Popen[str], cap: float) -> str:
    """How the child ended within `cap` seconds: its exit code, or `>cap` (then it is killed)."""
    try:
        child.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return f">{cap:g} s"
    return f"exit {child.returncode}"


def error_messages(tree: str | None, cap: float) -> None:
    print("1. axoc run against a 400 whose error.message is one word of N bytes")
    for size in (10_000, 20_000, 40_000, 80_000, 50_000_000):
        with FakeServer() as server, tempfile.TemporaryDirectory() as tmp:
            body = b'{"error": {"message": "' + b"a" * size + b'"}}'  # bytes: no server work
            server.default = Reply(400, body)
            started = time.monotonic()
            how = finish(start(tree, Path(tmp), server.url), cap)
            print(f"   {size:>10,} bytes: {how} after {time.monotonic() - started:6.2f} s")


def sigterm(tree: str | None, cap: float) -> None:
    print("2. SIGTERM while a server answers 503 with a 50 MB message at every retry")
    with FakeServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.default = Reply(503, b'{"error": {"message": "' + b"a" * 50_000_000 + b'"}}')
        child = start(tree, Path(tmp), server.url)
        while not server.received:
            time.sleep(0.01)
        time.sleep(2.0)
        sent = time.monotonic()
        child.send_signal(signal.SIGTERM)
        how = finish(child, cap)
        print(f"   {how} {time.monotonic() - sent:.2f} s after the signal")


def redaction(tree: str | None) -> None:
    print("3. redaction of one word (in-process)")
    code = (
        "import time; from axoc.providers.http import redact\n"
        "times = []\n"
        "for n in (1_250_000, 2_500_000, 5_000_000):\n"
        "    text = 'a' * n; best = 1e9\n"
        "    for _ in range(3):\n"
        "        t = time.perf_counter(); redact(text, ('sk-key-0123456789',))\n"
        "        best = min(best, time.perf_counter() - t)\n"
        "    times.append(best); print(f'   {n:>10,} characters: {best:8.4f} s')\n"
        "print(f'   5 MB / 1.25 MB: {times[2] / times[0]:.1f}x')\n"
    )
    env = {**os.environ, "PYTHONPATH": tree} if tree else None
    try:
        subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        print("   more than 60 s (not measured further)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=60.0)
    parser.add_argument("--tree", help="run the axoc of this checkout instead")
    options = parser.parse_args()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)
    print(f"axoc from {options.tree or 'this checkout'}; python {sys.version.split()[0]}")
    error_messages(options.tree, options.cap)
    sigterm(options.tree, options.cap)
    redaction(options.tree)
    return 0


if __name__ == "__main__":
    sys.exit(main())
