"""`axoc serve [FILE] [--state-dir DIR] [--host H] [--port N] [--max-runs N]`: wire the daemon.

In: the arguments; `AXOC_SERVE_TOKEN` from the environment. Out: the daemon serving its HTTP API
until SIGTERM or Ctrl-C (exit 0, the runs still going left resumable); SIGHUP reloads the
config (`Daemon.reload`). Exit 2, with a message on stderr saying why, when it cannot start:
the config compiles to nothing runnable, another daemon holds the state directory, the
address cannot be listened on, or the address is not a loopback one and no
`AXOC_SERVE_TOKEN` is set.

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
from axoc.serve import log
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


def serve_command(
    path: str, state: str | None, host: str, port: int, max_runs: int, dry_run: bool = False
) -> int:
    token = os.environ.get(TOKEN_VARIABLE) or None
    if token is None and not is_loopback(host):
        return _refuse(
            f"listening on {host}, which is not a loopback address, needs a bearer token: set "
            f"{TOKEN_VARIABLE} (clients send Authorization: Bearer <token>)"
        )
    from axoc.serve.daemon import Daemon, ServeRefused

    root = state_dir(state)
    try:
        daemon = Daemon(path, root, max_runs, dry_run=dry_run)
    except ServeRefused as refused:
        return _refuse(str(refused))
    try:
        config = daemon.compile()
        listening = _listen(host, port)
    except (ServeRefused, OSError) as exc:
        daemon.lock.release()
        if isinstance(exc, ServeRefused):
            return _refuse(str(exc))
        return _refuse(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    import uvicorn

    from axoc.serve.api import create_app

    bound = listening.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        resumed = await daemon.start(config)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(_reload(daemon)))
        note = f"; resumed {len(resumed)} interrupted run(s)" if resumed else ""
        print(f"axoc serve: listening on http://{shown}:{bound[1]} (config {daemon.config}, "
              f"state {root}){note}", file=sys.stderr, flush=True)  # fmt: skip
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            await daemon.stop()

    app = create_app(daemon, token, lifespan)
    settings = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False,
        timeout_graceful_shutdown=GRACE,
    )  # fmt: skip
    process.settle()  # a long-running process collects its garbage
    # uvicorn catches SIGTERM and SIGINT to shut down gracefully, then raises the signal again
    # for the handler it found: a quiet one, so a stopped daemon exits 0 instead of dying of it.
    for stopping in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stopping, _stopped)
    asyncio.run(uvicorn.Server(settings).serve(sockets=[listening]))
    log.say("stopped; runs still going were left to resume")
    return EXIT_OK


async def _reload(daemon: Any) -> None:
    refused = await daemon.reload()
    if refused is None:
        log.say(f"reloaded {daemon.config}")
    else:
        log.say(f"reload refused, the config in use goes on: {refused}")


def _stopped(signum: int, frame: Any) -> None:
    """The daemon stops on this signal; uvicorn has already shut it down."""


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
    log.say(message)
    return EXIT_USAGE
