"""`axoc serve` as a user meets it: a real daemon process on a loopback port, real HTTP requests,
a real OpenAI-compatible server on loopback as the provider, the daemon killed with SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.providers.servers import FakeServer, Received, Reply
from tests.serve.daemon import Served
from tests.test_crash import answer, echo

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello-world.axoc.yaml"
CHAIN = 5


def chain(tmp_path: Path, base_url: str) -> Path:
    """Five agents in a chain, each named as its model, so every call names its agent."""
    agents = [
        f"  - {{id: c{i}, provider: lab, model: c{i}"
        + (f", depends_on: [c{i - 1}]" if i else "")
        + "}"
        for i in range(CHAIN)
    ]
    members = ", ".join(f"c{i}" for i in range(CHAIN))
    config = tmp_path / "chain.axoc.yaml"
    config.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{base_url}/v1'}}\n"
        "agents:\n" + "\n".join(agents) + f"\nworkflows:\n  - {{id: chain, agents: [{members}]}}\n",
        encoding="utf-8",
    )
    return config


def events(served: Served, run_id: str, *headers: tuple[str, str]) -> list[tuple[int | None, dict]]:
    """The run's event stream, read to its end: (id, record) per event."""
    found = []
    with served.client.stream("GET", f"/runs/{run_id}/events", headers=dict(headers)) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        number = None
        for line in stream.iter_lines():
            if line.startswith("id: "):
                number = int(line[4:])
            elif line.startswith("data: "):
                found.append((number, json.loads(line[6:])))
                number = None
    return found


