"""Benchmark `axoc serve`: runs per second on echo with 10-agent workflows, and the latency from
`POST /runs` to the run's first event, against a bare `axoc run` process per run.

In: a 10-agent layered workflow on the echo provider (written to a temporary directory). Out, on
stdout:

- daemon: `--runs` runs submitted over HTTP with `--clients` requests in flight at a time (each
  client posts a run, then reads its event stream to its first event); runs per second from the
  first request until `/health` counts no live run; p50 and p99 of the time from sending
  `POST /runs` to receiving the run's first event;
- baseline, in the same run: `axoc run --dry-run` of the same workflow as one process per run,
  `--processes` of them one after another (two at a time would only share the two cores):
  runs per second and the same p50/p99 (a process's first event is its first `--json` line).

Check: every run the daemon ran completed, with outputs from the same agents as the process's.

Goal: the daemon sustains at least 100 runs per second here.

    python -m tests.bench.bench_serve [--runs N] [--clients N] [--processes N]

Exit status 0 when the check and the goal pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.serve.daemon import Served

GOAL = 100.0  # runs per second
AGENTS = 10


def config(folder: Path) -> Path:
    """Ten agents in layers: 1 → 4 → 4 → 1, each layer depending on the one before."""
    layers = [["a0"], [f"b{i}" for i in range(4)], [f"c{i}" for i in range(4)], ["d0"]]
    lines = ["agents:"]
    for depth, layer in enumerate(layers):
        for agent in layer:
            deps = f", depends_on: [{', '.join(layers[depth - 1])}]" if depth else ""
            lines.append(f"  - {{id: {agent}, provider: echo, model: m{deps}}}")
    members = ", ".join(a for layer in layers for a in layer)
    lines.append(f"workflows:\n  - {{id: ten, agents: [{members}]}}")
    path = folder / "ten.axoc.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection to the daemon, spoken with asyncio streams: the
    benchmark must measure the daemon, and a general client (httpx) costs here several times
    what the daemon spends on a request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        return cls(*await asyncio.open_connection(host, int(port)))

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, headers = await self._head()
        if headers.get(b"transfer-encoding") == b"chunked":
            return status, await self._first_chunk()
        return status, await self.reader.readexactly(int(headers[b"content-length"]))

    async def _head(self) -> tuple[int, dict[bytes, bytes]]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        first, *lines = head.split(b"\r\n")
        fields = dict(line.split(b": ", 1) for line in lines if b": " in line)
        return int(first.split()[1]), {k.lower(): v for k, v in fields.items()}

    async def _first_chunk(self) -> bytes:
        """An event stream's first event; then the connection is dropped (it streams on)."""
        size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
        data = await self.reader.readexactly(size + 2)
        self.writer.close()
        return data

    def close(self) -> None:
        self.writer.close()


async def one_run(url: str, post: Connection, index: int) -> tuple[str, float]:
    """Post a run and read its event stream to the first event: (run id, seconds)."""
    sent = time.perf_counter()
    body = json.dumps({"workflow": "ten", "input": f"run {index}"}).encode()
    status, answer = await post.request("POST", "/runs", body)
    assert status == 201, answer
    run_id: str = json.loads(answer)["run_id"]
    events = await Connection.open(url)
    status, first = await events.request("GET", f"/runs/{run_id}/events")
    assert status == 200 and b"data: " in first, first
    return run_id, time.perf_counter() - sent


async def daemon_runs(url: str, runs: int, clients: int) -> tuple[float, list[Any]]:
    """(seconds from the first request until every run has ended, per run (id, seconds to the
    first event, its run record))."""
    queue = iter(range(runs))
    firsts: list[tuple[str, float]] = []

    async def client() -> None:
        post = await Connection.open(url)
        for index in queue:
            firsts.append(await one_run(url, post, index))
        post.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    check = await Connection.open(url)
    while json.loads((await check.request("GET", "/health"))[1])["live_runs"]:
        await asyncio.sleep(0.005)
    took = time.perf_counter() - started
    results = []
    for run_id, first in firsts:
        results.append(
            (run_id, first, json.loads((await check.request("GET", f"/runs/{run_id}"))[1]))
        )
    check.close()
    return took, results


def process_runs(path: Path, count: int, state: Path) -> tuple[float, list[Any]]:
    """One `axoc run --dry-run --json` process per run, one after another: (seconds, per run
    (None, seconds to its first line, its output record))."""
    results = []
    started = time.perf_counter()
    for i in range(count):
        sent = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "axoc", "run", str(path), "--dry-run", "--json",
             "-i", f"run {i}", "--state-dir", str(state)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        first = None
        last: dict[str, Any] = {}
        for line in process.stdout:
            if first is None:
                first = time.perf_counter() - sent
            last = json.loads(line)
        process.wait()
        assert first is not None
        results.append((None, first, last))
    return time.perf_counter() - started, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        path = config(folder)
        with Served(path, folder / "served", "--dry-run", "--max-runs", "64") as served:
            # one untimed run: the target is compiled on its first use
            asyncio.run(daemon_runs(served.url, 1, 1))
            took, results = asyncio.run(daemon_runs(served.url, args.runs, args.clients))
            served.stop()
        base_took, base = process_runs(path, args.processes, folder / "bare")
    rate, base_rate = len(results) / took, len(base) / base_took
    rows = [
        ("axoc serve", rate, results, f"{args.runs} runs, {args.clients} clients"),
        ("axoc run, a process per run", base_rate, base, f"{args.processes} runs"),
    ]
    print(f"{'':30} {'runs/s':>8} {'first event p50':>16} {'p99':>9}")
    for label, per_second, found, note in rows:
        firsts = [r[1] * 1000 for r in found]
        print(f"{label:30} {per_second:8.1f} {statistics.median(firsts):13.1f} ms "
              f"{percentile(firsts, 0.99):6.1f} ms   {note}")  # fmt: skip
    print(f"daemon vs a process per run: {rate / base_rate:.1f}× the runs per second")
    expected = base[0][2]["outputs"].keys()
    wrong = [r for r in results if r[2]["status"] != "completed" or r[2]["outputs"].keys()
             != expected]  # fmt: skip
    check = "pass" if not wrong else f"FAIL ({len(wrong)} runs did not complete like a process)"
    goal = "pass" if rate >= GOAL else "FAIL"
    print(f"check: {check}; goal ≥ {GOAL:g} runs/s: {goal}")
    return 0 if not wrong and rate >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
