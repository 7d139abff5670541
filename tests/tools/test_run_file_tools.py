"""The file tools through `axoc run` as a real process: a scripted model behind a loopback
OpenAI-compatible server calls `read_file` on a file of the workspace and on a path out of it; the
next request carries the file's content for the first call and the refusal for the second, each
answering its call's id; the model's answer is the run's output. Also: the workspace as the
config sets it and as `--workspace` overrides it, a workspace that does not exist (exit 2,
before anything is sent), a dry run offering every file tool (write_file writes nothing), and
`axoc check` no longer warning about the file tools."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply

SECRET = "the secret outside the workspace"
CONTENT = "lattice notes: theta is 0.5\n"


class Model(ScriptedModel):
    """Calls read_file twice when offered it and no result came back yet — once inside the
    workspace, once out of it — then answers with what the results said."""

    def __init__(self, paths: tuple[str, str] = ("notes.txt", "../outside.txt")) -> None:
        self.paths = paths
        super().__init__()

    def __call__(self, received: Received) -> Reply:
        body, _ = self.record(received)
        tools = [t["function"]["name"] for t in body.get("tools", [])]
        results = [m for m in body["messages"] if m["role"] == "tool"]
        if "read_file" in tools and not results:
            calls = [
                {"id": f"call_{n}", "type": "function",
                 "function": {"name": "read_file", "arguments": json.dumps({"path": path})}}
                for n, path in enumerate(self.paths)
            ]  # fmt: skip
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
            finish = "tool_calls"
        else:
            said = " | ".join(f"{m['tool_call_id']}: {m['content']}" for m in results)
            message, finish = {"role": "assistant", "content": f"read: {said}"}, "stop"
        return openai_reply(body["model"], message, finish)


def config(folder: Path, url: str, workspace: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reader.axoc.yaml"
    key = f"workspace: {workspace}\n" if workspace is not None else ""
    path.write_text(
        f"""\
{key}providers:
  local: {{kind: openai_compatible, base_url: '{url}/v1'}}
agents:
  - id: reader
    provider: local
    model: m1
    system_prompt: You read files.
    tools: [read_file, list_dir, grep, write_file]
workflows:
  - {{id: read, agents: [reader]}}
