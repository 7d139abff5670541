"""Google's Gemini API: `POST {base_url}/v1beta/models/{model}:generateContent`, not streamed.

Wire format, from the Gemini API reference ("Generating content", "Caching", "Models") and
its function-calling and thought-signature guides (https://ai.google.dev/api/generate-content,
/api/models, /gemini-api/docs/function-calling, /gemini-api/docs/thought-signatures):

    headers   x-goog-api-key: <api_key>   (only when a key is set; never in the URL)
    request   {"contents": [{"role": "user" | "model", "parts": [<parts>]}],
               "systemInstruction": {"parts": [{"text"}]},              (system messages)
               "generationConfig": {"temperature", "topP", "maxOutputTokens",
                                    "responseMimeType": "application/json"}  (only those set)
               "tools": [{"functionDeclarations": [{"name", "description", "parameters"}]}]}
    parts     {"text"}; a model's {"functionCall": {"name", "args": {...}, "id"?},
               "thoughtSignature"?}; a user's {"functionResponse": {"name", "response": {...},
               "id"?}}
    answer    {"candidates": [{"content": {"role": "model", "parts": [...]}, "finishReason"}],
               "promptFeedback": {"blockReason"}?, "usageMetadata": {"promptTokenCount",
               "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount", ...},
               "modelVersion"}
    error     {"error": {"code", "message", "status"}} with a 4xx/5xx status

Decisions (docs/providers.md):
- Calls: a `functionCall` without `id` gets one made up (`axoc-call-N`), never sent back; a
  part's `thoughtSignature` becomes the call's `signature` and is sent back on the same part.
  The results of one turn are `functionResponse` parts of ONE user content, in the order of
  the calls; `response` must be an object: an error result is `{"error": text}`, a result
  whose text is a JSON object is that object, any other `{"result": text}`. Consecutive
  contents of one role are merged.
- Tool parameters: Gemini accepts an OpenAPI 3.0 subset of JSON schema (`gemini_schema`):
  `type` lists become one type plus `nullable`, `const` becomes a one-value `enum`, `oneOf`
  becomes `anyOf`, non-string enums and every keyword outside the subset (`$schema`, `$ref`,
  `$defs`, `additionalProperties`, `allOf`, `not`, `exclusiveMinimum`, `examples`, ...) are
  left out.
- `finishReason`: `STOP` -> "stop" ("tool_calls" when the answer calls tools);
  `MAX_TOKENS` -> "length"; `SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`,
  `SPII`, `IMAGE_SAFETY` and a blocked prompt (`promptFeedback.blockReason`, no candidate) ->
  a FatalProviderError saying so; `MALFORMED_FUNCTION_CALL` -> InvalidResponse; any other is
  passed on lower-cased.
- Usage: `promptTokenCount` (which includes `cachedContentTokenCount`) -> input,
  `candidatesTokenCount` + `thoughtsTokenCount` -> output, `cachedContentTokenCount` ->
  cached input. Counts are proto3 JSON, where a zero is left out: an absent output count is
  0; an absent `promptTokenCount` for a non-empty prompt is an invalid response.
- Not mapped: `thoughtSignature`s on text parts (the transcript has no place for them; Gemini
  requires only those of function calls), thoughts (`thought: true` parts are not text),
  images, `toolConfig`, safety settings, cached contents, server-side tools.
- A 429 without a Retry-After header waits what its body's `google.rpc.RetryInfo` detail says
  (`"retryDelay": "37s"`).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

import httpx

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    Message,
    Request,
    Response,
    ToolCall,
    Usage,
)
from axoc.providers import body, urls
from axoc.providers.http import (
    MADE_UP_ID,
    Answer,
    Endpoint,
    arguments_object,
    call,
    check_url,
    fetch_names,
    made_up_id,
    new_client,
)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
BLOCKED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                     "IMAGE_SAFETY"})  # fmt: skip
# The keywords of Gemini's `Schema` (an OpenAPI 3.0 subset) kept as they are.
SCHEMA_KEYWORDS = frozenset({"type", "format", "title", "description", "nullable", "enum",
                             "maxItems", "minItems", "properties", "required", "minProperties",
                             "maxProperties", "minLength", "maxLength", "pattern", "example",
                             "anyOf", "propertyOrdering", "default", "items", "minimum",
                             "maximum"})  # fmt: skip
MAX_SCHEMA_DEPTH = 64  # levels of a tool's parameter schema converted; deeper ones are cut


class GeminiProvider:
    """One Gemini API endpoint. Safe to call concurrently (one pooled client)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        key = (api_key or "").strip()
        if any(ch.isspace() or not ch.isprintable() for ch in key):
            raise ValueError("api_key contains whitespace or control characters")
        self._base_url = check_url(base_url)
        self._headers = {"Accept": "application/json"}
        if key:
            self._headers["x-goog-api-key"] = key
        self._secrets = (key,) if key else ()
        self._endpoints: dict[str, Endpoint] = {}  # by model: one per model the config names
        # Invariant: `_owns_client` is True exactly when `aclose()` must close `_client`.
        self._owns_client = client is None
        self._client = client if client is not None else new_client()

    async def complete(self, request: Request) -> Response:
        endpoint = self._endpoints.get(request.model)
        if endpoint is None:
            model = quote(request.model.removeprefix("models/"), safe="")
            url = urls.endpoint(self._base_url, f"/v1beta/models/{model}:generateContent")
            endpoint = self._endpoints[request.model] = Endpoint(
                "gemini", url, _error_text, self._secrets, retry_delay
            )
        prompted = any(m.content or m.tool_calls for m in request.messages)
        return await call(
            self._client, endpoint, request, request_body(request), self._headers,
            lambda answer: parse_answer(answer, prompted=prompted),
        )  # fmt: skip

    async def list_models(self) -> list[str]:
        """The names of the models the key may use, without their `models/` prefix
        (`GET /v1beta/models`, every page up to `MAX_MODEL_PAGES`)."""
        url = urls.endpoint(self._base_url, "/v1beta/models")
        endpoint = Endpoint("gemini", url, _error_text, self._secrets, retry_delay)
        return await fetch_names(
            self._client, endpoint, self._headers, _model_page, {"pageSize": "1000"},
            lambda token: {"pageSize": "1000", "pageToken": token},
        )  # fmt: skip

    async def aclose(self) -> None:
        """Close the client this provider created; an injected client stays its owner's."""
        if self._owns_client:
            await self._client.aclose()