def test_a_run_submitted_over_http_streams_the_records_of_axoc_run_json(tmp_path: Path) -> None:
    with Served(HELLO, tmp_path / "state") as served:
        assert served.client.get("/health").json()["status"] == "ok"
        run_id = served.submit(input="what is a lattice?", dry_run=True)
        streamed = events(served, run_id)
        run = served.wait(run_id)
    assert [n for n, _ in streamed] == list(range(len(streamed)))
    records = [r for _, r in streamed]
    assert records[0]["event"] == "run" and records[0]["run_id"] == run_id
    assert records[-1]["event"] == "output" and records[-1]["exit_code"] == 0
    cli = subprocess.run(
        [sys.executable, "-m", "axoc", "run", str(HELLO), "--dry-run", "--json",
         "-i", "what is a lattice?", "--state-dir", str(tmp_path / "cli")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [r["event"] for r in records] == [r["event"] for r in expected]
    assert records[-1]["outputs"] == expected[-1]["outputs"]
    assert run["status"] == "completed" and run["exit_code"] == 0
    assert run["outputs"] == expected[-1]["outputs"]
    assert run["tokens"] == sum(u["total"] for u in run["usage"].values()) > 0


def test_the_event_stream_goes_on_after_last_event_id(tmp_path: Path) -> None:
    with Served(HELLO, tmp_path / "state") as served:
        run_id = served.submit(input="x", dry_run=True)
        whole = events(served, run_id)
        rest = events(served, run_id, ("Last-Event-ID", "3"))
    assert rest == whole[4:]


def test_bad_requests_get_json_errors_and_the_daemon_keeps_serving(tmp_path: Path) -> None:
    with Served(HELLO, tmp_path / "state") as served:
        c = served.client
        cases = [
            (c.post("/runs", content=b"{not json"), 400, "bad_json"),
            (c.post("/runs", content=b"[1, 2]"), 400, "bad_json"),
            (c.post("/runs", json={"input": 3}), 422, "bad_request"),
            (c.post("/runs", json={"inputs": "x"}), 422, "bad_request"),
            (c.post("/runs", json={"workflow": "a", "agent": "b"}), 422, "bad_request"),
            (c.post("/runs", json={"workflow": "nope"}), 422, "unknown_workflow"),
            (c.post("/runs", content=b"{" + b" " * (1024 * 1024 + 10) + b"}"), 413, "too_large"),
            (c.get("/runs/..%2F..%2Fetc"), 404, "not_found"),
            (c.get("/runs/latest"), 400, "bad_run_id"),
            (c.get("/runs/x%00y/events"), 400, "bad_run_id"),
            (c.get("/runs/20261124T081502.093311-3f2a9c"), 404, "no_such_run"),
            (c.get("/runs/20261124T081502.093311-3f2a9c/events"), 404, "no_such_run"),
            (c.post("/runs/20261124T081502.093311-3f2a9c/cancel"), 404, "no_such_run"),
            (c.get("/tokens/report"), 404, "no_such_run"),
            (c.delete("/runs"), 405, "method_not_allowed"),
            (c.get("/nowhere"), 404, "not_found"),
        ]
        for response, status, code in cases:
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
                response.request.url, response.text)  # fmt: skip
        run_id = served.submit(input="still here", dry_run=True)
        assert served.wait(run_id)["status"] == "completed"
        finished = c.post(f"/runs/{run_id}/cancel")
        assert (finished.status_code, finished.json()["error"]["code"]) == (409, "not_live")
        assert served.stop() == 0
    assert "Traceback" not in "".join(served.stderr)


def test_openapi_describes_every_route_and_no_other(tmp_path: Path) -> None:
    from starlette.routing import Route

    from axoc.serve.api import create_app
    from axoc.serve.daemon import Daemon

    daemon = Daemon(str(HELLO), tmp_path / "state", 1)
    try:
        app = create_app(daemon, None)
        routes = {
            (r.path, m.lower())
            for r in app.routes
            if isinstance(r, Route)
            for m in r.methods or ()
            if m != "HEAD"
        }
        assert [r.path for r in app.routes if not isinstance(r, Route)] == ["/static"]
    finally:
        daemon.lock.release()
    with Served(HELLO, tmp_path / "other") as served:
        document = served.client.get("/openapi.json").json()
    described = {(p, m) for p, methods in document["paths"].items() for m in methods}
    assert described == routes
    assert document["openapi"].startswith("3.")


def test_a_token_is_required_off_loopback_and_checked_when_set(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "axoc", "serve", str(HELLO), "--host", "0.0.0.0", "--port", "0",
         "--state-dir", str(tmp_path / "s")], capture_output=True, text=True, timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if k != "AXOC_SERVE_TOKEN"},
    )  # fmt: skip
    assert refused.returncode == 2
    assert "AXOC_SERVE_TOKEN" in refused.stderr and "Traceback" not in refused.stderr
    secret = "s3cret-token-value"
    with Served(HELLO, tmp_path / "state", env={"AXOC_SERVE_TOKEN": secret}) as served:
        c = served.client
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
            answer_ = c.get("/runs", headers=headers)
            assert answer_.status_code == 401 and answer_.json()["error"]["code"] == "unauthorized"
            assert "access-control-allow-origin" not in answer_.headers
        ok = c.get("/runs", headers={"Authorization": f"Bearer {secret}"})
        assert ok.status_code == 200
    assert secret not in "".join(served.stderr)


