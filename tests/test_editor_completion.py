"""The schema modeline gives completion, hover and validation in a real editor's language server.

Every example starts with `# yaml-language-server: $schema=../schema/axoc.schema.json`. Here
Red Hat's yaml-language-server (the one in VS Code, Neovim, Helix and Zed), pinned in
tests/editor/package.json, runs over stdio and is spoken to as an editor would: initialize,
configuration with the schema store off (no network), didOpen of documents inside examples/ so
the relative modeline resolves, then completion, hover and the diagnostics it publishes. Edited
documents are only opened in the server (examples/__lsp_probe*.axoc.yaml), never written to disk.
Needs Node and `npm ci --prefix tests/editor`; a missing piece fails the test, never skips it.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

EDITOR = ROOT / "tests" / "editor"
SERVER = EDITOR / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
SCHEMA_PATH = ROOT / "schema" / "axoc.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
EXAMPLES = sorted((ROOT / "examples").glob("*.axoc.yaml"))
HELLO = ROOT / "examples" / "hello-world.axoc.yaml"
MODELINE = "# yaml-language-server: $schema=../schema/axoc.schema.json\n"
TIMEOUT = 10.0  # seconds for any one answer; the server needs well under one
SETTINGS = {
    "yaml": {
        "validate": True,
        "completion": True,
        "hover": True,
        "format": {"enable": False},
        "schemaStore": {"enable": False},  # no network: only the modeline's schema
        "schemas": {},
    }
}


def _setup_problem() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed (apt-get install -y nodejs npm)"
    if not SERVER.is_file():
        return "yaml-language-server is missing: run `npm ci --prefix tests/editor`"
    return None


class Server:
    """A yaml-language-server process spoken to over stdio, JSON-RPC with Content-Length frames."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(SERVER), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=EDITOR,
        )
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr: list[str] = []
        self.log: list[str] = []  # window/logMessage and showMessage, for failure reports
        self.errors: list[str] = []  # errors the server caught and reported as telemetry
        self.diagnostics: dict[str, list[list[dict[str, Any]]]] = {}
        self.responses: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.version = 0
        self.broken: str | None = None  # once the server failed us, later tests fail at once
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- transport ------------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:  # headers, up to an empty line
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length is not None:
                    self.inbox.put(json.loads(out.read(length)))
        finally:
            self.inbox.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def _fail(self, why: str) -> None:
        self.broken = why
        log = "".join(f"  {line}\n" for line in self.log[-20:])
        pytest.fail(
            f"yaml-language-server {why}\nserver log:\n{log}server stderr:\n"
            f"{''.join(self.stderr[-20:])}",
            pytrace=False,
        )

    def _send(self, message: dict[str, Any]) -> None:
        if self.broken:
            pytest.fail(f"yaml-language-server already failed: {self.broken}", pytrace=False)
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.proc.stdin.flush()
        except OSError as error:
            self._fail(f"cannot be written to ({error}); exit code {self.proc.poll()}")

    def _pump(self, deadline: float, what: str) -> None:
        """Handle one message from the server, or fail when `deadline` has passed."""
        if self.broken:
            pytest.fail(f"yaml-language-server already failed: {self.broken}", pytrace=False)
        try:
            message = self.inbox.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            self._fail(f"gave no {what} in {TIMEOUT} s")
        if message is None:
            self._fail(f"exited (code {self.proc.poll()}) while we waited for {what}")
        assert message is not None
        method = message.get("method")
        if method is None:  # a response to one of our requests
            self.responses[message["id"]] = message
        elif "id" in message:  # a request from the server: answer it, so it never waits on us
            self._send({"id": message["id"], "result": self._answer(method, message.get("params"))})
        elif method == "textDocument/publishDiagnostics":
            params = message["params"]
            self.diagnostics.setdefault(params["uri"], []).append(params["diagnostics"])
        elif method == "telemetry/event":  # how the server reports an exception it caught
            params = message.get("params") or {}
            error = (params.get("properties") or {}).get("error")
            if error:
                self.errors.append(f"{params.get('name')}: {error}")
        elif method in ("window/logMessage", "window/showMessage"):
            self.log.append(message["params"]["message"])

    @staticmethod
    def _answer(method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            items = params.get("items", []) if isinstance(params, dict) else []
            return [SETTINGS.get(item.get("section", ""), {}) for item in items]
        return None  # client/registerCapability, window/workDoneProgress/create, ...

    # -- protocol -------------------------------------------------------------------------------

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        self._send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while ident not in self.responses:
            self._pump(deadline, f"answer to {method}")
        response = self.responses.pop(ident)
        assert "error" not in response, f"{method} failed: {response['error']}"
        return response.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def open(self, uri: str, text: str) -> None:
        # Versions grow across reopenings of a URI, as in an editor: the server caches parsed
        # documents by URI and version, and would answer a reopened one from the stale text.
        self.diagnostics.pop(uri, None)
        self.version += 1
        document = {"uri": uri, "languageId": "yaml", "version": self.version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def published(self, uri: str) -> list[dict[str, Any]]:
        """The diagnostics the server publishes for `uri` after it was opened."""
        deadline = time.monotonic() + TIMEOUT
        while not self.diagnostics.get(uri):
            self._pump(deadline, f"diagnostics for {uri}")
        return self.diagnostics[uri][0]

    def shutdown(self) -> None:
        try:
            if self.proc.poll() is None and not self.broken:
                self.request("shutdown", None)
                self.notify("exit", None)
                self.proc.wait(timeout=5)
        except BaseException:  # a failed test already says why; never leave the process behind
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    problem = _setup_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    lsp = Server()
    try:
        lsp.request(
            "initialize",
            {
                "processId": None,
                "rootUri": ROOT.as_uri(),
                "workspaceFolders": [{"uri": ROOT.as_uri(), "name": ROOT.name}],
                "capabilities": {
                    "workspace": {"configuration": True, "didChangeConfiguration": {}},
                    "textDocument": {
                        "completion": {
                            "completionItem": {
                                "snippetSupport": True,
                                "documentationFormat": ["markdown", "plaintext"],
                            }
                        },
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                    },
                },
            },
        )
        lsp.notify("initialized", {})
        lsp.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})
        yield lsp
    finally:
        lsp.shutdown()


