"""The daemon's HTTP API: an ASGI app (Starlette) over a `Daemon`.

In: the daemon, and the bearer token requests must carry (None: none needed — only allowed on
a loopback address, `axoc.serve.command` enforces it). Out: the app. Routes (the OpenAPI
document at `/openapi.json` is the reference, and docs/serve.md renders it):

    GET  /health                 the daemon is up: its config, its live runs
    POST /runs                   {workflow | skill | agent, input, dry_run} → 201 {run_id, ...}
    GET  /runs                   every run of the state directory, newest first
    GET  /runs/{id}              one run: status, exit code, tokens per agent, outputs
    GET  /runs/{id}/events       its records as Server-Sent Events (those of `axoc run --json`)
    POST /runs/{id}/cancel       stop it; recorded as `cancelled`, never resumed
    GET  /tokens/report          tokens per agent of one run (`?run=ID`, else the latest)
    GET  /schedules              each schedule with its interval, last and next fire
    POST /reload                 read and compile the config again (as SIGHUP does)
    GET  /openapi.json           this API, described
    GET  /runs/{id}/lattice      the run's lattice drawn from its plan, and its board now
    GET  /runs/{id}/board        its board as Server-Sent Events: agents' statuses, units'
                                 signals, tokens per agent (at most ten a second)
    GET  /                       the dashboard (static files under /static/)

Guarantees: every error is a JSON object `{"error": {"code", "message"}}` with a 4xx status and
a stable `code` (listed in `ERRORS` and docs/serve.md); no input makes a handler raise. Request
bodies are read up to `MAX_BODY` bytes (more: 413 before the rest is read). With a token, every
route but the dashboard's files (`/`, `/static/`: they hold no data) needs `Authorization:
Bearer <token>`, compared in constant time (`hmac.compare_digest`). No CORS headers are sent,
so pages of other origins cannot read answers; the dashboard's page allows only its own origin
(Content-Security-Policy). The event stream sends each record as `id: <number>` /
`data: <json>`, and honours `Last-Event-ID` to go on where a reader left off.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from axoc import runs
from axoc.kernel.driver import EXIT_CODES
from axoc.kernel.journal import JournalError
from axoc.records import usage_document
from axoc.runnable import RunRefused, Target
from axoc.runtime.outcome import refusal
from axoc.serve.daemon import Daemon
from axoc.serve.lattice import drawing
from axoc.serve.manager import CANCELLED, EXIT_CANCELLED, LiveRun, RunManager

STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = ("/", "/static/")  # the dashboard's files hold no data: a browser loads them untokened
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
BOARD_EVERY = 0.1  # seconds between two board updates of one stream, at most ten a second
MAX_BODY = 1024 * 1024
MAX_INPUT_CHARS = 256 * 1024
HEARTBEAT = 15.0  # seconds between comment lines on an idle event stream

ERRORS = {
    "unauthorized": "the Authorization header is missing or its bearer token is wrong (401)",
    "bad_json": "the body is not a JSON object (400)",
    "bad_request": "a field is missing, unknown or of the wrong type (422)",
    "too_large": f"the body is over {MAX_BODY} bytes (413)",
    "bad_run_id": "the path does not hold a run id (400)",
    "no_such_run": "the state directory has no such run (404)",
    "not_live": "the run is not running in this daemon, so it cannot be cancelled (409)",
    "not_found": "no such route (404)",
    "method_not_allowed": "the route does not take that method (405)",
    "reload_refused": "the config on disk does not compile to anything runnable; the one in "
    "use goes on (422)",
    "refused": "the run cannot start: `code` is the refusal's, as `axoc run --json` gives it (422)",
}

Handler = Callable[[Request], Awaitable[Response]]


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(daemon: Daemon, token: str | None, lifespan: Any = None) -> Starlette:
    """The app; `lifespan` (Starlette's) starts and stops the daemon around serving."""
    api = _Api(daemon)
    routes = [
        Route("/health", api.health, methods=["GET"]),
        Route("/runs", api.submit, methods=["POST"]),
        Route("/runs", api.listing, methods=["GET"]),
        Route("/runs/{run_id}", api.show, methods=["GET"]),
        Route("/runs/{run_id}/events", api.events, methods=["GET"]),
        Route("/runs/{run_id}/cancel", api.cancel, methods=["POST"]),
        Route("/tokens/report", api.tokens, methods=["GET"]),
        Route("/schedules", api.schedules, methods=["GET"]),
        Route("/reload", api.reload, methods=["POST"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
        Route("/runs/{run_id}/lattice", api.lattice, methods=["GET"]),
        Route("/runs/{run_id}/board", api.board, methods=["GET"]),
        Route("/", api.dashboard, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {404: _not_found, 405: _not_allowed}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    if token is not None:
        app.add_middleware(BearerToken, token=token)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    return error(404, "not_found", f"no route {request.method} {request.url.path}")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error(405, "method_not_allowed", f"{request.url.path} does not take {request.method}")


class BearerToken:
    """Refuses (401) every HTTP request without `Authorization: Bearer <token>`."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: Any, send: Any
    ) -> None:  # fmt: skip
        path = scope.get("path", "")
        if scope["type"] == "http" and not (path == "/" or path.startswith(PUBLIC[1])):
            given = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    given = value
            scheme, _, presented = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(presented, self.token):
                answer = error(401, "unauthorized", "send Authorization: Bearer <AXOC_SERVE_TOKEN>")
                answer.headers["WWW-Authenticate"] = "Bearer"
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Api:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.manager = daemon.manager
        self.summaries = runs.Summaries()  # ended runs are read once

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "config": self.daemon.config,
                "live_runs": self.manager.live_count(),
                "workflows": self.daemon.workflows,
            }
        )

    async def dashboard(self, request: Request) -> Response:
        page = (STATIC / "index.html").read_bytes()
        headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                   "Cache-Control": "no-cache"}  # fmt: skip
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    async def lattice(self, request: Request) -> Response:
        """The run's lattice as drawn from the plan it started with, and its board now."""
        run_id = request.path_params["run_id"]
        known = self._known().get(run_id)
        summary = await self._summary(run_id)
        if isinstance(summary, Response):
            return summary
        folder = runs.run_folder(self.daemon.root, run_id)
        table = await asyncio.to_thread(runs.old_plan, folder)
        if table is None:
            return error(404, "no_such_run", f"the plan of run {run_id} cannot be read")
        names = {w.id for w in table.workflows}
        drawn = drawing(table, summary.target if summary.target in names else None)
        live = self.manager.runs.get(run_id)
        board = self.manager.board(live) if live is not None else None
        status = _described(summary, known)["status"]
        return JSONResponse(
            {"drawing": drawn, "board": board or _board_of(summary), "status": status}
        )

    async def board(self, request: Request) -> Response:
        """The run's board as Server-Sent Events, at most ten a second, until it ends."""
        run_id = request.path_params["run_id"]
        live = self.manager.runs.get(run_id)
        if live is None:
            summary = await self._summary(run_id)
            if isinstance(summary, Response):
                return summary
            record = {"board": _board_of(summary), "status": summary.status}
            return StreamingResponse(_once(record), media_type="text/event-stream")
        return StreamingResponse(
            _boards(self.manager, live), media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )  # fmt: skip

    async def submit(self, request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        problem = _submission_problem(body)
        if problem is not None:
            return error(422, "bad_request", problem)
        wanted = Target(body.get("workflow"), body.get("skill"), body.get("agent"))
        try:
            dry_run = self.daemon.dry_run or body.get("dry_run", False)
            live = await self.manager.submit(wanted, body.get("input", ""), dry_run)
        except RunRefused as refused:
            if refused.code == "no_target":  # worded for the API, not the command line
                flows = ", ".join(self.daemon.workflows) or "none"
                return _refused("no_target", "name what to run: 'workflow' (workflows: "
                                f"{flows}), 'skill' or 'agent'")  # fmt: skip
            return _refused(refused.code, str(refused))
        except runs.RunsError as refused:
            return _refused(refused.code, str(refused))
        except ValueError as invalid:  # an adapter refusing its settings (a malformed base_url)
            return _refused("provider", str(invalid))
        return JSONResponse(
            {"run_id": live.run_id, "target": live.target, "status": live.status},
            status_code=201,
            headers={"Location": f"/runs/{live.run_id}"},
        )

    async def listing(self, request: Request) -> Response:
        known = self._known()
        found = await asyncio.to_thread(self.summaries.all, self.daemon.root)
        listed = [_described(s, known.get(s.run_id)) for s in reversed(found)]
        return JSONResponse({"runs": listed})

    async def show(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        known = self._known().get(run_id)
        summary = await self._summary(run_id)
        if isinstance(summary, Response):
            return summary
        described = _described(summary, known)
        described["outputs"] = dict(summary.outputs)
        described["usage"] = usage_document(summary)["usage"]
        return JSONResponse(described)

    async def events(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        live = self.manager.runs.get(run_id)
        if live is None:  # a run of another process, or an old one: its outcome, from its journal
            summary = await self._summary(run_id)
            if isinstance(summary, Response):
                return summary
            record = {"event": "output", "run_id": run_id, "stop_reason": summary.status,
                      "outputs": dict(summary.outputs)}  # fmt: skip
            return StreamingResponse(_once(record), media_type="text/event-stream")
        start = _last_event_id(request.headers.get("last-event-id"))
        return StreamingResponse(
            _stream(live, start), media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )  # fmt: skip

    async def cancel(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        live = self.manager.runs.get(run_id)
        if live is None or live.done:
            summary = await self._summary(run_id)
            if isinstance(summary, Response):
                return summary
            why = f"run {run_id} is {summary.status}"
            return error(409, "not_live", f"{why}; only a run of this daemon that has not ended "
                         "can be cancelled")  # fmt: skip
        self.manager.cancel(live)
        return JSONResponse({"run_id": run_id, "status": "cancelling"}, status_code=202)

    async def tokens(self, request: Request) -> Response:
        run_id = request.query_params.get("run")
        if run_id is None:
            found = await asyncio.to_thread(self.summaries.all, self.daemon.root)
            if not found:
                return error(404, "no_such_run", "the state directory has no runs yet")
            run_id = found[-1].run_id
        summary = await self._summary(run_id)
        if isinstance(summary, Response):
            return summary
        return JSONResponse(usage_document(summary))

    async def schedules(self, request: Request) -> Response:
        timetable = self.daemon.timetable
        listed = timetable.listing() if timetable is not None else []
        return JSONResponse({"now": self.daemon.clock.time(), "schedules": listed})

    async def reload(self, request: Request) -> Response:
        refused = await self.daemon.reload()
        if refused is not None:
            return _refused("reload_refused", refused)
        return JSONResponse({"reloaded": self.daemon.config})

    async def openapi(self, request: Request) -> Response:
        from axoc.serve.openapi import document

        return JSONResponse(document())

    async def _summary(self, run_id: str) -> runs.Summary | Response:
        try:
            folder = runs.run_folder(self.daemon.root, run_id)
        except runs.RunsError as bad:
            return error(400, "bad_run_id", str(bad))
        if not (folder / "journal.jsonl").is_file():
            return error(404, "no_such_run", f"no run {run_id} in {self.daemon.root}")
        try:
            return await asyncio.to_thread(runs.summarize, folder, outputs=True)
        except (JournalError, OSError) as exc:
            return error(404, "no_such_run", f"run {run_id} cannot be read: {exc}")

    def _known(self) -> dict[str, tuple[str, int | None]]:
        """(status, exit code) of this daemon's runs, taken before their journals are read:
        a run that has ended by then has all of its records in its journal."""
        return {run_id: (r.status, r.exit_code) for run_id, r in self.manager.runs.items()}


def _described(summary: runs.Summary, known: tuple[str, int | None] | None) -> dict[str, Any]:
    status, exit_code = known if known is not None else (summary.status, None)
    if known is None:  # ended before this daemon, or in another process
        exit_code = EXIT_CODES.get(summary.status, EXIT_CANCELLED if status == CANCELLED else None)
    return {
        "run_id": summary.run_id, "target": summary.target, "status": status,
        "exit_code": exit_code, "started": summary.started, "tokens": summary.tokens,
        "dry_run": summary.dry_run,
    }  # fmt: skip


async def _body(request: Request) -> dict[str, Any] | Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return error(400, "bad_json", f"the body is not JSON: {exc}")
    if not isinstance(body, dict):
        return error(400, "bad_json", "the body must be a JSON object")
    return body


_FIELDS = {"workflow": str, "skill": str, "agent": str, "input": str, "dry_run": bool}


def _submission_problem(body: dict[str, Any]) -> str | None:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        return f"unknown field '{unknown[0]}': a run takes {', '.join(_FIELDS)}"
    for name, kind in _FIELDS.items():
        if name in body and not isinstance(body[name], kind):
            return f"'{name}' must be a {'boolean' if kind is bool else 'string'}"
    chosen = [name for name in ("workflow", "skill", "agent") if name in body]
    if len(chosen) > 1:
        return f"give one of workflow, skill and agent, not {' and '.join(chosen)}"
    if len(body.get("input", "")) > MAX_INPUT_CHARS:
        return f"'input' is over {MAX_INPUT_CHARS} characters"
    return None


def _refused(code: str, message: str) -> JSONResponse:
    """A refusal as `axoc run --json` words it (`outcome.refusal`: its first line the message,
    the others its details), as an API error."""
    record = refusal(code, message)
    detail = {key: record[key] for key in ("code", "message", "details") if key in record}
    return JSONResponse({"error": detail}, status_code=422)


def _last_event_id(header: str | None) -> int:
    return int(header) + 1 if header is not None and header.isdigit() else 0


def _sse(number: int | None, record: dict[str, Any]) -> bytes:
    data = json.dumps(record, ensure_ascii=False)
    head = f"id: {number}\n" if number is not None else ""
    return f"{head}data: {data}\n\n".encode()


async def _once(record: dict[str, Any]) -> AsyncIterator[bytes]:
    yield _sse(None, record)


def _board_of(summary: runs.Summary) -> dict[str, Any]:
    """The board of a run this daemon does not hold, from its journal: each agent's last
    status, its tokens; no levels (they are not journaled as they change)."""
    status: dict[str, str] = {}
    for _, agent, what in summary.timeline:
        status[agent] = "running" if what == "started" else what.split(":")[0]
    status = {a: "done" if s == "completed" else s for a, s in status.items()}
    if summary.status not in ("live", "running", "queued"):
        status = {a: "waiting" if s == "running" else s for a, s in status.items()}
    tokens = {agent: i + o for agent, (i, o) in summary.usage.items()}
    return {"status": status, "level": {}, "activations": len(summary.timeline), "tokens": tokens}


async def _boards(manager: RunManager, live: LiveRun) -> AsyncIterator[bytes]:
    while True:
        ended = live.done
        yield _sse(None, {"board": manager.board(live), "status": live.status})
        if ended:
            return
        try:
            await asyncio.wait_for(live.changed(), HEARTBEAT)
        except TimeoutError:
            continue
        await asyncio.sleep(BOARD_EVERY)


async def _stream(live: LiveRun, start: int) -> AsyncIterator[bytes]:
    records = live.follow(start).__aiter__()
    pending: asyncio.Task[tuple[int, dict[str, Any]]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(records.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT)
            if not done:
                yield b": still running\n\n"
                continue
            try:
                number, record = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield _sse(number, record)
    finally:
        if pending is not None:
            pending.cancel()