def test_two_daemons_on_one_state_directory_are_refused(tmp_path: Path) -> None:
    with Served(HELLO, tmp_path / "state") as first:
        second = subprocess.run(
            [sys.executable, "-m", "axoc", "serve", str(HELLO), "--port", "0",
             "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 2
        assert f"pid {first.process.pid}" in second.stderr
        assert first.client.get("/health").status_code == 200


class Calls:
    """The provider's calls, answered after `hang` s, with how many were in flight at most."""

    def __init__(self, hang: float) -> None:
        self.hang = hang
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.answered: list[tuple[str, str]] = []

    def __call__(self, received: Received) -> Reply:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.hang)
            reply = echo(received, hang=0)
            called = answer(received)
            if called is not None:
                with self.lock:
                    self.answered.append(called)
            return reply
        finally:
            with self.lock:
                self.now -= 1


def test_killed_mid_run_the_daemon_resumes_it_and_repeats_no_finished_call(tmp_path: Path) -> None:
    """The seed's demo: SIGKILL the daemon while a run is half done; a new daemon on the same
    state directory finishes it; the output equals an uninterrupted run's."""
    with FakeServer() as server:
        calls = Calls(hang=0.3)
        server.respond = calls
        config = chain(tmp_path, server.url)
        with Served(config, tmp_path / "reference") as served:
            reference = served.wait(served.submit(input="go"))
        assert reference["status"] == "completed"
        assert len(calls.answered) == CHAIN
        calls.answered.clear()
        server.received.clear()

        state = tmp_path / "state"
        with Served(config, state) as served:
            run_id = served.submit(input="go")
            deadline = time.monotonic() + 30
            while len(calls.answered) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.1)
            served.stop(signal.SIGKILL)
        before = len(server.received)
        with Served(config, state) as served:
            assert any("resumed 1" in line for line in served.stderr)
            run = served.wait(run_id)
    assert run["status"] == "completed" and run["outputs"] == reference["outputs"]
    assert run["tokens"] == reference["tokens"]
    agents = [agent for agent, _ in calls.answered]
    # every agent answered; an agent answered twice only if its call was in flight at the kill
    assert sorted(set(agents)) == [f"c{i}" for i in range(CHAIN)]
    assert len(agents) - CHAIN <= 1
    assert len(server.received) - before <= CHAIN - 2 + 1


