"""The opt-in web tools: `web_search` (a search provider's API) and `fetch_url` (GET a page under
an allow-list), over httpx. Neither exists unless the config configures it.

In: the config's `web_search:` block (`Search`: provider `tavily` or `searxng`, its API key —
already resolved from `${VAR}`, held only in memory — and its base URL) and its `fetch_url:`
block (`Fetch`: allowed URL prefixes, a byte cap, a time limit); whether the run is dry.
Out: `web_tools(...)`, one `Tool` per configured block.

Guarantees:
- `web_search {query, max_results 1-10 (default 5)}`: tavily is `POST {url}/search` with the key
  in the JSON body; searxng `GET {url}/search?q=...&format=json`. The answer is numbered hits
  (title, URL, content), each field cut (`MAX_TITLE`, `MAX_URL`, `MAX_SNIPPET` characters); at
  most `MAX_SEARCH_BODY` bytes of the provider's answer are read. A provider error (its status
  and its own words, cut), a timeout (`SEARCH_TIMEOUT_S` for the whole call), an answer that is
  not JSON or too large: each an error result the model sees. The API key never appears in a
  result, an error or anything else axoc writes: provider words and exception texts pass a
  `Redactor` of the key and of the URL's credentials, and URLs are shown without credentials.
- `fetch_url {url}`: GET only, without cookies or credentials. A URL is fetched only when, as
  httpx parses it (what is sent is what was checked), its scheme is http or https, it holds no
  user info, no `.`/`..` path segment (percent-decoded too), no encoded `/` or `\\`, and its
  scheme, host, port (default ports made explicit) and path fall under one allowed prefix — a
  path prefix matches at a `/` boundary (`/docs` allows `/docs` and `/docs/x`, not
  `/docs-private`). Redirects are followed by hand, at most `MAX_REDIRECTS`, each target checked
  the same way. At most `max_bytes` of the body are read (more is cut, with a note); HTML is
  reduced to text with the standard library's `html.parser` (scripts and styles dropped, links
  kept as `[url]`); text, JSON and XML are passed as text; other types (images, archives, PDF,
  a body with NUL bytes) are refused. The whole fetch, redirects included, takes at most
  `timeout_s`.
- In a dry run nothing is sent: `web_search` answers *not searched: dry run*, `fetch_url`
  checks the URL against the allow-list as in a real run and answers *not fetched: dry run*.
- `httpx` is imported only when a web tool runs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from axoc.kernel.ports import ToolDefinition, ToolResult
from axoc.providers import urls
from axoc.providers.redaction import Redactor
from axoc.tools.base import Tool

if TYPE_CHECKING:
    import httpx

PROVIDERS = ("tavily", "searxng")
DEFAULT_URLS = {"tavily": "https://api.tavily.com"}
SEARCH_TIMEOUT_S = 20.0  # seconds for one web_search call, connection to last byte
MAX_SEARCH_BODY = 2 * 1024 * 1024  # bytes of a search provider's answer read
MAX_ERROR_BODY = 64 * 1024  # bytes of an error answer read (search or fetch)
MAX_WORDS = 300  # characters of a provider's or a site's own words in an error result
MAX_RESULTS = 10  # hits a web_search call may ask for
MAX_TITLE = 200  # characters of a hit's title
MAX_URL = 2048  # characters of a hit's URL, of a redirect's Location
MAX_SNIPPET = 1500  # characters of a hit's content
MAX_REDIRECTS = 5  # redirects fetch_url follows, each checked against the allow-list
DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = (301, 302, 303, 307, 308)
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


class Refused(Exception):
    """A call the tool does not make, or a failure; the message is what the model is told."""


@dataclass(frozen=True)
class Search:
    provider: str  # one of PROVIDERS
    url: str  # the base URL, credentials included (never shown)
    api_key: str = field(repr=False)  # the resolved key (never shown)

    def redactor(self) -> Redactor:
        return Redactor((self.api_key, *urls.secrets(self.url)))


@dataclass(frozen=True)
class Fetch:
    allow: tuple[str, ...]
    max_bytes: int
    timeout_s: float


def web_tools(search: Search | None, fetch: Fetch | None, *, dry_run: bool) -> list[Tool]:
    """The configured web tools: `web_search` when `search` is given, `fetch_url` when `fetch`
    is."""
    tools = []
    if search is not None:
        tools.append(_search_tool(search, dry_run))
    if fetch is not None:
        tools.append(_fetch_tool(fetch, dry_run))
    return tools


def _errors_to_results(work: Any) -> Any:
    async def run(arguments: Mapping[str, Any]) -> ToolResult:
        try:
            return ToolResult(await work(arguments))
        except Refused as refused:
            return ToolResult(str(refused), True)

    return run


# --- web_search -------------------------------------------------------------------------------

_SEARCH = ToolDefinition(
    "web_search",
    "Search the web for current, real-world information. Returns numbered results: title, "
    "URL and a content snippet.",
    {"type": "object", "properties": {
        "query": {"type": "string", "description": "What to search for", "minLength": 1},
        "max_results": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS,
                        "description": f"How many results (1-{MAX_RESULTS}, default 5)"},
    }, "required": ["query"]},
)  # fmt: skip


def _search_tool(search: Search, dry_run: bool) -> Tool:
    redact = search.redactor()

    async def work(arguments: Mapping[str, Any]) -> str:
        query = str(arguments["query"])
        wanted = int(arguments.get("max_results", 5))
        if dry_run:
            return f"not searched: dry run ({search.provider}, query {query!r})"
        try:
            hits = await asyncio.wait_for(_search(search, query, wanted), SEARCH_TIMEOUT_S)
        except TimeoutError:
            raise Refused(
                f"web_search failed: no answer from {search.provider} within {SEARCH_TIMEOUT_S:g} s"
            ) from None
        except Refused as refused:
            raise Refused(redact(str(refused))) from None
        except Exception as exc:  # unforeseen: still no key in what the model sees
            raise Refused(redact(f"web_search failed: {_exception(exc)}")) from None
        return _shown_hits(query, hits[:wanted])

    return Tool(_SEARCH, _errors_to_results(work))


async def _search(search: Search, query: str, wanted: int) -> list[dict[str, str]]:
    import httpx

    from axoc.providers.body import BodyError, read

    where = urls.endpoint(search.url, "/search")
    if search.provider == "tavily":
        body = {"api_key": search.api_key, "query": query, "max_results": wanted,
                "search_depth": "basic"}  # fmt: skip
        request = {"method": "POST", "url": where, "json": body}
    else:
        params = {"q": query, "format": "json"}
        request = {"method": "GET", "url": where, "params": params}
    shown = f"{search.provider} ({urls.shown(where)})"
    try:
        async with _client() as client, client.stream(**request) as response:  # type: ignore[arg-type]
            limit = MAX_SEARCH_BODY if response.is_success else MAX_ERROR_BODY
            answer = await read(response, limit)
    except httpx.HTTPError as exc:
        raise Refused(f"web_search failed: cannot reach {shown}: {_exception(exc)}") from None
    except BodyError as exc:
        raise Refused(f"web_search failed: {shown} sent an undecodable answer: {exc}") from None
    if not response.is_success:
        words = _words(answer.data)
        raise Refused(
            f"web_search failed: {shown} answered HTTP {response.status_code}"
            + (f": {words}" if words else "")
        )
    if answer.cut:
        raise Refused(f"web_search failed: {shown} answered more than {MAX_SEARCH_BODY} bytes")
    try:
        data = json.loads(answer.data)
    except ValueError:
        raise Refused(f"web_search failed: {shown} answered something that is not JSON") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise Refused(f"web_search failed: {shown} answered JSON without a 'results' list")
    return [_hit(item) for item in results if isinstance(item, dict)]


def _hit(item: Mapping[str, Any]) -> dict[str, str]:
    def text(key: str, cap: int) -> str:
        value = item.get(key)
        return _cut(" ".join(value.split()), cap) if isinstance(value, str) else ""

    return {"title": text("title", MAX_TITLE), "url": text("url", MAX_URL),
            "content": text("content", MAX_SNIPPET)}  # fmt: skip


def _shown_hits(query: str, hits: list[dict[str, str]]) -> str:
    if not hits:
        return f"no results for {query!r}"
    lines = [f"{len(hits)} result{'s' * (len(hits) != 1)} for {query!r}:"]
    for n, hit in enumerate(hits, 1):
        lines.append(f"{n}. {hit['title'] or '(no title)'}")
        if hit["url"]:
            lines.append(f"   {hit['url']}")
        if hit["content"]:
            lines.append(f"   {hit['content']}")
    return "\n".join(lines)


# --- fetch_url --------------------------------------------------------------------------------

_FETCH = ToolDefinition(
    "fetch_url",
    "Fetch a web page (GET) and return it as text. Only URLs under the configured allowed "
    "prefixes can be fetched.",
    {"type": "object", "properties": {
        "url": {"type": "string", "description": "The http(s) URL to fetch"},
    }, "required": ["url"]},
)  # fmt: skip


def _fetch_tool(fetch: Fetch, dry_run: bool) -> Tool:
    allowed = AllowList(fetch.allow)
    definition = ToolDefinition(
        _FETCH.name,
        f"{_FETCH.description} Allowed: {', '.join(fetch.allow)}",
        _FETCH.parameters,
    )

    async def work(arguments: Mapping[str, Any]) -> str:
        url = allowed.check(str(arguments["url"]))
        if dry_run:
            return f"not fetched: dry run ({url})"
        try:
            return await asyncio.wait_for(_fetch(fetch, allowed, url), fetch.timeout_s)
        except TimeoutError:
            raise Refused(f"fetch_url: {url} took more than {fetch.timeout_s:g} s") from None

    return Tool(definition, _errors_to_results(work))


class AllowList:
    """The allowed URL prefixes, parsed once; `check` is the only way to a URL fetch_url
    sends."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        import httpx

        self.prefixes = []
        for prefix in prefixes:
            url = httpx.URL(prefix)
            path = url.path or "/"
            self.prefixes.append((_origin(url), path))

    def check(self, given: str) -> httpx.URL:
        """The URL `given` names, as httpx will send it, or `Refused` saying why not."""
        import httpx

        try:
            url = httpx.URL(given)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise Refused(f"fetch_url: {given!r} is not a URL: {exc}") from None
        if url.scheme not in DEFAULT_PORTS:
            raise Refused(f"fetch_url: only http and https URLs are fetched, not {given!r}")
        if url.userinfo:
            raise Refused("fetch_url: a URL with user info (user@host) is not fetched")
        if not url.host:
            raise Refused(f"fetch_url: {given!r} has no host")
        raw = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
        if re.search(r"%2f|%5c|\\", raw, re.IGNORECASE):
            raise Refused(f"fetch_url: {given!r} holds an encoded '/' or a '\\' in its path")
        # httpx resolves dot segments itself; the URL as given is checked too, to say why
        written = unquote(re.split(r"[?#]", given, maxsplit=1)[0]).split("/")
        segments = unquote(raw).split("/") + written[3:]
        if "." in segments or ".." in segments:
            raise Refused(f"fetch_url: {given!r} holds a '.' or '..' path segment")
        origin, path = _origin(url), unquote(raw) or "/"
        for allowed_origin, prefix in self.prefixes:
            if origin == allowed_origin and _under(path, prefix):
                return url
        raise Refused(f"fetch_url: {given} is not under an allowed prefix ({self.shown()})")

    def shown(self) -> str:
        return ", ".join(
            f"{scheme}://{host}:{port}{prefix}" for (scheme, host, port), prefix in self.prefixes
        )


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return (url.scheme, url.host.lower(), url.port or DEFAULT_PORTS.get(url.scheme, 0))


