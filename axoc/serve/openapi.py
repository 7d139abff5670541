"""The OpenAPI 3.1 document of the daemon's HTTP API (`GET /openapi.json`).

Written out rather than inferred, because it is the contract: tests/serve/test_api.py checks
that every route of the app is described here and nothing else, and docs/serve.md lists it.
"""

from __future__ import annotations

import json
from typing import Any

from axoc import __version__


def print_api(form: str) -> int:
    """`axoc serve --api text|openapi`: the API as a table (docs/serve.md shows it), or whole."""
    described = document()
    if form == "openapi":
        print(json.dumps(described, indent=2, ensure_ascii=False))
        return 0
    rows = []
    for path, methods in described["paths"].items():
        for method, operation in methods.items():
            statuses = ", ".join(operation["responses"])
            rows.append((method.upper(), path, operation["summary"], statuses))
    width = max(len(path) for _, path, _, _ in rows)
    for method, path, summary, statuses in rows:
        print(f"{method:<5} {path:<{width}}  {summary} [{statuses}]")
    return 0


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {"$ref": "#/components/schemas/Error"}
_RUN_ID = {
    "name": "run_id", "in": "path", "required": True,
    "schema": {"type": "string", "pattern": r"^[0-9]{8}T[0-9]{6}\.[0-9]{6}-[0-9a-f]{6}$"},
}  # fmt: skip


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json(_ERROR, "an error; `code` says which") for s in statuses}


# fmt: off
def document() -> dict[str, Any]:
    run = {"$ref": "#/components/schemas/Run"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "axoc serve", "version": __version__},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": {"error": {
                        "type": "object", "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                       "details": {"type": "array", "items": {"type": "string"}}},
                    }},
                },
                "Submission": {
                    "type": "object", "additionalProperties": False,
                    "description": "What to run: at most one of workflow, skill (fired) and agent "
                    "(alone); none runs the config's only workflow.",
                    "properties": {
                        "workflow": {"type": "string"}, "skill": {"type": "string"},
                        "agent": {"type": "string"}, "input": {"type": "string"},
                        "dry_run": {"type": "boolean", "default": False},
                    },
                },
                "Run": {
                    "type": "object",
                    "properties": {
                        "run_id": {"type": "string"}, "target": {"type": "string"},
                        "status": {"type": "string", "description": "queued, running, live, a "
                                   "stop reason, cancelled or interrupted"},
                        "exit_code": {"type": ["integer", "null"]},
                        "started": {"type": "string"}, "tokens": {"type": "integer"},
                        "dry_run": {"type": ["boolean", "null"]},
                        "outputs": {"type": "object", "additionalProperties": {"type": "string"}},
                        "usage": {"type": "object"},
                    },
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/health": {"get": {
                "summary": "the daemon is up",
                "responses": {"200": _json({"type": "object"}, "its config and live runs"),
                              **_errors(401)},
            }},
            "/runs": {
                "post": {
                    "summary": "start a run",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Submission"}}}},
                    "responses": {"201": _json(run, "the run, queued or running"),
                                  **_errors(400, 401, 413, 422)},
                },
                "get": {
                    "summary": "every run of the state directory, newest first",
                    "responses": {"200": _json({"type": "object", "properties": {
                        "runs": {"type": "array", "items": run}}}, "the runs"),
                        **_errors(401)},
                },
            },
            "/runs/{run_id}": {"get": {
                "summary": "one run", "parameters": [_RUN_ID],
                "responses": {"200": _json(run, "the run"), **_errors(400, 401, 404)},
            }},
            "/runs/{run_id}/events": {"get": {
                "summary": "the run's records as Server-Sent Events (`axoc run --json`'s)",
                "parameters": [_RUN_ID, {"name": "Last-Event-ID", "in": "header",
                                         "schema": {"type": "string"}}],
                "responses": {"200": {"description": "text/event-stream, one record per event",
                                      "content": {"text/event-stream": {}}},
                              **_errors(400, 401, 404)},
            }},
            "/runs/{run_id}/cancel": {"post": {
                "summary": "stop a run of this daemon; it is recorded as cancelled",
                "parameters": [_RUN_ID],
                "responses": {"202": _json({"type": "object"}, "cancelling"),
                              **_errors(400, 401, 404, 409)},
            }},
            "/tokens/report": {"get": {
                "summary": "tokens per agent of one run (the latest without ?run=)",
                "parameters": [{"name": "run", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "object"}, "input, output, total per agent"),
                              **_errors(400, 401, 404)},
            }},
            "/schedules": {"get": {
                "summary": "each schedule: target, interval, last and next fire (epoch s)",
                "responses": {"200": _json({"type": "object"}, "now and the schedules"),
                              **_errors(401)},
            }},
            "/reload": {"post": {
                "summary": "read and compile the config again (as SIGHUP); runs going on keep "
                           "their plan",
                "responses": {"200": _json({"type": "object"}, "reloaded"),
                              **_errors(401, 422)},
            }},
            "/runs/{run_id}/lattice": {"get": {
                "summary": "the run's lattice drawn from its plan (nodes placed in columns, "
                           "edges, units with θ) and its board now",
                "parameters": [_RUN_ID],
                "responses": {"200": _json({"type": "object"}, "drawing, board, status"),
                              **_errors(400, 401, 404)},
            }},
            "/runs/{run_id}/board": {"get": {
                "summary": "the run's board as Server-Sent Events: agents' statuses, units' "
                           "signals, tokens per agent; at most ten a second, until it ends",
                "parameters": [_RUN_ID],
                "responses": {"200": {"description": "text/event-stream",
                                      "content": {"text/event-stream": {}}},
                              **_errors(400, 401, 404)},
            }},
            "/": {"get": {
                "summary": "the dashboard (its files under /static/ need no token)",
                "security": [],
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
            }},
            "/openapi.json": {"get": {
                "summary": "this document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }},
        },
    }
# fmt: on
