"""`axoc serve` as a real process on a free loopback port, for the tests: started, waited for
until it says where it listens, its stderr kept, stopped however the test ends."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

LISTENING = re.compile(r"listening on (http://\S+) ")


class Served:
    def __init__(self, config: Path, state: Path, *extra: str, env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "axoc", "serve", str(config), "--port", "0",
             "--state-dir", str(state), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = self._wait_listening()
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def _wait_listening(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise AssertionError(f"axoc serve exited: {''.join(self.stderr)}") from None
                continue
            found = LISTENING.search(line)
            if found:
                return found.group(1)
        raise AssertionError(f"axoc serve did not start: {''.join(self.stderr)}")

    def submit(self, **body: Any) -> str:
        answer = self.client.post("/runs", json=body)
        assert answer.status_code == 201, answer.text
        run_id: str = answer.json()["run_id"]
        return run_id

    def wait(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        """The run, once it has ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.client.get(f"/runs/{run_id}").json()
            if run["status"] not in ("queued", "running", "live"):
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not end: {run}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def __enter__(self) -> Served:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.client.close()
