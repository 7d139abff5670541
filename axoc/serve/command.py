"""`axoc serve [FILE] [--state-dir DIR] [--host H] [--port N] [--max-runs N]`: wire the daemon.

In: the arguments; `AXOC_SERVE_TOKEN` from the environment. Out: the daemon serving its HTTP API
until SIGTERM or Ctrl-C (exit 0, the runs still going left resumable); exit 2, with one line on
stderr saying why, when it cannot start: the config compiles to nothing runnable, another daemon
holds the state directory, the address cannot be listened on, or the address is not a loopback
one and no `AXOC_SERVE_TOKEN` is set.

Started, it prints one line on stderr: `axoc serve: listening on http://HOST:PORT ...` (with
`--port 0`, the port the system chose).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

from axoc import process
from axoc.statedir import state_dir

EXIT_OK, EXIT_USAGE = 0, 2
TOKEN_VARIABLE = "AXOC_SERVE_TOKEN"
GRACE = 2  # seconds open connections (event streams) get to end when the daemon stops


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_command(path: str, state: str | None, host: str, port: int, max_runs: int) -> int:
    token = os.environ.get(TOKEN_VARIABLE) or None
    if token is None and not is_loopback(host):
        return _refuse(
            f"listening on {host}, which is not a loopback address, needs a bearer token: set "
            f"{TOKEN_VARIABLE} (clients send Authorization: Bearer <token>)"
        )
    problem = _config_problem(path)
    if problem is not None:
        return _refuse(problem)
    from axoc.serve.daemon import Daemon, ServeRefused

    root = state_dir(state)
    try:
        daemon = Daemon(path, root, max_runs)
    except ServeRefused as refused:
        return _refuse(str(refused))
    try:
        listening = _listen(host, port)
    except OSError as exc:
        daemon.lock.release()
        return _refuse(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    import uvicorn

    from axoc.serve.api import create_app

    bound = listening.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        resumed = await daemon.start()
        note = f"; resumed {len(resumed)} interrupted run(s)" if resumed else ""
        print(f"axoc serve: listening on http://{shown}:{bound[1]} (config {daemon.config}, "
              f"state {root}){note}", file=sys.stderr, flush=True)  # fmt: skip
        try:
            yield
        finally:
            await daemon.stop()

    app = create_app(daemon, token, lifespan)
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False,
        timeout_graceful_shutdown=GRACE,
    )  # fmt: skip
    process.settle()  # a long-running process collects its garbage
    # uvicorn catches SIGTERM and SIGINT to shut down gracefully, then raises the signal again
    # for the handler it found: a quiet one, so a stopped daemon exits 0 instead of dying of it.
    for stopping in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stopping, _stopped)
    asyncio.run(uvicorn.Server(config).serve(sockets=[listening]))
    print("axoc serve: stopped; runs still going were left to resume", file=sys.stderr)
    return EXIT_OK


def _stopped(signum: int, frame: Any) -> None:
    """The daemon stops on this signal; uvicorn has already shut it down."""


def _config_problem(path: str) -> str | None:
    """Why the config cannot serve anything, or None (errors that concern some targets only are
    reported here once and refused per run)."""
    from axoc.pipeline import compile_file
    from axoc.report import render_text

    unit = compile_file(path, os.environ)
    errors = unit.errors()
    if unit.lowered is None:
        sources = {path: unit.text} if unit.text is not None else {}
        return f"{path} cannot be served:\n{render_text(errors, 1, sources)}".rstrip()
    if errors:
        print(f"axoc serve: warning: {path} has {len(errors)} error(s); runs of the targets "
              "they concern are refused (axoc check shows them)", file=sys.stderr)  # fmt: skip
    return None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    listening.set_inheritable(True)
    return listening


def _refuse(message: str) -> int:
    print(f"axoc serve: {message}", file=sys.stderr)
    return EXIT_USAGE
