"""`axoc chat` as a user meets it: messages piped in (`--json` and text), a real terminal (a
pty: Ctrl-C at the prompt and during a reply, Ctrl-D), against an OpenAI-compatible server on
loopback that records what each request carried — the conversation so far, as messages."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.providers.servers import FakeServer, Received, Reply


class Model:
    """Answers `reply <n>: <last message>`, n counting the requests; `slow` seconds first."""

    def __init__(self, slow: float = 0.0) -> None:
        self.slow = slow
        self.requests: list[list[dict[str, Any]]] = []

    def __call__(self, received: Received) -> Reply:
        messages = received.json()["messages"]
        self.requests.append(messages)
        if self.slow and "slow" in messages[-1]["content"]:
            time.sleep(self.slow)
        text = f"reply {len(self.requests)}: {messages[-1]['content']}"
        return Reply(200, {
            "id": "c", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })  # fmt: skip


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "chat.axoc.yaml"
    path.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{url}/v1'}}\n"
        "agents:\n  - {id: helper, provider: lab, model: m, system_prompt: 'Be brief.'}\n",
        encoding="utf-8",
    )
    return path


def chat(path: Path, state: Path, lines: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "axoc", "chat", "-a", "helper", str(path), "--state-dir",
         str(state), *extra],
        input=lines, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_each_message_carries_the_conversation_so_far_across_processes(tmp_path: Path) -> None:
    with FakeServer() as server:
        model = Model()
        server.respond = model
        path, state = config(tmp_path, server.url), tmp_path / "state"
        first = chat(path, state, "hello\nhow are you?\n", "--json")
        second = chat(path, state, "and now?\n")
        fresh = chat(path, state, "start over\n", "--new", "--json")
    assert first.returncode == 0, first.stderr
    replies = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["content"] for r in replies] == ["reply 1: hello", "reply 2: how are you?"]
    assert all(r["event"] == "reply" and r["exit_code"] == 0 for r in replies)
    assert model.requests[1] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "reply 1: hello"},
        {"role": "user", "content": "how are you?"},
    ]
    assert second.stdout == "reply 3: and now?\n"
    assert len(model.requests[2]) == 6  # system, two exchanges, the new message
    assert model.requests[3] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "start over"},
    ]
    assert json.loads(fresh.stdout)["content"] == "reply 4: start over"
    kept = sorted(p.name for p in (state / "chats").iterdir())
    assert kept[0] == "helper.json" and kept[1].startswith("helper.json.")  # the old one aside
    listed = subprocess.run([sys.executable, "-m", "axoc", "runs", "list", "--state-dir",
                             str(state)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listed.stdout.count("agent:helper") == 4


def test_an_agent_that_cannot_run_is_refused_and_a_torn_chat_is_set_aside(tmp_path: Path) -> None:
    with FakeServer() as server:
        server.respond = Model()
        path, state = config(tmp_path, server.url), tmp_path / "state"
        unknown = subprocess.run(
            [sys.executable, "-m", "axoc", "chat", "-a", "nobody", str(path), "--state-dir",
             str(state)], input="hi\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert unknown.returncode == 2 and "nobody" in unknown.stderr
        (state / "chats").mkdir(parents=True)
        (state / "chats" / "helper.json").write_text('{"format": "axoc.chat/1", "tu')
        torn = chat(path, state, "hi\n")
    assert torn.returncode == 0 and torn.stdout == "reply 1: hi\n"
    assert "cannot be read" in torn.stderr and "Traceback" not in torn.stderr
    assert any(p.name.startswith("helper.json.unreadable-") for p in (state / "chats").iterdir())


class Terminal:
    """`axoc chat` on a pseudo-terminal, read and typed into as a person would."""

    def __init__(self, args: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the chat, on the terminal
            os.execv(sys.executable, [sys.executable, "-m", "axoc", "chat", *args])
        self.seen = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} not seen in {self.seen!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:  # the child ended
                    assert text in self.seen, f"{text!r} not seen in {self.seen!r}"

    def type(self, keys: str) -> None:
        # as a person types: not within microseconds of the prompt (a Ctrl-C between input()
        # writing its prompt and starting to read is only seen when the read returns)
        time.sleep(0.3)
        os.write(self.fd, keys.encode())

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                os.read(self.fd, 4096)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the chat did not end: {self.seen!r}")


def test_ctrl_c_and_ctrl_d_on_a_terminal(tmp_path: Path) -> None:
    with FakeServer() as server:
        model = Model(slow=30.0)
        server.respond = model
        path = config(tmp_path, server.url)
        term = Terminal(["-a", "helper", str(path), "--state-dir", str(tmp_path / "state")])
        term.expect("you> ")
        term.type("half a line\x03")  # Ctrl-C at the prompt: the line is dropped
        term.expect("^C")
        term.type("hi\r")
        term.expect("helper> reply 1: hi")
        term.type("be slow\r")
        deadline = time.monotonic() + 30
        while len(model.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        term.type("\x03")  # Ctrl-C during the reply: it stops, the chat goes on
        term.expect("the reply was stopped")
        term.expect("you> ")
        term.type("again\r")
        term.expect("helper> reply 3: again")
        term.type("\x04")  # Ctrl-D on an empty line: the end
        code = term.exit_code()
    assert code == 0
    assert "half a line" not in json.dumps(model.requests)
    assert [m["content"] for m in model.requests[2]][1:] == ["hi", "reply 1: hi", "again"]
    assert "Traceback" not in term.seen
