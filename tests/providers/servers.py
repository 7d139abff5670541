"""Real HTTP servers on loopback that speak the providers' protocols, scripted per test.

`FakeServer` is a `ThreadingHTTPServer` on 127.0.0.1, port 0, serving from a background thread.
A test scripts what each next request gets (`Reply`: a status and body, a hang, a trickle, a
connection reset) and afterwards reads what the server `received` (method, path, headers, body).
The bodies below are recorded from each provider's documentation or from real answers quoted in
public bug reports; each names its source.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from axoc.kernel.ports import Provider, Request, Response

# --- Ollama (ollama/ollama docs/api.md, "Generate a chat completion") --------------------------

# "Chat request (No streaming)", verbatim: no `done_reason` (older servers omit it).
OLLAMA_CHAT = {
    "model": "llama3.2",
    "created_at": "2023-12-12T14:13:43.416799Z",
    "message": {"role": "assistant", "content": "Hello! How are you today?"},
    "done": True,
    "total_duration": 5191566416,
    "load_duration": 2154458,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 383809000,
    "eval_count": 298,
    "eval_duration": 4799921000,
}

# "Chat request (Structured outputs)", verbatim.
OLLAMA_CHAT_JSON = {
    "model": "llama3.1",
    "created_at": "2024-12-06T00:46:58.265747Z",
    "message": {"role": "assistant", "content": '{"age": 22, "available": false}'},
    "done_reason": "stop",
    "done": True,
    "total_duration": 2254970291,
    "load_duration": 574751416,
    "prompt_eval_count": 34,
    "prompt_eval_duration": 1502000000,
    "eval_count": 12,
    "eval_duration": 175000000,
}

# "Load a model" (empty `messages`), verbatim: no counts at all.
OLLAMA_LOAD = {
    "model": "llama3.2",
    "created_at": "2024-09-12T21:17:29.110811Z",
    "message": {"role": "assistant", "content": ""},
    "done_reason": "load",
    "done": True,
}

# ollama/ollama#2068: the second identical request of a cached prompt lost `prompt_eval_count`
# (the first answer quoted there, with that one field dropped as the issue reports).
OLLAMA_CACHED_PROMPT_BUG = {
    "model": "orca2",
    "created_at": "2024-01-19T00:01:42.266089Z",
    "message": {"role": "assistant", "content": "My purpose is to assist you."},
    "done": True,
    "total_duration": 876557125,
    "load_duration": 725667,
    "prompt_eval_duration": 275489000,
    "eval_count": 39,
    "eval_duration": 595078000,
}

# server/routes.go: `gin.H{"error": fmt.Sprintf("model %q not found, try pulling it first", name)}`
OLLAMA_NOT_FOUND = {"error": 'model "llama3.2" not found, try pulling it first'}
# server/sched.go ErrMaxQueue, sent with 503.
OLLAMA_BUSY = {"error": "server busy, please try again.  maximum pending requests exceeded"}

# --- OpenAI chat completions (API reference, "Create chat completion", default example) --------

OPENAI_CHAT = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
}

# The same answer refused: `content` null, `refusal` set (the reference's message object).
OPENAI_REFUSAL = json.loads(json.dumps(OPENAI_CHAT))
OPENAI_REFUSAL["choices"][0]["message"].update(
    content=None, refusal="I'm sorry, I can't assist with that request."
)

# OpenAI's 401, as quoted in chatanywhere/GPT_API_free#62 (the masked key is this suite's key).
OPENAI_BAD_KEY = {
    "error": {
        "message": "Incorrect API key provided: sk-test***************************9f2c. "
        "You can find your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}

# OpenAI's 400 for `max_tokens` on a reasoning model, as quoted in griptape-ai/ComfyUI-Griptape#312.
OPENAI_UNSUPPORTED_MAX_TOKENS = {
    "error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
}

# Mistral's 422 for an unknown field, as quoted in editor-code-assistant/eca#231.
MISTRAL_EXTRA_FORBIDDEN = {
    "object": "error",
    "message": {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "max_completion_tokens"],
                "msg": "Extra inputs are not permitted",
                "input": 32000,
            }
        ]
    },
    "type": "invalid_request_error",
    "param": None,
    "code": None,
}


# --- The server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the server does with one request."""

    status: int = 200
    body: bytes | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (cut short when the server closes)
    trickle: float = 0.0  # seconds between the body's pieces, once the headers are sent
    piece: int = 1  # bytes per piece when trickling
    reset: bool = False  # drop the connection (TCP RST) without a response


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeServer:
    """A loopback HTTP/1.1 server answering scripted `Reply`s in order, then `default`."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply(404, {"error": "nothing scripted"})
        # answers computed from the request, once the script is used up (e.g. an echo model)
        self.respond: Callable[[Received], Reply] | None = None
        self.received: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.released = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> FakeServer:
        with self._lock:
            self._script.extend(replies)
        return self

    def next_reply(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            if self._script:
                return self._script.popleft()
        return self.respond(received) if self.respond is not None else self.default

    def close(self) -> None:
        self.released.set()  # wake handlers that hang or trickle
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or get reset leave broken pipes behind; that is the point


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, Content-Length framing, as real servers do
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake = self.server.fake
        reply = fake.next_reply(Received(self.command, self.path, headers, body))
        if reply.hang and fake.released.wait(reply.hang):
            return
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        self._answer(reply, fake.released)

    def _answer(self, reply: Reply, released: threading.Event) -> None:
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if not isinstance(reply.body, bytes):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not reply.trickle:
            self.wfile.write(payload)
            return
        for start in range(0, len(payload), reply.piece):
            self.wfile.write(payload[start : start + reply.piece])
            self.wfile.flush()
            if released.wait(reply.trickle):
                return


class ScriptedModel:
    """The base of a scripted model behind a `FakeServer` (`server.respond = model`): keeps every
    request's body, in order, for the test to read (`requests`)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def record(self, received: Received) -> tuple[dict[str, Any], int]:
        """The request's body, kept, and its number (from 1)."""
        body = received.json()
        with self.lock:
            self.requests.append(body)
            return body, len(self.requests)


def openai_reply(model: str, message: dict[str, Any], finish: str) -> Reply:
    """An OpenAI chat completion whose one choice is `message` (40 prompt, 12 completion tokens)."""
    return Reply(200, {
        "id": "chatcmpl-scripted", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    })  # fmt: skip


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def complete(provider: Provider, request: Request) -> Response:
    """One call on a fresh event loop, closing the provider afterwards."""

    async def go() -> Response:
        try:
            return await provider.complete(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def make_request(**fields: object) -> Request:
    """A request with the tests' usual settings (256 output tokens, a 2 s timeout); `fields`
    name the agent, model and messages, and override anything else."""
    return Request(**{"max_tokens": 256, "timeout": 2.0, **fields})  # type: ignore[arg-type]