""",
        encoding="utf-8",
    )
    return path


def lay_out(tmp_path: Path) -> Path:
    """tmp/outside.txt (the secret), tmp/project/work/notes.txt; returns tmp/project."""
    (tmp_path / "outside.txt").write_text(SECRET, encoding="utf-8")
    project = tmp_path / "project"
    (project / "work").mkdir(parents=True)
    (project / "work" / "notes.txt").write_text(CONTENT, encoding="utf-8")
    return project


def run(path: Path, state: Path, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    done = axoc_process(
        "run", str(path), "-i", "read the notes", "--state-dir", str(state), "--json", *extra,
        timeout=60,
    )  # fmt: skip
    return done.code, [json.loads(line) for line in done.out.splitlines()], done.err


def test_read_file_result_reaches_the_next_request_and_an_escape_is_refused(
    tmp_path: Path,
) -> None:
    project = lay_out(tmp_path)
    model = Model(("notes.txt", "../../outside.txt"))
    with FakeServer() as server:
        server.respond = model
        path = config(project, server.url, workspace="work")
        code, events, err = run(path, tmp_path / "state")
    assert code == 0, err
    assert len(model.requests) == 2
    offered = sorted(t["function"]["name"] for t in model.requests[0]["tools"])
    assert offered == ["grep", "list_dir", "read_file", "write_file"]
    results = {m["tool_call_id"]: m["content"] for m in model.requests[1]["messages"]
               if m["role"] == "tool"}  # fmt: skip
    assert results["call_0"] == CONTENT
    assert "'..'" in results["call_1"] and SECRET not in results["call_1"]
    tools = [(e["id"], e["error"]) for e in events if e.get("event") == "tool"]
    assert sorted(tools) == [("call_0", False), ("call_1", True)]
    output = events[-1]["outputs"]["reader"]
    assert CONTENT.strip() in output and SECRET not in output
    assert "not executed by axoc run yet" not in err  # no AX208 note for the file tools


def test_workspace_flag_overrides_the_config_and_a_missing_one_is_refused(
    tmp_path: Path,
) -> None:
    project = lay_out(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("the other notes\n", encoding="utf-8")
    model = Model(("notes.txt", "notes.txt"))
    with FakeServer() as server:
        server.respond = model
        path = config(project, server.url, workspace="work")
        code, _, err = run(path, tmp_path / "state", "--workspace", str(other))
        assert code == 0, err
        results = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
        assert results == ["the other notes\n", "the other notes\n"]
        sent = len(model.requests)
        missing = config(project / "b", server.url, workspace="no-such-dir")
        code, events, err = run(missing, tmp_path / "state")
        assert code == 2
        assert "workspace 'no-such-dir'" in err and "no such directory" in err
        assert events[-1]["code"] == "no_workspace"
        code, events, err = run(path, tmp_path / "state", "--workspace", str(project / "x.txt"))
        assert code == 2 and events[-1]["code"] == "no_workspace"
        assert len(model.requests) == sent  # nothing was sent for a refused run


def test_the_default_workspace_is_the_configs_directory(tmp_path: Path) -> None:
    project = lay_out(tmp_path)
    model = Model(("work/notes.txt", "reader.axoc.yaml"))
    with FakeServer() as server:
        server.respond = model
        path = config(project, server.url)
        code, _, err = run(path, tmp_path / "state")
    assert code == 0, err
    results = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert results[0] == CONTENT and "id: reader" in results[1]


def test_a_dry_run_calls_each_file_tool_and_writes_nothing(tmp_path: Path) -> None:
    project = lay_out(tmp_path)
    path = config(project, "http://127.0.0.1:9", workspace="work")  # never contacted
    before = sorted(p.name for p in (project / "work").iterdir())
    done = axoc_process(
        "run", str(path), "--dry-run", "--json", "--state-dir", str(tmp_path / "state"),
        "-i", "x",
    )  # fmt: skip
    assert done.code == 0, done.err
    events = [json.loads(line) for line in done.out.splitlines()]
    called = {e["name"]: e["error"] for e in events if e.get("event") == "tool"}
    # echo's arguments: every string is "echo": no file 'echo' to read; list and grep succeed;
    # write_file answers "not written: dry run"
    assert called == {"read_file": True, "list_dir": False, "grep": False, "write_file": False}
    assert sorted(p.name for p in (project / "work").iterdir()) == before


def test_check_no_longer_warns_about_the_file_tools(tmp_path: Path) -> None:
    path = config(tmp_path, "http://127.0.0.1:9", workspace=".")
    done = axoc_process("check", str(path))
    assert done.code == 0
    assert "AX208" not in done.out + done.err


class Resumable:
    """read_file twice, one call per turn; the first time the second turn is asked, it hangs
    (the run is killed there); then answers with the results."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.hung = False
        self.lock = threading.Lock()

    def __call__(self, received: Received) -> Reply:
        body = received.json()
        with self.lock:
            self.requests.append(body)
            results = [m for m in body["messages"] if m["role"] == "tool"]
            if len(results) == 1 and not self.hung:
                self.hung = True
                return Reply(200, b"", hang=60)
        message: dict[str, Any]
        if len(results) < 2:
            call = {"id": f"call_{len(results)}", "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "notes.txt"}'}}  # fmt: skip
            message, finish = (
                {"role": "assistant", "content": None, "tool_calls": [call]},
                "tool_calls",
            )
        else:
            message, finish = {"role": "assistant", "content": "done"}, "stop"
        return openai_reply(body["model"], message, finish)


def test_a_resumed_run_keeps_the_workspace_it_started_with(tmp_path: Path) -> None:
    """Started with --workspace, killed (SIGKILL) mid tool loop, resumed without it: the journal
    header records the workspace, and the resumed run's read_file reads there, not in the
    config's workspace."""
    project = lay_out(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("the other notes\n", encoding="utf-8")
    model = Resumable()
    state = tmp_path / "state"
    with FakeServer() as server:
        server.respond = model
        path = config(project, server.url, workspace="work")
        command = [sys.executable, "-m", "axoc", "run", str(path), "-i", "x", "--state-dir",
                   str(state), "--workspace", str(other)]  # fmt: skip
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not model.hung:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the run never asked its second turn"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        (run_id,) = [p.name for p in (state / "runs").iterdir()]
        journal = state / "runs" / run_id / "journal.jsonl"
        header = json.loads(journal.read_text(encoding="utf-8").splitlines()[0])
        assert header["workspace"] == str(other.resolve())
        other.rename(tmp_path / "moved")
        code, events, err = run(path, state, "--resume", run_id)
        assert code == 2 and events[-1]["code"] == "no_workspace"
        assert "is no longer a directory" in err
        (tmp_path / "moved").rename(other)
        code, _, err = run(path, state, "--resume", run_id)
    assert code == 0, err
    last = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert last == ["the other notes\n", "the other notes\n"]
