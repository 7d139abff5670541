"""What `axoc run` is made of; `axoc.running` wires it into the command.

- `axoc.runtime.providers`: the run's providers, built from the registry with their limits.
- `axoc.runtime.startup`: a new run's record, or an interrupted one reopened; the input.
- `axoc.runtime.execution`: the kernel's driver, made in one place, and run on an event loop.
- `axoc.runtime.terminal`: what the user sees while it runs (live status, JSON lines).
- `axoc.runtime.outcome`: what the user sees when it ends or is refused.
"""
