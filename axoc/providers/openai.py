"""OpenAI chat completions: `POST {base_url}/chat/completions`, not streamed.

One adapter serves OpenAI (`https://api.openai.com/v1`), Mistral (`https://api.mistral.ai/v1`),
OpenRouter (`https://openrouter.ai/api/v1`) and any OpenAI-compatible server (LM Studio, vLLM,
MLX, Ollama's `/v1`) by `base_url`. Wire format, from the OpenAI API reference
("Create chat completion") and its published examples:

    request   {"model", "messages": [{"role", "content"}], <max-tokens field>,
               "temperature", "top_p",                 (only those set)
               "response_format": {"type": "json_object"},   (JSON mode only)
               "tools": [{"type": "function", "function": {"name", "description",
                          "parameters"}}]}                  (only when offered)
    messages  an assistant's calls: {"role": "assistant", "content": null (when it wrote no
               text), "tool_calls": [{"id", "type": "function", "function": {"name",
               "arguments": "<JSON text>"}}]}; ONE {"role": "tool", "tool_call_id", "content"}
               per call, in the order of the calls
    headers   Authorization: Bearer <api_key>          (only when a key is set)
    answer    {"model", "choices": [{"message": {"role", "content", "refusal", "tool_calls"},
               "finish_reason"}], "usage": {"prompt_tokens", "completion_tokens",
               "prompt_tokens_details": {"cached_tokens"}, ...}}
    error     {"error": {"message", "type", "param", "code"}} with a 4xx/5xx status

Tool calls (API reference, "Function calling" guide): `content` may be null beside them, the
finish reason is `tool_calls`; each call's `arguments` is a string the model wrote, passed on
as it is, JSON or not (the session answers arguments that are not JSON with an error result);
a server sending an object instead is tolerated (serialized). A call without an id, or two
with one id, is an invalid response. `is_error` has no field in this format: a tool message
carries the result's text alone. `prompt_tokens` includes the cached tokens.

The max-tokens field is ONE of two names, never both. OpenAI deprecated `max_tokens` in favour
of `max_completion_tokens` and its reasoning models (o-series, gpt-5) answer 400 "Unsupported
parameter: 'max_tokens'"; Mistral rejects `max_completion_tokens` with 422 "Extra inputs are not
permitted", and OpenRouter and local servers document `max_tokens`. So the default is
`max_completion_tokens` for api.openai.com and `max_tokens` for every other host; pass
`max_tokens_field` to override. Unset sampling values are left out for the same reason: strict
servers reject what they do not know.

`usage` is optional in OpenAI's schema (streamed chunks lack it) but every non-streamed answer
carries it; an answer without it raises `InvalidResponse`, since budgets need real counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

import httpx

from axoc.kernel.ports import FatalProviderError, Message, Request, Response, ToolCall, Usage
from axoc.providers import body, urls
from axoc.providers.http import Answer, Endpoint, call, check_url, fetch, new_client

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MaxTokensField = Literal["max_tokens", "max_completion_tokens"]
_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie")


class OpenAIProvider:
    """One OpenAI-compatible endpoint. Safe to call concurrently (one pooled client)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        *,
        max_tokens_field: MaxTokensField | None = None,
    ) -> None:
        key = (api_key or "").strip()
        if any(ch.isspace() or not ch.isprintable() for ch in key):
            raise ValueError("api_key contains whitespace or control characters")
        host = httpx.URL(check_url(base_url)).netloc.decode("ascii")
        self._max_tokens_field: MaxTokensField = max_tokens_field or (
            "max_completion_tokens" if host == "api.openai.com" else "max_tokens"
        )
        # Invariant: `_owns_client` is True exactly when `aclose()` must close `_client`.
        self._owns_client = client is None
        self._client = client if client is not None else new_client()
        self._headers = {"Accept": "application/json", **(extra_headers or {})}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        secrets = [key] + [v for k, v in (extra_headers or {}).items() if _is_secret(k)]
        url = urls.endpoint(base_url, "/chat/completions")
        self._endpoint = Endpoint(host, url, _error_text, tuple(s for s in secrets if s))
        self._models = Endpoint(host, urls.endpoint(base_url, "/models"), _error_text,
                                self._endpoint.secrets)  # fmt: skip

    async def complete(self, request: Request) -> Response:
        body = request_body(request, self._max_tokens_field)
        return await call(self._client, self._endpoint, request, body, self._headers, parse_answer)

    async def list_models(self) -> list[str]:
        """The ids of the models the endpoint serves (`GET {base_url}/models`)."""
        return await fetch(self._client, self._models, self._headers, _model_ids)

    async def aclose(self) -> None:
        """Close the client this provider created; an injected client stays its owner's."""
        if self._owns_client:
            await self._client.aclose()


