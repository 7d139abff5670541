"""The built-in `echo` provider: deterministic, no network, for --dry-run, tests and benchmarks.

It answers `<agent> ← <the start of the last user message, on one line>`, cut to 160
characters and to the request's `max_tokens`, so a dry run shows the cascade and every
hand-off. Usage is computed the documented way (the kernel's input estimate, one token per
UTF-8 byte of the answer), so budgets behave in a dry run as they would against a model.
"""

from __future__ import annotations

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Request, Response, Usage

WIDTH = 160


class EchoProvider:
    async def complete(self, request: Request) -> Response:
        return self.complete_now(request)

    def complete_now(self, request: Request) -> Response:
        """Answer without I/O: the driver calls this directly, with no task or timer."""
        last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        text = f"{request.agent} ← {' '.join(last[: 2 * WIDTH].split())}"  # only what is shown
        if len(text) > WIDTH:
            text = text[: WIDTH - 1] + "…"
        finish = "stop"
        if request.max_tokens is not None and len(text.encode()) > request.max_tokens:
            text = text.encode()[: max(0, request.max_tokens)].decode(errors="ignore")
            finish = "length"
        estimate = request.input_estimate or estimate_input(request.messages)
        usage = Usage(estimate, len(text.encode()))
        return Response(text, usage, model="echo", finish_reason=finish)

    async def aclose(self) -> None:
        return None
