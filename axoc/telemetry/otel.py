"""OpenTelemetry traces of runs: a span per run, activation, LLM call and tool call.

In: the standard `OTEL_*` variables — traces are on only when `OTEL_TRACES_EXPORTER` names an
exporter (`otlp` or `console`) or an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and `OTEL_SDK_DISABLED` is not `true` — and the
`axoc[otel]` extra (opentelemetry-api, -sdk, -exporter-otlp-proto-http). Out: `Tracing`, which
wraps a run's listener, providers and toolbox so that:

- the run is a span `axoc run <target>` (`axoc.run_id`, `axoc.stop_reason`), from its `run` to
  its `stopped` record;
- each activation is a child span `invoke_agent <agent>` (`gen_ai.operation.name`
  `invoke_agent`, `gen_ai.agent.name`, `axoc.unit`, `axoc.seq`), from `activated` to
  `completed` or `failed` (an error status then);
- each LLM call is a child of its activation, `chat <model>` (kind CLIENT: `gen_ai.system`,
  `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.request.max_tokens`,
  `gen_ai.request.temperature`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
  `gen_ai.response.model`, `gen_ai.response.finish_reasons`; `error.type` when it fails);
- each tool call is a child of its activation, `execute_tool <tool>` (`gen_ai.tool.name`,
  `gen_ai.tool.call.id`; an error status when the result is an error).

Guarantees: nothing is imported, and nothing sent, unless configured. A tracer provider the
process already has (the user's, set before axoc runs) is used as it is, never replaced; only
when there is none does axoc install the SDK's, with the exporter the variables name (OTLP over
HTTP, or the console — on stderr, so `axoc run`'s output stays clean). Prompts, answers, tool
arguments and results are never put in spans: they may hold secrets; counts and names only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from axoc.kernel.ports import Provider, Request, Response, ToolCall, ToolResult
from axoc.kernel.table import AgentSpec, SignalTable
from axoc.providers.echo import EchoProvider

# gen_ai.system / gen_ai.provider.name, by provider kind (OpenTelemetry's well-known values)
SYSTEMS = {
    "openai": "openai", "openai_compatible": "openai", "anthropic": "anthropic",
    "gemini": "gcp.gemini", "mistral": "mistral_ai", "ollama": "ollama",
    "openrouter": "openrouter", "echo": "axoc.echo",
}  # fmt: skip
Listener = Callable[[dict[str, Any]], None]


def _tracer_provider() -> Any:
    """The process's tracer provider; the SDK's, installed now, when it has none."""
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current  # the user's: used as it is
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "axoc")})
    provider = TracerProvider(resource=resource)
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    for name in (n.strip() for n in names.split(",")):
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            print(f"axoc: warning: OTEL_TRACES_EXPORTER={name} is not one axoc knows (otlp, "
                  "console): no traces sent there", file=sys.stderr)  # fmt: skip
    trace.set_tracer_provider(provider)
    return provider


class Tracing:
    """The spans of one run."""

    def __init__(self, table: SignalTable, run_id: str, target: str) -> None:
        self.tracer = _tracer_provider().get_tracer("axoc")
        self.run_id, self.target = run_id, target
        self.kinds = {p.name: p.kind for p in table.providers}
        self.agents = {a.id: a for a in table.agents}
        self.run: Any = None
        self.open: dict[str, list[Any]] = {}  # agent → its activations' spans, oldest first

    # --- records: the run and its activations ---------------------------------------------

    def listener(self, inner: Listener) -> Listener:
        def heard(record: dict[str, Any]) -> None:
            self._record(record)
            inner(record)

        return heard

    def _record(self, record: dict[str, Any]) -> None:
        kind = record["event"]
        if self.run is None:
            self.run = self.tracer.start_span(
                f"axoc run {self.target}", kind=SpanKind.INTERNAL,
                attributes={"axoc.run_id": self.run_id, "axoc.target": self.target},
            )  # fmt: skip
        if kind == "activated":
            agent = record["agent"]
            span = self.tracer.start_span(
                f"invoke_agent {agent}", context=trace.set_span_in_context(self.run),
                kind=SpanKind.INTERNAL,
                attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                            "gen_ai.agent.id": agent, "axoc.unit": record["unit"],
                            "axoc.seq": record["seq"]},
            )  # fmt: skip
            self.open.setdefault(agent, []).append(span)
        elif kind in ("completed", "failed"):
            spans = self.open.get(record["agent"])
            if spans:
                span = spans.pop(0)
                if kind == "failed":
                    span.set_status(Status(StatusCode.ERROR, str(record.get("error", ""))[:200]))
                span.end()
        elif kind == "stopped":
            for spans in self.open.values():
                for span in spans:
                    span.end()
            self.open.clear()
            self.run.set_attribute("axoc.stop_reason", record["reason"])
            if record["reason"] == "failed":
                self.run.set_status(Status(StatusCode.ERROR, "failed"))
            self.run.end()

    def _parent(self, agent: str) -> context.Context:
        spans = self.open.get(agent)
        span = spans[-1] if spans else self.run
        return trace.set_span_in_context(span) if span is not None else context.get_current()

    # --- calls ----------------------------------------------------------------------------

    def provider(self, inner: Provider, name: str) -> Provider:
        """`inner` traced; a dry run's echo (standing in for every provider) is `axoc.echo`."""
        kind = "echo" if isinstance(inner, EchoProvider) else self.kinds.get(name, "")
        return _TracedProvider(self, inner, SYSTEMS.get(kind, name))

    def toolbox(self, inner: Any) -> Any:
        return _TracedToolbox(self, inner)


class _TracedProvider:
    """`inner`, each call a span. It offers no `complete_now`: an instant provider (echo) is
    called through `complete` too, so that its calls have spans."""

    def __init__(self, tracing: Tracing, inner: Provider, system: str) -> None:
        self.tracing, self.inner, self.system = tracing, inner, system

    async def complete(self, request: Request) -> Response:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat", "gen_ai.system": self.system,
            "gen_ai.provider.name": self.system, "gen_ai.request.model": request.model,
            "gen_ai.agent.name": request.agent,
        }  # fmt: skip
        if request.max_tokens is not None:
            attributes["gen_ai.request.max_tokens"] = request.max_tokens
        if request.temperature is not None:
            attributes["gen_ai.request.temperature"] = request.temperature
        span = self.tracing.tracer.start_span(
            f"chat {request.model}", context=self.tracing._parent(request.agent),
            kind=SpanKind.CLIENT, attributes=attributes,
        )  # fmt: skip
        try:
            response = await self.inner.complete(request)
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.end()
            raise
        span.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)
        if response.model:
            span.set_attribute("gen_ai.response.model", response.model)
        if response.finish_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason])
        span.end()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _TracedToolbox:
    def __init__(self, tracing: Tracing, inner: Any) -> None:
        self.tracing, self.inner = tracing, inner

    def definitions(self, agent: AgentSpec) -> Any:
        return self.inner.definitions(agent)

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult:
        span = self.tracing.tracer.start_span(
            f"execute_tool {call.name}", context=self.tracing._parent(agent.id),
            kind=SpanKind.INTERNAL,
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name,
                        "gen_ai.tool.call.id": call.id or "", "gen_ai.agent.name": agent.id},
        )  # fmt: skip
        try:
            result: ToolResult = await self.inner.call(agent, call)
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.end()
            raise
        if result.is_error:
            span.set_status(Status(StatusCode.ERROR, "the tool's result is an error"))
        span.end()
        return result

    def __getattr__(self, name: str) -> Any:  # start/close of toolboxes that have them
        return getattr(self.inner, name)
