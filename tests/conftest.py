"""Shared test options: `--update-golden` rewrites golden expectations (review them as a diff).

Hypothesis runs derandomized (the profile `axoc`): every run tries the same examples, so a
failure in CI reproduces anywhere. `AXOC_HYPOTHESIS=explore` draws new examples each run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.providers.servers import FakeServer

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("axoc", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("AXOC_HYPOTHESIS", "axoc"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the expected output of golden files instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """A loopback HTTP server speaking the providers' protocols (tests/providers/servers.py);
    proxy variables are cleared so that nothing is routed away from loopback."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeServer() as fake:
        yield fake
