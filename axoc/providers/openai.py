"""OpenAI chat completions: `POST {base_url}/chat/completions`, not streamed.

One adapter serves OpenAI (`https://api.openai.com/v1`), Mistral (`https://api.mistral.ai/v1`),
OpenRouter (`https://openrouter.ai/api/v1`) and any OpenAI-compatible server (LM Studio, vLLM,
MLX, Ollama's `/v1`) by `base_url`. Wire format, from the OpenAI API reference
("Create chat completion") and its published examples:

    request   {"model", "messages": [{"role", "content"}], <max-tokens field>,
               "temperature", "top_p",                 (only those set)
               "response_format": {"type": "json_object"}}   (JSON mode only)
    headers   Authorization: Bearer <api_key>          (only when a key is set)
    answer    {"model", "choices": [{"message": {"role", "content", "refusal"},
               "finish_reason"}], "usage": {"prompt_tokens", "completion_tokens", ...}}
    error     {"error": {"message", "type", "param", "code"}} with a 4xx/5xx status

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

from axoc.kernel.ports import FatalProviderError, Request, Response, Usage
from axoc.providers import urls
from axoc.providers.http import Answer, Endpoint, call, check_url, new_client

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

    async def complete(self, request: Request) -> Response:
        body = request_body(request, self._max_tokens_field)
        return await call(self._client, self._endpoint, request, body, self._headers, parse_answer)

    async def aclose(self) -> None:
        """Close the client this provider created; an injected client stays its owner's."""
        if self._owns_client:
            await self._client.aclose()


def request_body(request: Request, max_tokens_field: MaxTokensField) -> dict[str, object]:
    body: dict[str, object] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
    }
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.response_format == "json":
        body["response_format"] = {"type": "json_object"}
    return body


def parse_answer(answer: Answer) -> Response:
    if answer.get("choices") is None and (error := _error_text(answer.payload)):
        raise answer.invalid(f"an error instead of choices: {error}")
    if answer.get("choices.0.message.content") is None:
        refusal = answer.optional_text("choices.0.message.refusal")
        if refusal:
            raise FatalProviderError(
                answer.endpoint.say(f"the model refused: {refusal}"), status=200
            )
    text = answer.text("choices.0.message.content")
    if answer.get("usage") is None:
        raise answer.invalid("`usage` is missing; token budgets need the provider's counts")
    return Response(
        text=text,
        usage=Usage(
            input_tokens=answer.count("usage.prompt_tokens"),
            output_tokens=answer.count("usage.completion_tokens"),
        ),
        model=answer.optional_text("model"),
        finish_reason=answer.optional_text("choices.0.finish_reason"),
    )


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
