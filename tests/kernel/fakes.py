"""Test doubles for the kernel: a provider scripted per agent, and tables compiled from YAML."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import FatalProviderError, Request, Response, Usage
from axoc.kernel.table import SignalTable
from axoc.pipeline import STAGES, compile_file


@dataclass
class Scripted:
    """Answers `<agent>: <n>` (n counts the agent's calls); fails or sleeps where told."""

    fail: set[str] = field(default_factory=set)
    sleep: dict[str, float] = field(default_factory=dict)
    output_tokens: int = 5
    requests: list[Request] = field(default_factory=list)

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        if request.agent in self.sleep:
            await asyncio.sleep(self.sleep[request.agent])
        if request.agent in self.fail:
            raise FatalProviderError(f"{request.agent} refused by the script", status=400)
        calls = sum(r.agent == request.agent for r in self.requests)
        tokens = min(self.output_tokens, request.max_tokens or self.output_tokens)
        return Response(f"{request.agent}:{calls}", Usage(estimate_input(request.messages), tokens))

    async def aclose(self) -> None:
        return None


def table(tmp_path: Path, text: str, *, analysed: bool = True) -> SignalTable:
    """Compile YAML text; `analysed=False` stops before the lattice analysis, to run configs
    that `check` rejects (an unbounded loop, say) and watch the kernel's own guards."""
    path = tmp_path / "t.axoc.yaml"
    path.write_text(text, encoding="utf-8")
    unit = compile_file(str(path), os.environ, STAGES if analysed else STAGES[:-1])
    errors = [d for d in unit.diagnostics if d.severity == "error"]
    assert unit.lowered is not None and (not errors or not analysed), errors
    return unit.lowered.table
