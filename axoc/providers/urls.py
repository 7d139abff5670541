"""Provider base URLs: where a request goes, what a message may show, what a plan keeps.

A `base_url` may carry credentials: user info (`https://user:KEY@host/v1`) and query parameters
(`https://host/v1?api-key=KEY`). Both are treated as secrets everywhere: a message shows the URL
without user info and with every query value `(redacted)`; an adapter redacts them wherever a
provider echoes them; a plan keeps, in their place, the `${VAR}` the config wrote them with (or
`(redacted)`), so `plan.json`, `axoc plan --format json` and the plan's digest never depend on a
secret's value, and a saved plan still runs when its variables are set.

Standard library only: `axoc plan` lowers base URLs without loading httpx.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

HIDDEN = "(redacted)"  # in a URL: brackets there would make it no URL at all
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def endpoint(base: str, path: str) -> str:
    """`base` with `path` appended to its path — before its query, which is kept:
    `http://h/v1?k=x` + `/chat/completions` is `http://h/v1/chat/completions?k=x`."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path, fragment=""))


def secrets(url: str) -> tuple[str, ...]:
    """What `url` holds that is secret: its user name and password and every query value, each
    as written and percent-decoded."""
    parts = _split(url)
    if parts is None:
        return ()
    userinfo, _, _ = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    values = [user, password] + [_pair(item)[2] for item in _items(parts.query)]
    found = dict.fromkeys(v for value in values for v in (value, unquote(value)) if v)
    return tuple(found)


def shown(url: str) -> str:
    """`url` as a message may show it: without user info, every query value `(redacted)`."""
    parts = _split(url)
    if parts is None:
        return "(a URL that cannot be parsed)"
    host = parts.netloc.rpartition("@")[2]
    query = "&".join(_hidden(item) for item in _items(parts.query))
    return urlunsplit(parts._replace(netloc=host, query=query, fragment=""))


def for_plan(url: str, written: object) -> str:
    """What a plan keeps of a base_url (`url`, interpolated; `written`, as the config wrote it):
    the URL with its user name, password and each query value replaced by the `${VAR}` that
    supplied it when the config wrote that part as exactly one `${VAR}`, else by `(redacted)`."""
    parts = _split(url)
    if parts is None:
        return HIDDEN  # where its credentials are cannot be told: none of it is kept
    if "@" not in parts.netloc and not parts.query:
        return url  # nothing secret in it
    raw = _split(written) if isinstance(written, str) else None
    userinfo, at, host = parts.netloc.rpartition("@")
    if at:
        raw_info = raw.netloc.rpartition("@")[0] if raw is not None else ""
        user, colon, password = userinfo.partition(":")
        raw_user, _, raw_password = raw_info.partition(":")
        userinfo = _kept(user, raw_user) + colon + _kept(password, raw_password)
    raw_items = [_pair(item) for item in _items(raw.query)] if raw is not None else []
    names = [name for name, _, _ in raw_items]
    written_as = {name: value for name, _, value in raw_items if names.count(name) == 1}
    query = []
    for item in _items(parts.query):
        name, equals, value = _pair(item)
        query.append(name + equals + _kept(value, written_as.get(name, "")))
    netloc = userinfo + at + host
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(query), fragment=""))


def resolve(planned: str, env: Mapping[str, str]) -> str:
    """A plan's base_url made callable: each `${VAR}` in its user info and query replaced by
    the variable's value. ValueError when a part was redacted or a variable is unset."""
    parts = _split(planned)
    if planned == HIDDEN:
        raise ValueError("its base_url could not be parsed, so the plan does not keep it")
    if parts is None:
        return planned  # refused with the reason when the adapter checks it
    userinfo, at, host = parts.netloc.rpartition("@")
    if HIDDEN in userinfo or HIDDEN in parts.query:
        raise ValueError(
            "its base_url held credentials written into the config, which a saved plan does "
            "not keep; run the config, or write them as ${VAR} in base_url"
        )

    def value(match: re.Match[str]) -> str:
        found = env.get(match.group(1))
        if not found:
            raise ValueError(f"its base_url needs ${{{match.group(1)}}}, which is not set")
        return found

    if "${" not in userinfo and "${" not in parts.query:
        return planned
    userinfo = _REFERENCE.sub(value, userinfo)
    query = _REFERENCE.sub(value, parts.query)
    return urlunsplit(parts._replace(netloc=userinfo + at + host, query=query))


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # a malformed IPv6 host, a bad port
        return None


def _items(query: str) -> list[str]:
    return query.split("&") if query else []


def _pair(item: str) -> tuple[str, str, str]:
    """A query item's name, `=` and value; an item without `=` is all value (`?KEY`)."""
    name, equals, value = item.partition("=")
    return (name, equals, value) if equals else ("", "", item)


def _hidden(item: str) -> str:
    name, equals, value = _pair(item)
    return name + equals + (HIDDEN if value else "")


def _kept(value: str, raw: str) -> str:
    """A secret part as a plan keeps it: its `${VAR}`, or `(redacted)` (nothing if empty)."""
    if not value:
        return value
    return raw if _REFERENCE.fullmatch(raw) else HIDDEN