def test_cancel_stops_a_run_for_good_and_max_runs_bounds_concurrency(tmp_path: Path) -> None:
    with FakeServer() as server:
        calls = Calls(hang=0.2)
        server.respond = calls
        config = chain(tmp_path, server.url)
        state = tmp_path / "state"
        with Served(config, state, "--max-runs", "2") as served:
            ids = [served.submit(input=f"run {i}") for i in range(5)]
            doomed = served.submit(input="cancel me")
            cancelled = served.client.post(f"/runs/{doomed}/cancel")
            assert cancelled.status_code == 202
            ended = {run_id: served.wait(run_id) for run_id in [*ids, doomed]}
            assert served.stop() == 0
        assert all(ended[i]["status"] == "completed" for i in ids)
        assert ended[doomed]["status"] == "cancelled"
        assert calls.most == 2  # two runs at a time, each a chain: one call each
        with Served(config, state) as served:
            assert not any("resumed" in line for line in served.stderr)
            listed = {r["run_id"]: r["status"] for r in served.client.get("/runs").json()["runs"]}
    assert listed[doomed] == "cancelled"
    shown = subprocess.run(
        [sys.executable, "-m", "axoc", "runs", "list", "--state-dir", str(state)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0 and "cancelled" in shown.stdout


def test_stopped_by_sigterm_the_runs_going_are_resumed_by_the_next_daemon(tmp_path: Path) -> None:
    with FakeServer() as server:
        server.respond = Calls(hang=0.3)
        config = chain(tmp_path, server.url)
        state = tmp_path / "state"
        with Served(config, state) as served:
            run_id = served.submit(input="go")
            time.sleep(0.5)
            assert served.stop(signal.SIGTERM) == 0
        assert any("left to resume" in line for line in served.stderr)
        with Served(config, state) as served:
            run = served.wait(run_id)
    assert run["status"] == "completed"


def test_runs_of_axoc_run_are_not_taken_over(tmp_path: Path) -> None:
    with FakeServer() as server:
        server.respond = Calls(hang=0.3)
        config = chain(tmp_path, server.url)
        state = tmp_path / "state"
        run = subprocess.Popen(
            [sys.executable, "-m", "axoc", "run", str(config), "-i", "go", "--state-dir",
             str(state)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not server.received and time.monotonic() < deadline:
            time.sleep(0.02)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        with Served(config, state) as served:
            listed = served.client.get("/runs").json()["runs"]
            assert [r["status"] for r in listed] == ["interrupted"]
            time.sleep(0.3)
            assert served.client.get("/runs").json()["runs"][0]["status"] == "interrupted"


@pytest.mark.parametrize("body", [b"", b"null", b'"text"'])
def test_empty_and_scalar_bodies_are_bad_json(tmp_path: Path, body: bytes) -> None:
    with Served(HELLO, tmp_path / "state") as served:
        response = served.client.post("/runs", content=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"


def test_reload_takes_a_good_config_and_refuses_a_broken_one(tmp_path: Path) -> None:
    config = tmp_path / "c.axoc.yaml"
    config.write_text("agents:\n  - {id: a, provider: echo, model: m}\n"
                      "workflows:\n  - {id: one, agents: [a]}\n", encoding="utf-8")  # fmt: skip
    with Served(config, tmp_path / "state") as served:
        assert served.wait(served.submit(workflow="one", input="x"))["status"] == "completed"
        config.write_text("agents:\n  - {id: a, provider: echo, model: m}\n"
                          "workflows:\n  - {id: two, agents: [a]}\n", encoding="utf-8")  # fmt: skip
        assert served.client.post("/reload").json() == {"reloaded": str(config.resolve())}
        assert served.wait(served.submit(workflow="two", input="x"))["status"] == "completed"
        gone = served.client.post("/runs", json={"workflow": "one"})
        assert gone.json()["error"]["code"] == "unknown_workflow"
        config.write_text("agents: [\n", encoding="utf-8")
        refused = served.client.post("/reload")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "reload_refused"
        served.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while not any("reload refused" in line for line in served.stderr):
            assert time.monotonic() < deadline, served.stderr
            time.sleep(0.05)
        assert served.wait(served.submit(workflow="two", input="y"))["status"] == "completed"
    assert "Traceback" not in "".join(served.stderr)


def test_two_hundred_concurrent_runs_complete_within_the_provider_limit(tmp_path: Path) -> None:
    """Load: 200 runs posted at once over HTTP against a loopback provider whose entry allows
    3 calls at a time: every run completes, the provider never sees more than 3 calls in flight
    (the limit holds across runs), and the daemon's memory stays bounded (peak RSS printed)."""
    import asyncio

    from tests.bench.bench_serve import Connection

    with FakeServer() as server:
        calls = Calls(hang=0.01)
        server.respond = calls
        config = tmp_path / "load.axoc.yaml"
        config.write_text(
            f"providers:\n  lab: {{kind: openai_compatible, base_url: '{server.url}/v1', "
            "max_concurrency: 3}\n"
            "agents:\n  - {id: a, provider: lab, model: a}\n"
            "  - {id: b, provider: lab, model: b, depends_on: [a]}\n"
            "workflows:\n  - {id: w, agents: [a, b]}\n",
            encoding="utf-8",
        )

        async def post_all(url: str) -> list[str]:
            async def one(i: int) -> str:
                connection = await Connection.open(url)
                body = json.dumps({"workflow": "w", "input": f"run {i}"}).encode()
                status, answer = await connection.request("POST", "/runs", body)
                connection.close()
                assert status == 201, answer
                return str(json.loads(answer)["run_id"])

            return await asyncio.gather(*(one(i) for i in range(200)))

        with Served(config, tmp_path / "state", "--max-runs", "64") as served:
            ids = asyncio.run(post_all(served.url))
            ended = [served.wait(run_id, timeout=300) for run_id in ids]
            peak_kib = int(
                next(
                    line.split()[1]
                    for line in Path(f"/proc/{served.process.pid}/status").read_text().splitlines()
                    if line.startswith("VmHWM:")
                )
            )
    print(f"peak RSS of the daemon: {peak_kib / 1024:.0f} MiB")
    assert len(set(ids)) == 200
    assert all(run["status"] == "completed" for run in ended)
    assert len(calls.answered) == 400
    assert calls.most <= 3
    assert peak_kib < 400 * 1024


def test_a_run_with_no_target_is_refused_in_the_apis_words(tmp_path: Path) -> None:
    config = tmp_path / "two.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo, model: m}\n"
        "workflows:\n  - {id: one, agents: [a]}\n  - {id: two, agents: [a]}\n",
        encoding="utf-8",
    )
    with Served(config, tmp_path / "state") as served:
        answer = served.client.post("/runs", json={"input": "x"})
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "no_target"
        assert error["message"] == (
            "name what to run: 'workflow' (workflows: one, two), 'skill' or 'agent'"
        )
