"""Anthropic's Messages API: `POST {base_url}/v1/messages`, not streamed.

Wire format, from Anthropic's API reference ("Messages", "Errors", "List Models") and its tool
use guide (https://docs.anthropic.com/en/api/messages, /en/api/errors, /en/api/models-list,
/en/docs/agents-and-tools/tool-use/implement-tool-use):

    headers   x-api-key: <api_key> (only when a key is set), anthropic-version: 2023-06-01
    request   {"model", "max_tokens" (required), "system": "<the system messages, joined>",
               "messages": [{"role": "user" | "assistant", "content": [<blocks>]}],
               "temperature", "top_p",                                (only those set)
               "tools": [{"name", "description", "input_schema"}]}     (only when offered)
    blocks    {"type": "text", "text"}; an assistant's {"type": "tool_use", "id", "name",
               "input": {...}}; a user's {"type": "tool_result", "tool_use_id", "content",
               "is_error"}
    answer    {"id", "type": "message", "role": "assistant", "model", "content": [<blocks>],
               "stop_reason", "stop_sequence", "usage": {"input_tokens", "output_tokens",
               "cache_creation_input_tokens", "cache_read_input_tokens"}}
    error     {"type": "error", "error": {"type", "message"}} with a 4xx/5xx status (529
               `overloaded_error`: transient, like every 5xx)

The transcript is mapped so the API accepts it: messages alternate between `user` and
`assistant`, so consecutive messages of one role are merged into one (their blocks in order);
the results of one assistant turn's calls are `tool_result` blocks of ONE user message, placed
before any text that follows them (the API wants them first). Empty text blocks are left out
(the API rejects them) except where a message would otherwise have no block.

Decisions (docs/providers.md):
- `max_tokens` is required: a request with none (budgets set none, the agent neither) sends
  `DEFAULT_MAX_TOKENS`.
- Anthropic has no JSON mode: `response_format: json` adds `JSON_INSTRUCTION` to the system
  prompt, and the answer is returned as the model wrote it.
- `stop_reason`: `end_turn`, `stop_sequence` -> "stop"; `max_tokens` -> "length"; `tool_use`
  -> "tool_calls"; `refusal` -> a FatalProviderError saying the model refused; any other
  (`pause_turn`, ...) is passed on as it is.
- Usage: `input_tokens` counts only the uncached part; the kernel's `input_tokens` is the sum
  with `cache_read_input_tokens` (also `cached_input_tokens`) and
  `cache_creation_input_tokens` (also `cache_write_tokens`).
- Not mapped: extended thinking (`thinking` blocks are ignored and never sent back, so it must
  stay off), images and documents, `tool_choice`, prompt-caching breakpoints, server tools.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from axoc.kernel.ports import FatalProviderError, Message, Request, Response, ToolCall, Usage
from axoc.providers import urls
from axoc.providers.http import (
    Answer,
    Endpoint,
    arguments_object,
    call,
    check_url,
    fetch_names,
    new_client,
)

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # sent when the request carries no max_tokens (the API needs one)
JSON_INSTRUCTION = (
    "Answer with a single JSON value and nothing else: no prose, no Markdown code fence."
)
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                "tool_use": "tool_calls"}  # fmt: skip


class AnthropicProvider:
    """One Anthropic Messages endpoint. Safe to call concurrently (one pooled client)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        key = (api_key or "").strip()
        if any(ch.isspace() or not ch.isprintable() for ch in key):
            raise ValueError("api_key contains whitespace or control characters")
        check_url(base_url)
        self._base_url = base_url
        self._headers = {"Accept": "application/json", "anthropic-version": API_VERSION}
        if key:
            self._headers["x-api-key"] = key
        self._secrets = (key,) if key else ()
        self._endpoint = Endpoint(
            "anthropic", urls.endpoint(base_url, "/v1/messages"), _error_text, self._secrets
        )
        # Invariant: `_owns_client` is True exactly when `aclose()` must close `_client`.
        self._owns_client = client is None
        self._client = client if client is not None else new_client()

    async def complete(self, request: Request) -> Response:
        return await call(
            self._client, self._endpoint, request, request_body(request), self._headers,
            parse_answer,
        )  # fmt: skip

    async def list_models(self) -> list[str]:
        """The ids of the models the key may use (`GET /v1/models`, every page up to
        `MAX_MODEL_PAGES`)."""
        endpoint = Endpoint(
            "anthropic", urls.endpoint(self._base_url, "/v1/models"), _error_text, self._secrets
        )
        return await fetch_names(
            self._client, endpoint, self._headers, _model_page, {"limit": "1000"},
            lambda after: {"limit": "1000", "after_id": after},
        )  # fmt: skip

    async def aclose(self) -> None:
        """Close the client this provider created; an injected client stays its owner's."""
        if self._owns_client:
            await self._client.aclose()


