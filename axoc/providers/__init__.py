"""Providers: adapters from the kernel's `Provider` port to real LLM wire protocols.

Each adapter is one module exposing one class with `complete(request) -> Response` and
`aclose()` (see `axoc.kernel.ports`):

- `axoc.providers.ollama.OllamaProvider`: Ollama's native `POST /api/chat`.
- `axoc.providers.openai.OpenAIProvider`: OpenAI chat completions, which also serves Mistral,
  OpenRouter and any OpenAI-compatible server (LM Studio, vLLM, MLX) by `base_url`.
- `axoc.providers.http`: the httpx plumbing they share (timeouts, error translation, bounds);
  `axoc.providers.body` (what is read, within which sizes), `axoc.providers.redaction`
  (secrets out of what comes back, in linear time), `axoc.providers.urls` (base URLs, their
  credentials, what a plan keeps of them).
- `axoc.providers.echo.EchoProvider`: the built-in deterministic provider (no network).
- `axoc.providers.registry`: the provider kinds (one module each in `axoc.providers.kinds`):
  what every other part of axoc reads instead of naming providers; `axoc.providers.settings`,
  the models of their `providers:` entries; `axoc.providers.limits`, a provider behind its
  `max_concurrency` and `requests_per_minute`; `axoc.providers.probe`, listing a provider's
  models for `axoc doctor`.

Adapters raise only the kernel's `ProviderError` tree. This package imports nothing heavy:
httpx is loaded when an adapter module is imported, never by `axoc check` or `axoc plan`.
"""
