"""What a run executes: the signal table of its target, from a config or a saved plan.

In: a config (compiled here) or a saved plan, the target (`-w WORKFLOW`, `--fire SKILL` or
`--agent AGENT`), whether the run is dry, the environment. Out: a `Runnable` — the table to run,
the resolved target, the API keys written in the config, and the note naming what the config
declares and the run will not do — or `RunRefused` with every reason at once.

Guaranteed: nothing the run needs is broken. No error of the whole config stops it, and none
of its workflow; errors of other workflows leave those workflows out of its table (one
workflow's problem never stops another's run). Every `${VAR}` the run uses is set: under
`--dry-run`, variables that only feed providers (no request leaves the process) and sections no
run executes (schedules, tools, MCP servers, webhooks, ...) are not needed; a real run needs
those of its agents, the providers they use, its workflow, every skill and trigger (they
are live in every run), and the `web_search` / `fetch_url` blocks of the tools its agents list.
run executes (schedules, webhooks, ...) are not needed (an MCP server's are resolved when it
starts: `axoc.tools.mcp`); a real run needs
those of its agents, the providers they use, its workflow, and every skill and trigger (they
are live in every run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from axoc import filekind
from axoc.diagnostics import Diagnostic, Severity
from axoc.kernel.table import SignalTable
from axoc.providers import registry
from axoc.readfile import PlanError, read_plan
from axoc.wording import unknown

if TYPE_CHECKING:
    from axoc.config import Consolidation, FetchUrl, SemanticMemory, WebSearch


class RunRefused(Exception):
    """The run cannot start; the message says why. Nothing was sent anywhere.

    `code` names the kind of refusal for machines (`axoc run --json`; the codes are listed in
    docs/cli.md and stable); `diagnostics`, the config's problems when they are the reason."""

    def __init__(
        self, message: str, code: str = "refused", diagnostics: Sequence[Diagnostic] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.diagnostics = list(diagnostics)


@dataclass(frozen=True)
class Target:
    """What a run starts from: a workflow, a skill fire, or one agent alone."""

    workflow: str | None = None
    skill: str | None = None
    agent: str | None = None

    @property
    def name(self) -> str:
        """As runs are listed: the workflow, `fire:SKILL` or `agent:AGENT`."""
        if self.skill is not None:
            return f"fire:{self.skill}"
        assert self.workflow is not None
        return self.workflow


@dataclass
class Runnable:
    table: SignalTable
    target: Target  # resolved: a run of one agent has its own workflow, `agent:<id>`
    secrets: dict[str, str]  # provider name → key written in the config (never printed)
    note: str | None = None  # what the config declares and this run does not execute
    # provider name → its base_url as the config sets it, credentials included (never printed;
    # the table keeps it without them: `axoc.providers.urls.for_plan`)
    urls: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # the config's text as compiled (None: from a saved plan)
    workspace: str | None = None  # the config's `workspace`, as written (relative to its folder)
    # the config's web tool blocks, `${VAR}`s resolved (the API key: never printed, never in the
    # plan; a resume compiles the config again to have them: `axoc.fingerprint.record`)
    web_search: WebSearch | None = None
    fetch_url: FetchUrl | None = None
    memory: SemanticMemory | None = None  # the config's `memory:` (None: from a saved plan)
    # MCP server name → its `env`, `headers` and `url` as the config sets them (never printed;
    # the table keeps a value written without a `${VAR}` as `(redacted)`)
    mcp_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the config's `consolidation:` (None: absent, or from a saved plan): axoc.memory.consolidation
    consolidation: Consolidation | None = None


# Sections a run executes; a `${VAR}` anywhere else feeds nothing a run does.
_LIVE_SECTIONS = ("skills", "proactive", "lattice")


def prepare(path: str, wanted: Target, dry_run: bool, env: Mapping[str, str]) -> Runnable:
    """The table `wanted` runs on, from the config or saved plan at `path` (told apart by
    content: `axoc.filekind`)."""
    try:
        plan = filekind.kind(path) == filekind.PLAN
    except filekind.NotRunnable as neither:
        raise RunRefused(str(neither), "not_runnable") from None
    if plan:
        table = _saved_plan(path)
        resolved = resolve(table, wanted)
        return Runnable(_for_target(table, resolved), resolved, {})
    return _from_config(path, wanted, dry_run, env)


def _from_config(path: str, wanted: Target, dry_run: bool, env: Mapping[str, str]) -> Runnable:
    from axoc.compat import run_note
    from axoc.pipeline import compile_file

    unit = compile_file(path, env)
    target: Target | None = None
    if unit.lowered is not None:
        try:
            target = resolve(unit.lowered.table, wanted)
        except RunRefused:
            if not unit.errors():
                raise
    if target is None or unit.lowered is None or unit.document is None:
        _refuse(path, unit.text, unit.errors())
    assert target is not None and unit.document is not None
    # a skill fire, or one agent alone, runs no workflow of the config: no workflow's errors
    # concern it
    own = target.workflow if target.agent is None else None
    blocking = unit.errors_for(own)
    healthy = unit.table(own)
    table = _for_target(healthy, target) if healthy is not None else None
    unset = []
    if table is not None:
        unset = _unset_used(unit.document.data, unit.diagnostics, table, target, dry_run)
    if blocking or unset or table is None:
        shown = blocking + [replace(d, severity=Severity.ERROR) for d in unset]
        _refuse(path, unit.text, sorted(shown, key=lambda d: d.sort_key), unset=bool(unset))
    assert table is not None and unit.config is not None
    configured = list(registry.entries(unit.config.providers))
    keys = {
        name: key
        for name, settings in configured
        if isinstance(key := getattr(settings, "api_key", None), str) and key
    }
    urls = {
        name: url
        for name, settings in configured
        if isinstance(url := getattr(settings, "base_url", None), str)
    }
    mcp_values = {
        server.name: {"env": server.env, "headers": server.headers, "url": server.url}
        for server in unit.config.mcp_servers
    }
    return Runnable(
        table,
        target,
        keys,
        run_note(unit.document, unit.diagnostics),
        urls,
        unit.text,
        unit.config.workspace,
        unit.config.web_search,
        unit.config.fetch_url,
        unit.config.memory,
        mcp_values,
        unit.config.consolidation,
    )


def resolve(table: SignalTable, wanted: Target) -> Target:
    """The target named on the command line, checked against the table; with nothing named,
    the only workflow."""
    if wanted.skill is not None:
        _known(wanted.skill, [s.id for s in table.skills], "skill")
        return wanted
    if wanted.agent is not None:
        _known(wanted.agent, [a.id for a in table.agents], "agent")
        from axoc.lower import SOLO_PREFIX

        return Target(workflow=f"{SOLO_PREFIX}{wanted.agent}", agent=wanted.agent)
    names = [w.id for w in table.workflows]
    if wanted.workflow is not None:
        _known(wanted.workflow, names, "workflow")
        return wanted
    if not names and table.skills:
        skills = ", ".join(s.id for s in table.skills)
        raise RunRefused(
            f"this config has no workflow: fire a skill with --fire ({skills})", "no_target"
        )
    if not names and table.agents:
        agents = ", ".join(a.id for a in table.agents[:10]) + (", ..." * (len(table.agents) > 10))
        raise RunRefused(
            f"this config has no workflow: run one agent with --agent ({agents})", "no_target"
        )
    if len(names) != 1:
        raise RunRefused(
            f"choose a workflow with -w (workflows: {', '.join(names) or 'none'})", "no_target"
        )
    return Target(workflow=names[0])


def _known(name: str, names: list[str], kind: str) -> None:
    if name not in names:
        raise RunRefused(unknown(kind, name, names), f"unknown_{kind}")


def _for_target(table: SignalTable, target: Target) -> SignalTable:
    if target.agent is None:
        return table
    from axoc.lower import solo

    return solo(table, target.agent)


def _saved_plan(path: str) -> SignalTable:
    try:
        return read_plan(path)
    except PlanError as exc:
        raise RunRefused(str(exc), "unreadable" if exc.unreadable else "bad_plan") from exc


def live_agents(table: SignalTable, target: Target) -> set[str]:
    """The agents a run may activate: its workflow's, and every holder of a reactive unit."""
    reactive = {u.agent for u in table.units if u.workflow is None}
    members = table.workflow(target.workflow).agents if target.workflow is not None else ()
    return reactive | set(members)


def _unset_used(
    data: dict[str, Any], found: list[Diagnostic], table: SignalTable, target: Target,
    dry_run: bool,
) -> list[Diagnostic]:  # fmt: skip
    """The unset variables this run uses (see the module's docstring)."""
    from axoc.interpolate import UNSET  # the compiler's: a saved plan runs without loading it

    live = live_agents(table, target)
    providers = set() if dry_run else {a.provider for a in table.agents if a.id in live}
    # a web tool's block feeds a real run whose live agents list the tool (a dry run sends
    # nothing: axoc.tools.web)
    web = set() if dry_run else {t for a in table.agents if a.id in live for t in a.tools}
    return [
        d
        for d in found
        if d.code == UNSET
        and (_feeds(data, d.path, live, providers, target.workflow) or d.path[:1] in _web(web))
    ]


def _web(listed: set[str]) -> set[tuple[str]]:
    return {(name,) for name in ("web_search", "fetch_url") if name in listed}


def _feeds(
    data: dict[str, Any], path: tuple[str | int, ...], live: set[str], providers: set[str],
    workflow: str | None,
) -> bool:  # fmt: skip
    section = path[0] if path else None
    if section == "providers":
        return len(path) > 1 and path[1] in providers
    if section in ("agents", "workflows"):
        item = _item(data, path)
        ident = item.get("id") if isinstance(item, dict) else None
        return ident in live if section == "agents" else ident == workflow
    return section in _LIVE_SECTIONS


def _item(data: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    items = data.get(str(path[0]))
    index = path[1] if len(path) > 1 else None
    if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
        return items[index]
    return None


def _refuse(path: str, text: str | None, shown: list[Diagnostic], *, unset: bool = False) -> None:
    from axoc.report import render_text

    sources = {path: text} if text is not None else {}
    why = " (an unset variable is an error at run time)" if unset else ""
    raise RunRefused(
        f"{path} cannot run{why}:\n{render_text(shown, 1, sources)}", "config_errors", shown
    )