def _probe(name: str) -> str:
    """A document URI inside examples/, so the relative modeline resolves; never on disk."""
    path = ROOT / "examples" / f"{name}.axoc.yaml"
    assert not path.exists(), f"{path} should not exist"
    return path.as_uri()


def _cursor(text: str) -> tuple[str, dict[str, int]]:
    """`text` with its one `|` taken out, and the LSP position where it was."""
    assert text.count("|") == 1, text
    before, after = text.split("|")
    lines = before.split("\n")
    return before + after, {"line": len(lines) - 1, "character": len(lines[-1])}


def _labels(server: Server, text: str) -> list[str]:
    """The labels the server offers at the `|` in `text`, opened as examples/__lsp_probe."""
    text, position = _cursor(text)
    uri = _probe("__lsp_probe")
    caught = len(server.errors)
    server.open(uri, text)
    try:
        result = server.request(
            "textDocument/completion", {"textDocument": {"uri": uri}, "position": position}
        )
    finally:
        server.close(uri)
    items = result["items"] if isinstance(result, dict) else result or []
    labels = [item["label"] for item in items]
    # The server reports an exception during completion as telemetry (sent before its answer)
    # and answers with whatever it had collected until then: say so, with its stack.
    assert not server.errors[caught:], (
        f"yaml-language-server failed while completing (it offered only {labels}):\n"
        + "\n".join(server.errors[caught:])
    )
    return labels


def _hover(server: Server, uri: str, text: str, line: int, character: int) -> str:
    server.open(uri, text)
    try:
        hover = server.request(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )
    finally:
        server.close(uri)
    assert hover, f"no hover at {line + 1}:{character + 1}: {text.splitlines()[line]!r}"
    contents = hover["contents"]
    return contents["value"] if isinstance(contents, dict) else str(contents)


def _agent_keys() -> set[str]:
    return set(SCHEMA["definitions"]["Agent"]["properties"])


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_has_no_diagnostics(server: Server, example: Path) -> None:
    text = example.read_text(encoding="utf-8")
    assert text.startswith(MODELINE), f"{example.name} does not start with the modeline"
    uri = example.as_uri()
    server.open(uri, text)
    try:
        diagnostics = server.published(uri)
    finally:
        server.close(uri)
    assert diagnostics == [], [
        (d["range"]["start"]["line"] + 1, d.get("severity"), d["message"]) for d in diagnostics
    ]
    # ... and that is the schema's verdict, not "no schema found": the modeline's schema is
    # attached to this very document (hover names it as its source).
    line = text.splitlines().index("agents:")
    assert SCHEMA_PATH.as_uri() in _hover(server, uri, text, line, 1)


