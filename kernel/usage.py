"""What a provider may report a call used: the rule that tells a token count from an impossible one.

In: the `Request` that was sent and the `Usage` its answer reports. Out: None when the counts
are possible, else the reason they are not. The driver applies it to every answer of a provider
that does I/O (an impossible count fails the activation as an invalid response, and nothing is
charged); the HTTP adapters apply it too, so their error names the provider.

The rule (docs/kernel.md, "What a provider may report"):
- each count is an integer (not a boolean, not a float), 0 ≤ count ≤ `MAX_TOKEN_COUNT`;
- the cached-input and cache-write counts likewise, and together ≤ input (they are parts of
  it: `Usage`);
- output ≤ the `max_tokens` the request carried (when it carried one): the request said at
  most that many, and budgets rely on it;
- input ≤ the kernel's input estimate (an upper bound: one token per UTF-8 byte of every
  message, plus template overhead; when the request carries none, `estimate_input` of its
  messages plus the bytes of its tool calls and tool definitions) + `SERVER_PROMPT_ALLOWANCE`,
  for what a server may add on its side (a model's built-in system prompt, its chat template,
  its wording of the tools).
Standard library only.
"""

from __future__ import annotations

import json

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Request, Usage

MAX_TOKEN_COUNT = 1_000_000_000  # no model reads or writes a billion tokens in one call
SERVER_PROMPT_ALLOWANCE = 32_768  # tokens a server may add to a prompt on its side


def impossible(request: Request, usage: Usage) -> str | None:
    """Why `usage` cannot be what `request` used; None when it can be."""
    for name, value in zip(_NAMES, usage, strict=True):
        if type(value) is not int:  # bool is an int subclass, and no count
            return f"the {name} token count is {_shown(value)}, not an integer"
        if not 0 <= value <= MAX_TOKEN_COUNT:
            return f"the {name} token count {_shown(value)} is outside 0..{MAX_TOKEN_COUNT:,}"
    if usage[2] + usage[3] > usage[0]:
        return (
            f"{usage[2]:,} cached and {usage[3]:,} cache-write input tokens reported, more than "
            f"the {usage[0]:,} input tokens they are part of"
        )
    if request.max_tokens is not None and usage[1] > request.max_tokens:
        return (
            f"{usage[1]:,} output tokens reported for a request of at most "
            f"{request.max_tokens:,} (max_tokens)"
        )
    ceiling = (request.input_estimate or _estimate(request)) + SERVER_PROMPT_ALLOWANCE
    if usage[0] > ceiling:
        return (
            f"{usage[0]:,} input tokens reported for a prompt of at most {ceiling:,} "
            f"(one per byte sent, plus {SERVER_PROMPT_ALLOWANCE:,} the server may add)"
        )
    return None


_NAMES = ("input", "output", "cached input", "cache-write")


def _estimate(request: Request) -> int:
    """An upper bound on the request's input tokens when the kernel computed none: its
    messages (`estimate_input`), plus one token per UTF-8 byte of each tool call's name and
    arguments and of each tool definition."""
    size = estimate_input(request.messages)
    for message in request.messages:
        for call in message.tool_calls:
            size += len(call.name.encode()) + len(call.arguments.encode())
    for tool in request.tools:
        size += len(tool.name.encode()) + len(tool.description.encode())
        size += len(json.dumps(tool.parameters).encode())
    return size


def _shown(value: object) -> str:
    """A value for a message, in a few characters: a 4,300-digit count is not printed, nor is
    a string's content."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"{'-' if value < 0 else ''}(a number of more than 40 digits)"
    if isinstance(value, (int, float)) or value is None:
        return repr(value)
    return f"a {type(value).__name__}"


def recorded(value: object) -> tuple[int, ...] | None:
    """A usage as records on disk hold it (`[input, output]`, or `[input, output, cached,
    cache_write]` when a provider reported cache counts), when every count is possible (an
    integer in 0..MAX_TOKEN_COUNT, the cache counts at most the input); None otherwise: a record
    written before the rule, or tampered with, is reported by its reader rather than summed
    into a 4,300-digit total."""
    if not isinstance(value, (list, tuple)) or len(value) not in (2, 4):
        return None
    for count in value:
        if type(count) is not int or not 0 <= count <= MAX_TOKEN_COUNT:
            return None
    if len(value) == 4 and (value[2] > value[0] or value[3] > value[0]):
        return None
    return tuple(value)


def written(usage: Usage) -> list[int]:
    """A usage as records on disk hold it: `[input, output]`, as records have always held it,
    unless the provider reported cache counts."""
    if usage[2] or usage[3]:
        return list(usage)
    return [usage[0], usage[1]]
