"""The dashboard in a real browser: Debian's Chromium, driven headlessly (puppeteer-core, the
Mermaid checker's), loads the page from a running daemon, sees the lattice of the run going on,
sees a join's signal rise when its first dependency completes, and sees the join drawn done.
Needs Node, chromium and `npm ci --prefix tests/mermaid`; a missing piece fails the test with
the command that installs it, never skips it. The screenshot goes to pytest's tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.providers.servers import FakeServer, Received, Reply
from tests.serve.daemon import Served
from tests.test_crash import echo

SCRIPT = ROOT / "tests" / "serve" / "dashboard.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
HANG = {"fast": 3.0, "slow": 8.0}


def setup_problem() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed (apt-get install -y nodejs npm)"
    if not (ROOT / "tests" / "mermaid" / "node_modules" / "puppeteer-core").is_dir():
        return "puppeteer-core is missing: run `npm ci --prefix tests/mermaid`"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM}: apt-get install -y chromium"
    return None


def answer(received: Received) -> Reply:
    model = received.json()["model"]
    time.sleep(HANG["slow" if model == "slow" else "fast"])
    return echo(received, hang=0)


def test_the_dashboard_shows_the_lattice_pulse(tmp_path: Path) -> None:
    problem = setup_problem()
    assert problem is None, problem
    with FakeServer() as server:
        server.respond = answer
        config = tmp_path / "join.axoc.yaml"
        config.write_text(
            f"providers:\n  lab: {{kind: openai_compatible, base_url: '{server.url}/v1'}}\n"
            "agents:\n"
            "  - {id: quick, provider: lab, model: fast}\n"
            "  - {id: slow, provider: lab, model: slow}\n"
            "  - {id: join, provider: lab, model: fast, depends_on: [quick, slow]}\n"
            "workflows:\n  - {id: w, agents: [quick, slow, join]}\n",
            encoding="utf-8",
        )
        with Served(config, tmp_path / "state") as served:
            browser = subprocess.Popen(
                ["node", str(SCRIPT), served.url + "/", "w/join/deps", "join",
                 os.environ.get("AXOC_DASHBOARD_PNG", str(tmp_path / "dashboard.png"))],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert browser.stdout is not None
            first = browser.stdout.readline()
            if first == "ready\n":
                served.submit(workflow="w", input="go")
            out, err = browser.communicate(timeout=120)
    assert first == "ready\n", (first, out, err)
    done = subprocess.CompletedProcess(browser.args, browser.returncode, out, err)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["errors"] == []
    assert seen["levels"][0] == "0 / 1"
    assert seen["levels"][1] == "0.5 / 1"  # quick completed: half the join's threshold
    assert seen["fill"] == 35  # half of the 70-pixel bar
    assert "st-done" not in seen["statuses"][0] and "st-done" in seen["statuses"][1]
    assert set(seen["tokens"]) == {"quick", "slow", "join"}
    assert seen["runs"] == 1
    assert all(url.startswith(served.url) for url in seen["requests"]), seen["requests"]
    assert Path(browser.args[-1]).stat().st_size > 1000
