"""Answers and error bodies of the four wire formats, for the tool-calling and list_models tests:
each shaped like the provider's documented example it names (values the tests depend on, such as
a second parallel call, are marked where they differ), plus the tools and transcript the
two-round conversations share."""

from __future__ import annotations

import copy
from typing import Any

from axoc.kernel.ports import Message, ToolCall, ToolDefinition

# --- Tools and transcripts shared by the two-round tests -----------------------------------------

WEATHER = ToolDefinition(
    "get_weather",
    "Get the current weather in a given location",
    {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. Paris, FR"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
)
CLOCK = ToolDefinition(
    "get_time",
    "Get the current time in a given time zone",
    {
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "IANA time zone name"}},
        "required": ["timezone"],
    },
)
TOOLS = (WEATHER, CLOCK)
QUESTION = (
    Message("system", "You are a helpful assistant."),
    Message("user", "What's the weather like in Paris, and what time is it there?"),
)


def round_two(text: str, calls: tuple[ToolCall, ...]) -> tuple[Message, ...]:
    """The transcript after round one: its answer, then a result per call (the second an
    error), in the order of the calls."""
    first, second = calls
    return (
        *QUESTION,
        Message("assistant", text, calls),
        Message("tool", '{"temperature": 14, "unit": "celsius"}', tool_call_id=first.id,
                name=first.name),
        Message("tool", "unknown time zone: Europe/Pari", tool_call_id=second.id,
                name=second.name, is_error=True),
    )  # fmt: skip


def copied(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `body` with top-level `changes`."""
    return {**copy.deepcopy(body), **changes}


# --- Anthropic (https://docs.anthropic.com/en/api/messages, /en/api/errors) ----------------------

# "Create a Message", the reference's example response.
ANTHROPIC_CHAT = {
    "content": [{"text": "Hi! My name is Claude.", "type": "text"}],
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "model": "claude-3-7-sonnet-20250219",
    "role": "assistant",
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "type": "message",
    "usage": {"input_tokens": 2095, "output_tokens": 503},
}

# The tool use guide's "parallel tool use" answer: a text block, then two tool_use blocks.
ANTHROPIC_TOOL_USE = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-7-sonnet-20250219",
    "content": [
        {"type": "text", "text": "I'll check the weather and the time in Paris."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"location": "Paris, FR", "unit": "celsius"},
        },
        {
            "type": "tool_use",
            "id": "toolu_01B2c3D4e5F6g7H8i9J0kLmN",
            "name": "get_time",
            "input": {"timezone": "Europe/Pari"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 472, "output_tokens": 120},
}

# The prompt caching guide's first call: the prompt written to the cache.
ANTHROPIC_CACHE_WRITE = copied(
    ANTHROPIC_CHAT,
    usage={"input_tokens": 21, "cache_creation_input_tokens": 188086,
           "cache_read_input_tokens": 0, "output_tokens": 393},
)  # fmt: skip
# ... and a later call reading it.
ANTHROPIC_CACHE_READ = copied(
    ANTHROPIC_CHAT,
    usage={"input_tokens": 21, "cache_creation_input_tokens": 0,
           "cache_read_input_tokens": 188086, "output_tokens": 393},
)  # fmt: skip


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    """The errors page's shape: `{"type": "error", "error": {"type", "message"}}`."""
    return {"type": "error", "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}  # fmt: skip


ANTHROPIC_ERRORS = {
    400: anthropic_error("invalid_request_error", "max_tokens: Field required"),
    401: anthropic_error("authentication_error", "invalid x-api-key"),
    403: anthropic_error("permission_error", "Your API key does not have permission to use the "
                         "specified resource."),
    404: anthropic_error("not_found_error", "model: claude-nope"),
    429: anthropic_error("rate_limit_error", "Number of request tokens has exceeded your "
                         "per-minute rate limit"),
    500: anthropic_error("api_error", "Internal server error"),
    529: anthropic_error("overloaded_error", "Overloaded"),
}  # fmt: skip

# "List Models" (https://docs.anthropic.com/en/api/models-list), its example, paginated.
ANTHROPIC_MODELS_PAGE_1 = {
    "data": [{"created_at": "2025-02-19T00:00:00Z", "display_name": "Claude 3.7 Sonnet",
              "id": "claude-3-7-sonnet-20250219", "type": "model"}],
    "first_id": "claude-3-7-sonnet-20250219",
    "has_more": True,
    "last_id": "claude-3-7-sonnet-20250219",
}  # fmt: skip
ANTHROPIC_MODELS_PAGE_2 = {
    "data": [{"created_at": "2024-10-22T00:00:00Z", "display_name": "Claude 3.5 Haiku",
              "id": "claude-3-5-haiku-20241022", "type": "model"}],
    "first_id": "claude-3-5-haiku-20241022",
    "has_more": False,
    "last_id": "claude-3-5-haiku-20241022",
}  # fmt: skip

# --- Gemini (https://ai.google.dev/api/generate-content, /gemini-api/docs/function-calling) ------

# "Text generation", the reference's example response.
GEMINI_CHAT = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "A mind that learns, a circuit that thinks."}],
                "role": "model",
            },
            "finishReason": "STOP",
            "avgLogprobs": -0.2153,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 8,
        "candidatesTokenCount": 11,
        "totalTokenCount": 19,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 11}],
    },
    "modelVersion": "gemini-2.0-flash",
}