def request_body(request: Request) -> dict[str, object]:
    payload: dict[str, object] = {"contents": contents(request.messages)}
    system = [m.content for m in request.messages if m.role == "system" and m.content]
    if system:
        payload["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config: dict[str, object] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.response_format == "json":
        config["responseMimeType"] = "application/json"
    if config:
        payload["generationConfig"] = config
    if request.tools:
        payload["tools"] = [
            {
                "functionDeclarations": [
                    {
                        "name": t.name,
                        "description": t.description,
                        "parameters": gemini_schema(t.parameters),
                    }
                    for t in request.tools
                ]
            }
        ]
        if request.tool_choice == "none":  # the declarations are context: no new call
            payload["toolConfig"] = {"functionCallingConfig": {"mode": "NONE"}}
    return payload


def contents(transcript: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The transcript as `user`/`model` contents, consecutive ones of a role merged."""
    out: list[dict[str, Any]] = []
    for message in transcript:
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = _parts(message)
        if out and out[-1]["role"] == role:
            out[-1]["parts"] += parts
        else:
            out.append({"role": role, "parts": parts})
    return out


def _parts(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        response: dict[str, Any] = {"name": message.name or "", "response": _result(message)}
        if message.tool_call_id and not message.tool_call_id.startswith(MADE_UP_ID):
            response["id"] = message.tool_call_id
        return [{"functionResponse": response}]
    parts: list[dict[str, Any]] = []
    if message.content or not message.tool_calls:
        parts.append({"text": message.content})
    for tool_call in message.tool_calls:
        function: dict[str, Any] = {
            "name": tool_call.name,
            "args": arguments_object(tool_call.arguments),
        }
        if not tool_call.id.startswith(MADE_UP_ID):
            function["id"] = tool_call.id
        part: dict[str, Any] = {"functionCall": function}
        if tool_call.signature is not None:
            part["thoughtSignature"] = tool_call.signature
        parts.append(part)
    return parts


def _result(message: Message) -> dict[str, Any]:
    """A tool result as the JSON object `functionResponse.response` must be."""
    if message.is_error:
        return {"error": message.content}
    if message.content.startswith("{"):
        try:
            value = json.loads(message.content)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
    return {"result": message.content}


def gemini_schema(schema: object, depth: int = 0) -> dict[str, Any]:
    """`schema` (a JSON schema) within the OpenAPI 3.0 subset Gemini's `Schema` accepts."""
    if not isinstance(schema, dict) or depth > MAX_SCHEMA_DEPTH:
        return {}
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        if len(types) < len(kind):
            out["nullable"] = True
        kind = types[0] if types else None
    if isinstance(kind, str):
        out["type"] = kind
    for key, value in schema.items():
        if key == "type" or (key not in SCHEMA_KEYWORDS and key not in ("const", "oneOf")):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: gemini_schema(sub, depth + 1) for name, sub in value.items()}
        elif key == "items":
            out[key] = gemini_schema(value, depth + 1)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out["anyOf"] = [gemini_schema(sub, depth + 1) for sub in value]
        elif key == "const":
            if isinstance(value, str):
                out["enum"] = [value]
        elif key == "enum":
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[key] = value
        else:
            out[key] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def parse_answer(answer: Answer, *, prompted: bool) -> Response:
    if answer.get("candidates") is None and (error := _error_text(answer.payload)):
        raise answer.invalid(f"an error instead of candidates: {error}")
    blocked = answer.optional_text("promptFeedback.blockReason")
    if not answer.get("candidates"):
        if blocked:
            raise FatalProviderError(
                answer.endpoint.say(f"Gemini blocked the prompt ({blocked[:40]})"), status=200
            )
        raise answer.invalid("`candidates` is missing or empty")
    reason = answer.optional_text("candidates.0.finishReason")
    if reason in BLOCKED:
        raise FatalProviderError(
            answer.endpoint.say(f"Gemini stopped the answer (finishReason {reason})"),
            status=200,
        )
    if reason == "MALFORMED_FUNCTION_CALL":
        message = answer.optional_text("candidates.0.finishMessage") or ""
        raise InvalidResponse(
            answer.endpoint.say(f"the model wrote a malformed function call {message[:200]}"),
            status=200,
        )
    texts: list[str] = []
    calls: list[ToolCall] = []
    parts = [] if answer.get("candidates.0.content.parts") is None else (
        answer.items("candidates.0.content.parts")
    )  # fmt: skip
    for index, part in enumerate(parts):
        at = f"candidates.0.content.parts.{index}"
        if not isinstance(part, dict):
            raise answer.invalid(f"`{at}` is not an object")
        if "functionCall" in part:
            arguments = answer.get(f"{at}.functionCall.args")
            if arguments is None:
                arguments = {}
            if not isinstance(arguments, dict):
                raise answer.invalid(f"`{at}.functionCall.args` is not an object")
            calls.append(
                ToolCall(
                    id=answer.optional_text(f"{at}.functionCall.id") or made_up_id(len(calls)),
                    name=answer.text(f"{at}.functionCall.name"),
                    arguments=json.dumps(arguments, ensure_ascii=False),
                    signature=answer.optional_text(f"{at}.thoughtSignature"),
                )
            )
        elif "text" in part and part.get("thought") is not True:
            texts.append(answer.text(f"{at}.text"))
    if reason is None and not parts:
        raise answer.invalid("the candidate has neither content nor a finishReason")
    if answer.get("usageMetadata") is None:
        raise answer.invalid("`usageMetadata` is missing; token budgets need the counts")
    if prompted and answer.get("usageMetadata.promptTokenCount") is None:
        raise answer.invalid("`usageMetadata.promptTokenCount` is missing for a non-empty prompt")
    finish = {"STOP": "tool_calls" if calls else "stop", "MAX_TOKENS": "length"}.get(
        reason or "", (reason or "").lower() or None
    )
    return Response(
        text="".join(texts),
        usage=Usage(
            input_tokens=answer.optional_count("usageMetadata.promptTokenCount"),
            output_tokens=answer.optional_count("usageMetadata.candidatesTokenCount")
            + answer.optional_count("usageMetadata.thoughtsTokenCount"),
            cached_input_tokens=answer.optional_count("usageMetadata.cachedContentTokenCount"),
        ),
        model=answer.optional_text("modelVersion"),
        finish_reason=finish,
        tool_calls=tuple(calls),
    )


def _model_page(answer: Answer) -> tuple[list[str], str | None]:
    """The names of one page of `GET /v1beta/models` without `models/`, and the next page's
    token (None: the last)."""
    found = [] if answer.get("models") is None else answer.items("models")
    names = [answer.text(f"models.{i}.name").removeprefix("models/") for i in range(len(found))]
    return names, answer.optional_text("nextPageToken") or None


def retry_delay(payload: object) -> float | None:
    """The seconds a 429's `google.rpc.RetryInfo` detail asks to wait (`"retryDelay": "37s"`,
    a protobuf Duration), when the answer has no Retry-After header."""
    error = payload.get("error") if isinstance(payload, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details[:16] if isinstance(details, list) else ():
        if not isinstance(detail, dict):
            continue
        kind, delay = detail.get("@type"), detail.get("retryDelay")
        if not (isinstance(kind, str) and kind.endswith("google.rpc.RetryInfo")):
            continue
        if isinstance(delay, str) and delay.endswith("s") and len(delay) <= body.MAX_HEADER:
            try:
                seconds = float(delay[:-1])
            except ValueError:
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _error_text(payload: object) -> str | None:
    """`{"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}}`."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, list) and error:  # some proxies wrap it in a list
        error = error[0]
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        status = error.get("status")
        prefix = f"{status}: " if isinstance(status, str) and len(status) <= 40 else ""
        return prefix + str(error["message"])
    return None
