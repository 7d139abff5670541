"""Supervision against a real HTTP server on loopback: transient errors are retried with
backoff (honouring Retry-After) up to the agent's limit, then fail cleanly; fatal ones fail at
once. Nothing hangs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.helpers import axoc
from tests.providers.servers import OPENAI_BAD_KEY, OPENAI_CHAT, FakeServer, Reply

ANSWER = OPENAI_CHAT["choices"][0]["message"]["content"]  # type: ignore[index]


def config(tmp_path: Path, server: FakeServer, restarts: int = 3, timeout: float = 0.3) -> str:
    path = tmp_path / "s.axoc.yaml"
    path.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{server.url}/v1'}}\n"
        f"agents:\n  - {{id: a, provider: lab, model: m, timeout: {timeout},"
        f" supervision: {{max_restarts: {restarts}, backoff: 0.01}}}}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    return str(path)


def run(
    tmp_path: Path, server: FakeServer, restarts: int = 3, timeout: float = 0.3
) -> tuple[int, list[dict[str, object]], str]:
    path = config(tmp_path, server, restarts, timeout)
    result = axoc("run", path, "--json", "--state-dir", str(tmp_path / "state"))
    records = [json.loads(line) for line in result.out.splitlines()]
    return result.code, records, result.err


def retries(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in records if r["event"] == "retry"]


def test_429_honours_retry_after(tmp_path: Path, server: FakeServer) -> None:
    server.script(Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0.3"}),
                  Reply(200, OPENAI_CHAT))  # fmt: skip
    started = time.monotonic()
    code, records, _ = run(tmp_path, server, timeout=5)  # the 0.3 s wait must fit in it
    assert code == 0 and records[-1]["outputs"] == {"a": ANSWER}
    assert [r["delay"] for r in retries(records)] == [0.3]
    assert time.monotonic() - started >= 0.3 and len(server.received) == 2


def test_transient_errors_are_retried_then_succeed(tmp_path: Path, server: FakeServer) -> None:
    server.script(Reply(500, {"error": {"message": "boom"}}), Reply(503, b"unavailable"),
                  Reply(reset=True), Reply(200, OPENAI_CHAT))  # fmt: skip
    code, records, _ = run(tmp_path, server)
    assert code == 0 and records[-1]["outputs"] == {"a": ANSWER}
    assert [r["attempt"] for r in retries(records)] == [1, 2, 3]
    assert len(server.received) == 4


def test_persistent_errors_fail_cleanly_after_bounded_attempts(
    tmp_path: Path, server: FakeServer
) -> None:
    server.default = Reply(500, {"error": {"message": "still broken"}})
    started = time.monotonic()
    code, records, err = run(tmp_path, server, restarts=2)
    assert code == 1 and time.monotonic() - started < 5
    failed = next(r for r in records if r["event"] == "failed")
    assert str(failed["error"]).endswith("(after 3 attempts)") and len(server.received) == 3
    assert "Traceback" not in err


def test_a_hang_past_the_timeout_fails_the_activation_unretried(
    tmp_path: Path, server: FakeServer
) -> None:
    server.default = Reply(200, OPENAI_CHAT, hang=30)
    started = time.monotonic()
    code, records, _ = run(tmp_path, server, restarts=1)
    assert code == 1 and time.monotonic() - started < 5
    assert len(server.received) == 1 and retries(records) == []
    failed = next(r for r in records if r["event"] == "failed")
    assert failed["error"] == "timed out after 0.3 s (1 attempt)"


def test_fatal_errors_fail_at_once(tmp_path: Path, server: FakeServer) -> None:
    for reply in (Reply(200, b"{not json"), Reply(401, OPENAI_BAD_KEY)):
        server.received.clear()
        server.script(reply)
        code, records, _ = run(tmp_path, server)
        assert code == 1
        assert retries(records) == [] and len(server.received) == 1


def test_each_run_records_its_jitter_seed_and_a_resume_reuses_it(
    tmp_path: Path, server: FakeServer
) -> None:
    path = tmp_path / "j.axoc.yaml"
    path.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{server.url}/v1'}}\n"
        "agents:\n  - {id: a, provider: lab, model: m, timeout: 5,"
        " supervision: {max_restarts: 3, backoff: 0.05}}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    state = tmp_path / "state"
    busy = [Reply(503, b"busy"), Reply(503, b"busy"), Reply(503, b"busy"), Reply(200, OPENAI_CHAT)]

    def run(*extra: str) -> tuple[str, list[object]]:
        server.script(*busy)
        result = axoc("run", str(path), "--json", "--state-dir", str(state), *extra)
        assert result.code == 0, result.err
        records = [json.loads(line) for line in result.out.splitlines()]
        return str(records[0]["run_id"]), [r["delay"] for r in retries(records)]

    first_id, first = run()
    second_id, second = run()
    assert len(first) == len(second) == 3 and first != second  # not in lockstep
    journal = state / "runs" / first_id / "journal.jsonl"
    seeds = [
        json.loads((state / "runs" / i / "journal.jsonl").read_text().splitlines()[0])[
            "jitter_seed"
        ]
        for i in (first_id, second_id)
    ]
    assert all(isinstance(seed, int) for seed in seeds) and seeds[0] != seeds[1]
    # killed while the call was out: the header and the `started` record only, no checkpoint
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:2]))
    for checkpoint in (state / "agents").glob("*/checkpoints/*"):
        checkpoint.unlink()
    resumed_id, resumed = run("--resume", first_id)
    assert resumed_id == first_id
    assert resumed == first  # the same seed: the same waits, replayed deterministically
