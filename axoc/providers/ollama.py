"""Ollama's native chat API: `POST {base_url}/api/chat`, not streamed.

Wire format, as documented in ollama/ollama `docs/api.md` ("Generate a chat completion") and
defined by `api/types.go`:

    request   {"model", "messages": [{"role", "content"}], "stream": false,
               "options": {"num_predict", "temperature", "top_p"},   (only those set)
               "format": "json",                                    (JSON mode only)
               "tools": [{"type": "function", "function": {"name", "description",
                          "parameters"}}]}                          (only when offered)
    messages  an assistant's calls: {"role": "assistant", "content", "tool_calls":
               [{"function": {"name", "arguments": {...}}}]}; a result:
               {"role": "tool", "content", "tool_name"}
    answer    {"model", "message": {"role", "content", "tool_calls"}, "done": true,
               "done_reason", "prompt_eval_count", "eval_count", ...durations}
    error     {"error": "model \"x\" not found, try pulling it first"} with a 4xx/5xx status

Tool calls (docs/api.md, "Chat request (with tools)"): `arguments` is an OBJECT (serialized
to JSON text here, and sent back as an object); a call without an `id` gets one made up
(`axoc-call-N`, unique within the answer); `done_reason` stays `stop` beside calls, reported
as "tool_calls". `is_error` has no field in this format: a result carries its text alone.

Usage: `prompt_eval_count` -> input tokens, `eval_count` -> output tokens. Ollama encodes both
with Go's `omitempty`, so an absent count means 0. That reading is taken only where 0 is
possible: `eval_count` when the answer is empty. An absent `prompt_eval_count` for a non-empty
prompt is the known bug of Ollama releases before July 2024 (ollama/ollama#2068, fixed by
#5371), which dropped it when the prompt was cached; the true count is unknown, so it raises
`InvalidResponse` rather than recording 0 and letting budgets undercount.
"""

from __future__ import annotations

import json

import httpx

from axoc.kernel.ports import Message, Request, Response, ToolCall, Usage
from axoc.providers import body, urls
from axoc.providers.http import (
    Answer,
    Endpoint,
    arguments_object,
    call,
    check_url,
    fetch,
    made_up_id,
    new_client,
)

DEFAULT_BASE_URL = "http://localhost:11434"


class OllamaProvider:
    """One Ollama server. Safe to call concurrently (one pooled `httpx.AsyncClient`)."""

    def __init__(
        self, base_url: str = DEFAULT_BASE_URL, client: httpx.AsyncClient | None = None
    ) -> None:
        url = urls.endpoint(check_url(base_url), "/api/chat")
        self._endpoint = Endpoint("ollama", url, _error_text)
        self._tags = Endpoint("ollama", urls.endpoint(base_url, "/api/tags"), _error_text)
        # Invariant: `_owns_client` is True exactly when `aclose()` must close `_client`.
        self._owns_client = client is None
        self._client = client if client is not None else new_client()

    async def complete(self, request: Request) -> Response:
        headers = {"Accept": "application/json"}
        prompted = bool(request.messages)
        return await call(
            self._client, self._endpoint, request, request_body(request), headers,
            lambda answer: parse_answer(answer, prompted=prompted),
        )  # fmt: skip

    async def list_models(self) -> list[str]:
        """The names of the models the server has pulled (`GET /api/tags`)."""
        headers = {"Accept": "application/json"}
        return await fetch(self._client, self._tags, headers, _model_names)

    async def aclose(self) -> None:
        """Close the client this provider created; an injected client stays its owner's."""
        if self._owns_client:
            await self._client.aclose()


def request_body(request: Request) -> dict[str, object]:
    options: dict[str, object] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.top_p is not None:
        options["top_p"] = request.top_p
    body: dict[str, object] = {
        "model": request.model,
        "messages": [_message(m) for m in request.messages],
        "stream": False,
    }
    if options:
        body["options"] = options
    if request.response_format == "json":
        body["format"] = "json"
    if request.tools and request.tool_choice != "none":  # Ollama has no tool_choice: left out
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": dict(t.parameters),
                },
            }
            for t in request.tools
        ]
    return body


def _message(message: Message) -> dict[str, object]:
    if message.role == "tool":
        return {"role": "tool", "content": message.content, "tool_name": message.name or ""}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content,
            "tool_calls": [
                {"function": {"name": c.name, "arguments": arguments_object(c.arguments)}}
                for c in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def parse_answer(answer: Answer, *, prompted: bool) -> Response:
    if answer.get("done") is not True:
        error = answer.optional_text("error")
        raise answer.invalid(error or "`done` is not true in a non-streamed answer")
    calls = _tool_calls(answer)
    text = "" if calls and answer.get("message.content") is None else (
        answer.text("message.content")
    )  # fmt: skip
    finish = answer.optional_text("done_reason")
    return Response(
        text=text,
        usage=Usage(
            input_tokens=_count(answer, "prompt_eval_count", zero_possible=not prompted),
            output_tokens=_count(answer, "eval_count", zero_possible=text == "" and not calls),
        ),
        model=answer.optional_text("model"),
        finish_reason="tool_calls" if calls and finish in (None, "stop") else finish,
        tool_calls=calls,
    )


def _tool_calls(answer: Answer) -> tuple[ToolCall, ...]:
    """`message.tool_calls`, arguments serialized, ids made up where none came."""
    path = "message.tool_calls"
    if answer.get(path) is None:
        return ()
    calls = []
    for index in range(len(answer.items(path))):
        at = f"{path}.{index}"
        arguments = answer.get(f"{at}.function.arguments")
        if arguments is None:
            arguments = {}
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, ensure_ascii=False)
        elif not isinstance(arguments, str):
            raise answer.invalid(f"`{at}.function.arguments` is not an object")
        calls.append(
            ToolCall(
                id=answer.optional_text(f"{at}.id") or made_up_id(index),
                name=answer.text(f"{at}.function.name"),
                arguments=arguments,
            )
        )
    return tuple(calls)


def _model_names(answer: Answer) -> list[str]:
    """`GET /api/tags`: `{"models": [{"name": "llama3.2:latest", ...}]}`."""
    found = [] if answer.get("models") is None else answer.items("models")
    return [answer.text(f"models.{i}.name") for i in range(min(len(found), body.MAX_MODELS))]


def _count(answer: Answer, field: str, *, zero_possible: bool) -> int:
    if answer.get(field) is not None:
        return answer.count(field)
    if zero_possible:
        return 0  # Go's omitempty dropped a zero
    if field == "prompt_eval_count":
        raise answer.invalid(
            "`prompt_eval_count` is missing, so the prompt's token count is unknown (Ollama "
            "releases before July 2024 drop it for a cached prompt; upgrade Ollama)"
        )
    return answer.count(field)  # raises: the count is missing


def _error_text(payload: object) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return str(payload["error"])
    return None
