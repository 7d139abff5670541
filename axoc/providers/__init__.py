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

Adapters raise only the kernel's `ProviderError` tree. This package imports nothing heavy:
httpx is loaded when an adapter module is imported, never by `axoc check` or `axoc plan`.
"""