def test_completion_offers_agent_keys(server: Server) -> None:
    text = MODELINE + (
        "agents:\n"
        "  - id: researcher\n"
        "    name: Researcher\n"
        "    |\n"
        "  - id: summarizer\n"
        "    depends_on: [researcher]\n"
    )
    labels = _labels(server, text)
    for key in ("depends_on", "token_budget", "activation", "system_prompt", "model"):
        assert key in _agent_keys()
        assert key in labels, f"no completion for agent key {key}: {labels}"
    assert "id" not in labels, f"a key the agent has is offered again: {labels}"
    assert not set(labels) - _agent_keys(), f"non-agent keys offered: {labels}"


def test_completion_in_an_example_offers_the_keys_it_lacks(server: Server) -> None:
    hello = HELLO.read_text(encoding="utf-8")
    anchor = "    model: llama3.2\n"  # the first agent's
    assert anchor in hello
    labels = _labels(server, hello.replace(anchor, anchor + "    |\n", 1))
    first = {"id", "name", "provider", "model", "system_prompt", "depends_on", "token_budget"}
    assert set(labels) == _agent_keys() - first, labels


def test_completion_offers_top_level_keys(server: Server) -> None:
    labels = _labels(server, MODELINE + "|\n")
    for key in ("agents", "workflows", "skills", "providers"):
        assert key in SCHEMA["properties"]
        assert key in labels, f"no completion for top-level key {key}: {labels}"
    missing = set(SCHEMA["properties"]) - set(labels)
    assert not missing, f"top-level keys not offered: {sorted(missing)}"


def test_completion_offers_overflow_policies(server: Server) -> None:
    text = MODELINE + (
        "agents:\n"
        "  - id: researcher\n"
        "    token_budget:\n"
        "      per_call: 1000\n"
        "      overflow_policy: |\n"
    )
    labels = _labels(server, text)
    for value in ("abort", "warn"):
        assert value in labels, f"no completion for overflow_policy {value}: {labels}"
    enum = SCHEMA["definitions"]["TokenBudget"]["properties"]["overflow_policy"]["enum"]
    assert set(labels) == set(enum), labels


def test_hover_shows_the_schema_description(server: Server) -> None:
    hello = HELLO.read_text(encoding="utf-8")
    line = hello.splitlines().index("    depends_on: []")
    shown = _hover(server, HELLO.as_uri(), hello, line, 6)
    description = SCHEMA["definitions"]["Agent"]["properties"]["depends_on"]["description"]
    unescaped = re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>|])", r"\1", shown)  # markdown escapes
    assert description in unescaped, f"hover shows {shown!r}, not {description!r}"


def test_modeline_validates_an_unknown_key_and_a_wrong_type(server: Server) -> None:
    uri = _probe("__lsp_probe_invalid")
    text = MODELINE + (
        "agents:\n"
        "  - id: researcher\n"
        "    dpends_on: []\n"  # line 4
        "    token_budget: { per_call: lots }\n"  # line 5
    )
    server.open(uri, text)
    try:
        diagnostics = server.published(uri)
    finally:
        server.close(uri)
    found = [(d["range"]["start"]["line"] + 1, d["message"]) for d in diagnostics]
    assert any(line == 4 and "dpends_on" in message for line, message in found), found
    assert any(line == 5 and "integer" in message.lower() for line, message in found), found


def test_a_project_from_axoc_init_is_validated_through_its_modeline(
    server: Server, tmp_path: Path
) -> None:
    from tests.helpers import axoc

    assert axoc("init", str(tmp_path)).code == 0
    config = tmp_path / "axoc.yaml"
    text = config.read_text(encoding="utf-8")
    server.open(config.as_uri(), text)
    try:
        assert server.published(config.as_uri()) == []
    finally:
        server.close(config.as_uri())
    line = text.splitlines().index("agents:")  # the schema init wrote is the one attached
    schema = (tmp_path / "schema" / "axoc.schema.json").as_uri()
    assert schema in _hover(server, config.as_uri(), text, line, 1)
    broken = text.replace("    model: llama3.2\n", "    model: llama3.2\n    dpends_on: []\n", 1)
    uri = (tmp_path / "broken.axoc.yaml").as_uri()  # beside it: the same relative modeline
    server.open(uri, broken)
    try:
        found = [d["message"] for d in server.published(uri)]
    finally:
        server.close(uri)
    assert any("dpends_on" in message for message in found), found


def test_server_version_is_pinned() -> None:
    package = json.loads((EDITOR / "package.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} should be pinned, not {version}"
    assert (EDITOR / "package-lock.json").is_file()