def _under(path: str, prefix: str) -> bool:
    """`path` is `prefix`, or below it at a `/` boundary."""
    if prefix.endswith("/"):
        return path.startswith(prefix) or path + "/" == prefix
    return path == prefix or path.startswith(prefix + "/")


async def _fetch(fetch: Fetch, allowed: AllowList, url: httpx.URL) -> str:
    import httpx

    from axoc.providers.body import BodyError, read

    headers = {
        "Accept": "text/html, text/plain;q=0.9, application/json;q=0.8, */*;q=0.1",
        "Accept-Encoding": "gzip, deflate",
    }  # fmt: skip: what body.read decodes
    try:
        async with _client() as client:
            for _ in range(MAX_REDIRECTS + 1):
                async with client.stream("GET", url, headers=headers) as response:
                    status = response.status_code
                    if status in _REDIRECTS:
                        url = _redirect(allowed, url, response)
                        continue
                    limit = fetch.max_bytes if response.is_success else MAX_ERROR_BODY
                    body = await read(response, limit)
                    kind = response.headers.get("content-type", "")
                    break
            else:
                raise Refused(f"fetch_url: {url}: more than {MAX_REDIRECTS} redirects")
    except httpx.HTTPError as exc:
        raise Refused(f"fetch_url: cannot fetch {url}: {_exception(exc)}") from None
    except BodyError as exc:
        raise Refused(f"fetch_url: {url} sent an undecodable body: {exc}") from None
    if not response.is_success:
        words = _words(body.data)
        said = f": {words}" if words else ""
        raise Refused(f"fetch_url: {url} answered HTTP {status} {response.reason_phrase}{said}")
    text = _as_text(url, kind, body.data)
    head = f"{url} ({kind.split(';')[0].strip() or 'no content type'})\n\n"
    if body.cut:
        text += f"\n[cut: the page is larger than {fetch.max_bytes} bytes; the first were read]"
    return head + text