# The function-calling guide's parallel calls (no ids), each with the thought signature the
# thought-signatures guide shows on a thinking model's first call.
GEMINI_PARALLEL_CALLS = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {
                            "name": "get_weather",
                            "args": {"location": "Paris, FR", "unit": "celsius"},
                        },
                        "thoughtSignature": "CiwBVKhc7nQ0mR1kOgH5t1dHwDfh3G4qTZ+Sig_A==",
                    },
                    {"functionCall": {"name": "get_time", "args": {"timezone": "Europe/Pari"}}},
                ],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 120,
        "candidatesTokenCount": 30,
        "thoughtsTokenCount": 64,
        "totalTokenCount": 214,
    },
    "modelVersion": "gemini-2.5-flash",
}

# The context caching guide: `cachedContentTokenCount` is part of `promptTokenCount`.
GEMINI_CACHED = copied(
    GEMINI_CHAT,
    usageMetadata={"promptTokenCount": 3000, "cachedContentTokenCount": 2048,
                   "candidatesTokenCount": 11, "totalTokenCount": 3011},
)  # fmt: skip

# A prompt blocked before any candidate (GenerateContentResponse.promptFeedback).
GEMINI_BLOCKED_PROMPT = {
    "promptFeedback": {
        "blockReason": "SAFETY",
        "safetyRatings": [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"},
        ],
    },
    "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    "modelVersion": "gemini-2.0-flash",
}


def gemini_error(code: int, status: str, message: str) -> dict[str, Any]:
    """google.rpc.Status as JSON: `{"error": {"code", "message", "status"}}`."""
    return {"error": {"code": code, "message": message, "status": status}}


GEMINI_ERRORS = {
    400: gemini_error(400, "INVALID_ARGUMENT",
                      "API key not valid. Please pass a valid API key."),
    401: gemini_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: gemini_error(403, "PERMISSION_DENIED",
                      "Method doesn't allow unregistered callers (callers without established "
                      "identity). Please use API Key or other form of API consumer identity."),
    404: gemini_error(404, "NOT_FOUND", "models/gemini-nope is not found for API version "
                      "v1beta, or is not supported for generateContent."),
    429: gemini_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please "
                      "check your plan and billing details."),
    500: gemini_error(500, "INTERNAL", "An internal error has occurred. Please retry or report "
                      "in https://developers.generativeai.google/guide/troubleshooting"),
    503: gemini_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
}  # fmt: skip

# "models.list" (https://ai.google.dev/api/models), paginated.
GEMINI_MODELS_PAGE_1 = {
    "models": [{"name": "models/gemini-2.0-flash", "version": "2.0",
                "displayName": "Gemini 2.0 Flash",
                "supportedGenerationMethods": ["generateContent", "countTokens"]}],
    "nextPageToken": "Ch5tb2RlbHMvZ2VtaW5pLTIuMC1mbGFzaA==",
}  # fmt: skip
GEMINI_MODELS_PAGE_2 = {
    "models": [{"name": "models/gemini-2.5-pro", "version": "2.5",
                "displayName": "Gemini 2.5 Pro",
                "supportedGenerationMethods": ["generateContent", "countTokens"]}],
}  # fmt: skip

# --- OpenAI chat completions (API reference "Create chat completion", "Functions" example) -------

OPENAI_TOOL_CALLS = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{\n"location": "Paris, FR",\n"unit": "celsius"\n}',
                        },
                    },
                    {  # a second, parallel call (the example has one)
                        "id": "call_def456",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"timezone": "Europe/Pari"}'},
                    },
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 17,
        "total_tokens": 99,
        "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    },
}  # fmt: skip

# The prompt caching guide's usage: `cached_tokens` of `prompt_tokens`.
OPENAI_CACHED_USAGE = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920},
    "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0,
                                  "rejected_prediction_tokens": 0},
}  # fmt: skip

# "List models" (API reference), its example.
OPENAI_MODELS = {
    "object": "list",
    "data": [
        {"id": "model-id-0", "object": "model", "created": 1686935002,
         "owned_by": "organization-owner"},
        {"id": "model-id-1", "object": "model", "created": 1686935002,
         "owned_by": "organization-owner"},
        {"id": "model-id-2", "object": "model", "created": 1686935002, "owned_by": "openai"},
    ],
}  # fmt: skip

# --- Ollama (ollama/ollama docs/api.md, "Chat request (with tools)", "List Local Models") --------

OLLAMA_TOOL_CALLS = {
    "model": "llama3.2",
    "created_at": "2024-07-22T20:33:28.123648Z",
    "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"function": {"name": "get_weather",
                          "arguments": {"location": "Paris, FR", "unit": "celsius"}}},
            {"function": {"name": "get_time", "arguments": {"timezone": "Europe/Pari"}}},
        ],  # the example has the first call only
    },
    "done_reason": "stop",
    "done": True,
    "total_duration": 885095291,
    "load_duration": 3753500,
    "prompt_eval_count": 122,
    "prompt_eval_duration": 328493000,
    "eval_count": 33,
    "eval_duration": 552222000,
}  # fmt: skip

OLLAMA_TAGS = {
    "models": [
        {"name": "deepseek-r1:latest", "model": "deepseek-r1:latest",
         "modified_at": "2025-05-10T08:06:48.639712648-07:00", "size": 4683075271,
         "digest": "0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163",
         "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B",
                     "quantization_level": "Q4_K_M"}},
        {"name": "llama3.2:latest", "model": "llama3.2:latest",
         "modified_at": "2025-05-04T17:37:44.706015396-07:00", "size": 2019393189,
         "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
         "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B",
                     "quantization_level": "Q4_K_M"}},
    ]
}  # fmt: skip

# A 429 as the Gemini API sends it: the wait in a google.rpc.RetryInfo detail, no header.
GEMINI_QUOTA = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                             "generate_content_free_tier_requests",
                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
        ],
    }
}  # fmt: skip