def request_body(request: Request, max_tokens_field: MaxTokensField) -> dict[str, object]:
    body: dict[str, object] = {
        "model": request.model,
        "messages": [_message(m) for m in request.messages],
    }
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.response_format == "json":
        body["response_format"] = {"type": "json_object"}
    if request.tools:
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
        if request.tool_choice == "none":  # the tools are context: the model must answer
            body["tool_choice"] = "none"
    return body


def _message(message: Message) -> dict[str, object]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "",
                "content": message.content}  # fmt: skip
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def parse_answer(answer: Answer) -> Response:
    if answer.get("choices") is None and (error := _error_text(answer.payload)):
        raise answer.invalid(f"an error instead of choices: {error}")
    calls = _tool_calls(answer)
    if answer.get("choices.0.message.content") is None:
        refusal = answer.optional_text("choices.0.message.refusal")
        if refusal:
            raise FatalProviderError(
                answer.endpoint.say(f"the model refused: {refusal}"), status=200
            )
    text = "" if calls and answer.get("choices.0.message.content") is None else (
        answer.text("choices.0.message.content")
    )  # fmt: skip
    if answer.get("usage") is None:
        raise answer.invalid("`usage` is missing; token budgets need the provider's counts")
    return Response(
        text=text,
        usage=Usage(
            input_tokens=answer.count("usage.prompt_tokens"),
            output_tokens=answer.count("usage.completion_tokens"),
            cached_input_tokens=answer.optional_count("usage.prompt_tokens_details.cached_tokens"),
        ),
        model=answer.optional_text("model"),
        finish_reason=answer.optional_text("choices.0.finish_reason"),
        tool_calls=calls,
    )


def _tool_calls(answer: Answer) -> tuple[ToolCall, ...]:
    """`choices[0].message.tool_calls`; ids are checked (present, unique) by the caller."""
    path = "choices.0.message.tool_calls"
    if answer.get(path) is None:
        return ()
    calls = []
    for index in range(len(answer.items(path))):
        at = f"{path}.{index}"
        arguments = answer.get(f"{at}.function.arguments")
        if isinstance(arguments, dict):  # not OpenAI's format, but some servers do it
            arguments = json.dumps(arguments, ensure_ascii=False)
        elif arguments is None:
            arguments = ""
        elif not isinstance(arguments, str):
            raise answer.invalid(f"`{at}.function.arguments` is not a string")
        calls.append(
            ToolCall(
                id=answer.optional_text(f"{at}.id") or "",
                name=answer.text(f"{at}.function.name"),
                arguments=arguments,
            )
        )
    return tuple(calls)


def _model_ids(answer: Answer) -> list[str]:
    """`GET /models`: `{"object": "list", "data": [{"id": "gpt-4o", ...}]}`."""
    found = answer.items("data")
    return [answer.text(f"data.{i}.id") for i in range(min(len(found), body.MAX_MODELS))]


def _error_text(payload: object) -> str | None:
    """`{"error": {"message": ...}}` (OpenAI, OpenRouter), or Mistral's `{"message": ...}`."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    message = payload.get("message")  # Mistral: a string, or pydantic's {"detail": [...]}
    if isinstance(message, str) or not message:
        return message or None
    return json.dumps(message, ensure_ascii=False)


def _is_secret(header: str) -> bool:
    return any(word in header.lower() for word in _SECRET_HEADER_WORDS)