def _redirect(allowed: AllowList, url: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location", "")
    if not location:
        raise Refused(f"fetch_url: {url} redirects (HTTP {response.status_code}) nowhere")
    if len(location) > MAX_URL:
        raise Refused(f"fetch_url: {url} redirects to a URL over {MAX_URL} characters")
    try:
        target = str(url.join(location))
    except Exception:  # httpx raises InvalidURL, or ValueError on a bad port
        raise Refused(f"fetch_url: {url} redirects to {location!r}, not a URL") from None
    try:
        return allowed.check(target)
    except Refused as refused:
        raise Refused(f"fetch_url: {url} redirects to {target}, refused: {refused}") from None


def _as_text(url: httpx.URL, content_type: str, data: bytes) -> str:
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    try:
        text = data.decode(charset, "replace")
    except LookupError:  # a charset Python does not know
        text = data.decode("utf-8", "replace")
    html = kind in ("text/html", "application/xhtml+xml")
    textual = kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith(("+json", "+xml"))
    if not kind:  # no type said: text unless it looks binary
        textual = b"\x00" not in data[:8192]
        html = textual and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))
    if not textual or (not html and b"\x00" in data[:8192]):
        raise Refused(
            f"fetch_url: {url} is {kind or 'binary content'}, not text: only text, HTML, JSON "
            "and XML are fetched"
        )
    return _html_text(text, url) if html else text


