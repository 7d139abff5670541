"""Whether the standard `OTEL_*` variables ask for traces (without importing OpenTelemetry)."""

from __future__ import annotations

from collections.abc import Mapping


def configured(env: Mapping[str, str]) -> bool:
    """Whether the `OTEL_*` variables ask for traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    return bool(exporter or endpoint)
