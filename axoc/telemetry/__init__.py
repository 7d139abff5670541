"""What axoc tells observability systems about runs, when asked to: `otel` (OpenTelemetry
traces, the `axoc[otel]` extra, off unless the `OTEL_*` variables configure it)."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

_warned = False


def tracing(table: Any, run_id: str, target: str) -> Any:
    """The run's `axoc.telemetry.otel.Tracing` when the `OTEL_*` variables ask for traces and
    the extra is installed; else None, and nothing of OpenTelemetry is imported. Configured
    without the extra: a warning, once per process, and no traces."""
    global _warned
    from axoc.telemetry.variables import configured

    if not configured(os.environ):
        return None
    if (
        importlib.util.find_spec("opentelemetry") is None
        or importlib.util.find_spec("opentelemetry.sdk") is None
    ):
        if not _warned:
            _warned = True
            print("axoc: warning: OTEL_* variables ask for traces, but OpenTelemetry is not "
                  "installed: pip install 'axoc[otel]'", file=sys.stderr)  # fmt: skip
        return None
    from axoc.telemetry.otel import Tracing

    return Tracing(table, run_id, target)