# --- HTML to text ------------------------------------------------------------------------------

_SKIPPED = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}
_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
    "footer", "nav", "main", "aside", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "dl", "dt", "dd", "figure", "figcaption", "form", "title",
}  # fmt: skip
_ITEMS = {"li", "dt", "dd", "tr"}  # a line each: a break before, none after
# <pre> text travels as stand-ins for its line breaks, spaces and tabs (control characters no
# page text keeps: they are dropped from it)
_PRE_IN = str.maketrans({"\n": "\x01", " ": "\x02", "\t": "\x03", "\x01": None, "\x02": None,
                         "\x03": None, "\r": None})  # fmt: skip
_PRE_OUT = str.maketrans({"\x01": "\n", "\x02": " ", "\x03": "\t"})
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source",
         "track", "wbr"}  # fmt: skip


class _Text(HTMLParser):
    """The readable text of an HTML page: blocks on their own lines, whitespace collapsed
    (except in <pre>), headings marked with #, list items with -, links followed by [url]."""

    def __init__(self, base: httpx.URL) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.skipping: list[str] = []
        self.pre = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping or tag in _SKIPPED:
            if tag not in _VOID:
                self.skipping.append(tag)
            return
        if tag in _BLOCKS:
            self.out.append("\n")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.out.append("#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("- ")
        elif tag == "pre":
            self.pre += 1
        elif tag == "a":
            self.links.append(self._link(dict(attrs).get("href")))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag in self.skipping:
                while self.skipping and self.skipping.pop() != tag:
                    pass
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag == "a" and self.links:
            link = self.links.pop()
            if link:
                self.out.append(f" [{link}]")
        if tag in _BLOCKS and tag not in _ITEMS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:  # kept as written: its line breaks and spaces survive `text`'s stripping
            self.out.append(data.translate(_PRE_IN))
        else:
            self.out.append(re.sub(r"\s+", " ", data))

    def _link(self, href: str | None) -> str | None:
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            return None
        try:
            return _cut(str(self.base.join(href)), MAX_URL)
        except Exception:  # an href httpx cannot join: left out
            return None

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.out).split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        return text.translate(_PRE_OUT)


def _html_text(html: str, url: httpx.URL) -> str:
    parser = _Text(url)
    parser.feed(html)
    parser.close()
    return parser.text()


# --- shared -----------------------------------------------------------------------------------


def _client() -> httpx.AsyncClient:
    """A client for one call: no redirects followed, no cookies kept past the call."""
    import httpx

    return httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(SEARCH_TIMEOUT_S))


def _exception(exc: Exception) -> str:
    said = str(exc)
    return f"{type(exc).__name__}: {_cut(said, MAX_WORDS)}" if said else type(exc).__name__


def _words(data: bytes) -> str:
    """A provider's or site's own words from an error body: a JSON `detail`, `error` or
    `message` when there is one, else the text; whitespace collapsed, cut."""
    text = data.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("detail", "error", "message"):
            value = parsed.get(key)
            if isinstance(value, dict):
                value = value.get("message", value.get("error"))
            if isinstance(value, str) and value.strip():
                text = value
                break
    return _cut(" ".join(text.split()), MAX_WORDS)


def _cut(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: cap - 1] + "…"