def request_body(request: Request) -> dict[str, object]:
    system = [m.content for m in request.messages if m.role == "system" and m.content]
    if request.response_format == "json":
        system.append(JSON_INSTRUCTION)
    payload: dict[str, object] = {
        "model": request.model,
        "max_tokens": DEFAULT_MAX_TOKENS if request.max_tokens is None else request.max_tokens,
    }
    if system:
        payload["system"] = "\n\n".join(system)
    payload["messages"] = messages(request.messages)
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.top_p is not None:
        payload["top_p"] = request.top_p
    if request.tools:
        payload["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
            for t in request.tools
        ]
        if request.tool_choice == "none":  # tools for the transcript's blocks; no new call
            payload["tool_choice"] = {"type": "none"}
    return payload


def messages(transcript: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The transcript as alternating `user`/`assistant` messages of content blocks."""
    out: list[dict[str, Any]] = []
    for message in transcript:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if out and out[-1]["role"] == role:
            out[-1]["content"] += blocks
        else:
            out.append({"role": role, "content": blocks})
    for merged in out:  # a message with no block at all keeps its (empty) text
        merged["content"] = [b for b in merged["content"] if b is not _EMPTY] or [
            {"type": "text", "text": ""}
        ]
    return out


_EMPTY: dict[str, Any] = {"type": "text", "text": ""}  # a placeholder, left out when merged


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content,
                "is_error": message.is_error,
            }
        ]
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": message.content} if message.content else _EMPTY
    ]
    for tool_call in message.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_call.id,
                "name": tool_call.name,
                "input": arguments_object(tool_call.arguments),
            }
        )
    return blocks


def parse_answer(answer: Answer) -> Response:
    if answer.get("type") == "error" and (error := _error_text(answer.payload)):
        raise answer.invalid(f"an error instead of a message: {error}")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for index, block in enumerate(answer.items("content")):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(answer.text(f"content.{index}.text"))
        elif kind == "tool_use":
            arguments = answer.get(f"content.{index}.input")
            if not isinstance(arguments, dict):
                raise answer.invalid(f"`content.{index}.input` is not an object")
            calls.append(
                ToolCall(
                    id=answer.text(f"content.{index}.id"),
                    name=answer.text(f"content.{index}.name"),
                    arguments=json.dumps(arguments, ensure_ascii=False),
                )
            )
        # other blocks (thinking, server tools) are not mapped
    stop = answer.optional_text("stop_reason")
    if stop == "refusal":
        raise FatalProviderError(
            answer.endpoint.say("the model refused to answer (stop_reason `refusal`)"),
            status=200,
        )
    if answer.get("usage") is None:
        raise answer.invalid("`usage` is missing; token budgets need the provider's counts")
    cached = answer.optional_count("usage.cache_read_input_tokens")
    written = answer.optional_count("usage.cache_creation_input_tokens")
    return Response(
        text="".join(texts),
        usage=Usage(
            input_tokens=answer.count("usage.input_tokens") + cached + written,
            output_tokens=answer.count("usage.output_tokens"),
            cached_input_tokens=cached,
            cache_write_tokens=written,
        ),
        model=answer.optional_text("model"),
        finish_reason=None if stop is None else STOP_REASONS.get(stop, stop),
        tool_calls=tuple(calls),
    )


def _model_page(answer: Answer) -> tuple[list[str], str | None]:
    """The ids of one page of `GET /v1/models`, and the id to continue after (None: the last)."""
    ids = [answer.text(f"data.{i}.id") for i in range(len(answer.items("data")))]
    more = answer.get("has_more") is True
    return ids, (answer.optional_text("last_id") if more else None)


def _error_text(payload: object) -> str | None:
    """`{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type")
        prefix = f"{kind}: " if isinstance(kind, str) and len(kind) <= 40 else ""
        return prefix + str(error["message"])
    return None
