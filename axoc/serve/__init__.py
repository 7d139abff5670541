"""`axoc serve`: one long-running process that holds a compiled config and runs many runs.

`daemon` (the state directory's lock, the config, resuming what a previous process left in
flight), `manager` (the runs of this process: start, events, cancel, concurrency), `api` (the
HTTP API over them), `command` (the CLI's wiring). See docs/serve.md.
"""
