"""The web tools against real loopback HTTP servers (tests/providers/servers.py): web_search's
requests and results for tavily and searxng, its errors (an HTTP error that echoes the key, an
answer that is not JSON, one too large, a timeout, nobody listening) with the key never in what
the model sees; fetch_url's allow-list (other host, other port, a redirect out, the userinfo
trick, other schemes, `..`, encoded slashes, a sibling path), HTML reduced to text, the byte cap,
binary refused, redirects inside followed and counted, its time limit; and dry runs sending
nothing."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Mapping
from typing import Any

import pytest

from axoc.kernel.ports import ToolResult
from axoc.tools import web
from axoc.tools.base import Tool
from tests.providers.servers import FakeServer, Reply, unused_port

KEY = "tvly-SECRET-key-0123456789"


def call(tool: Tool, arguments: Mapping[str, Any]) -> ToolResult:
    async def go() -> ToolResult:
        return await tool.run(arguments)

    return asyncio.run(go())


def search_tool(url: str, provider: str = "tavily", *, dry_run: bool = False) -> Tool:
    (tool,) = web.web_tools(web.Search(provider, url, KEY), None, dry_run=dry_run)
    assert tool.definition.name == "web_search"
    return tool


def fetch_tool(
    *allow: str, max_bytes: int = 256 * 1024, timeout_s: float = 20, dry_run: bool = False
) -> Tool:
    (tool,) = web.web_tools(None, web.Fetch(allow, max_bytes, timeout_s), dry_run=dry_run)
    assert tool.definition.name == "fetch_url"
    return tool


def hits(n: int, content: str = "some content") -> dict[str, Any]:
    return {
        "query": "q",
        "results": [
            {"title": f"Title {i}", "url": f"https://example.com/{i}", "content": content,
             "score": 0.9}
            for i in range(1, n + 1)
        ],
    }  # fmt: skip


# --- web_search -------------------------------------------------------------------------------


def test_tavily_request_and_numbered_results() -> None:
    with FakeServer(Reply(200, hits(7))) as server:
        result = call(search_tool(server.url), {"query": "lattice theory", "max_results": 3})
    assert not result.is_error, result.content
    (sent,) = server.received
    assert (sent.method, sent.path) == ("POST", "/search")
    assert sent.json() == {"api_key": KEY, "query": "lattice theory", "max_results": 3,
                           "search_depth": "basic"}  # fmt: skip
    assert result.content.splitlines() == [
        "3 results for 'lattice theory':",
        "1. Title 1", "   https://example.com/1", "   some content",
        "2. Title 2", "   https://example.com/2", "   some content",
        "3. Title 3", "   https://example.com/3", "   some content",
    ]  # fmt: skip
    assert KEY not in result.content


def test_a_base_url_with_a_path_and_fields_cut() -> None:
    long = "word " * 2000
    with FakeServer(Reply(200, hits(1, long))) as server:
        result = call(search_tool(server.url + "/api/"), {"query": "x"})
    assert server.received[0].path == "/api/search"
    content_line = result.content.splitlines()[3]
    assert len(content_line) <= web.MAX_SNIPPET + 3 and content_line.endswith("…")


def test_searxng_is_a_get_with_the_query() -> None:
    with FakeServer(Reply(200, hits(2))) as server:
        result = call(search_tool(server.url, "searxng"), {"query": "a b&c"})
    (sent,) = server.received
    assert sent.method == "GET"
    assert sent.path == "/search?q=a+b%26c&format=json"
    assert result.content.startswith("2 results for 'a b&c':")
    assert KEY not in sent.path and not sent.body


def test_no_results() -> None:
    with FakeServer(Reply(200, {"results": []})) as server:
        result = call(search_tool(server.url), {"query": "nothing"})
    assert (result.content, result.is_error) == ("no results for 'nothing'", False)


def test_an_http_error_echoing_the_key_is_an_error_without_it() -> None:
    body = {"detail": {"error": f"Unauthorized: the key {KEY} is invalid"}}
    with FakeServer(Reply(401, body)) as server:
        result = call(search_tool(server.url), {"query": "x"})
    assert result.is_error
    assert "answered HTTP 401" in result.content and "Unauthorized" in result.content
    assert KEY not in result.content and "[redacted]" in result.content


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply(200, b"<html>not json</html>"), "not JSON"),
        (Reply(200, {"answer": "no results key"}), "without a 'results' list"),
        (Reply(200, b"x" * (web.MAX_SEARCH_BODY + 10)), f"more than {web.MAX_SEARCH_BODY} bytes"),
        (Reply(200, gzip.compress(b"[" * 10), {"Content-Encoding": "br"}), "undecodable"),
    ],
)
def test_bad_answers_are_errors(reply: Reply, said: str) -> None:
    with FakeServer(reply) as server:
        result = call(search_tool(server.url), {"query": "x"})
    assert result.is_error and said in result.content, result.content


def test_a_search_that_hangs_is_stopped_at_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "SEARCH_TIMEOUT_S", 0.3)
    with FakeServer(Reply(200, hits(1), hang=5)) as server:
        result = call(search_tool(server.url), {"query": "x"})
    assert result.is_error and "no answer from tavily within 0.3 s" in result.content


def test_nobody_listening() -> None:
    result = call(search_tool(f"http://127.0.0.1:{unused_port()}"), {"query": "x"})
    assert result.is_error and "cannot reach tavily" in result.content
    assert KEY not in result.content


def test_a_dry_run_searches_nothing() -> None:
    with FakeServer(Reply(200, hits(1))) as server:
        result = call(search_tool(server.url, dry_run=True), {"query": "x"})
    assert server.received == []
    assert result.content == "not searched: dry run (tavily, query 'x')"


# --- fetch_url --------------------------------------------------------------------------------

PAGE = b"""<!doctype html><html><head><title>T</title><style>p {color: red}</style>
<script>var secret = "in a script";</script></head>
<body><h1>Lattice   notes</h1><p>Theta is <b>0.5</b>.</p>
<ul><li>one</li><li>two</li></ul><a href="/docs/next.html">next page</a>
<pre>  kept
    as is</pre></body></html>"""


def html(body: bytes = PAGE, status: int = 200, **headers: str) -> Reply:
    return Reply(status, body, {"Content-Type": "text/html; charset=utf-8", **headers})


def test_an_allowed_page_is_text() -> None:
    with FakeServer(html()) as server:
        result = call(fetch_tool(server.url + "/docs/"), {"url": server.url + "/docs/a.html"})
    assert not result.is_error, result.content
    assert result.content.startswith(f"{server.url}/docs/a.html (text/html)\n\n")
    text = result.content.split("\n\n", 1)[1]
    assert "# Lattice notes" in text and "Theta is 0.5." in text
    assert "- one\n- two" in text
    assert f"next page [{server.url}/docs/next.html]" in text
    assert "  kept\n    as is" in text
    assert "secret" not in text and "color" not in text
    assert server.received[0].method == "GET"


def test_json_and_plain_text_pass_as_text() -> None:
    with FakeServer() as server:
        server.script(
            Reply(200, {"a": 1}), Reply(200, b"plain\ttext", {"Content-Type": "text/plain"})
        )
        tool = fetch_tool(server.url)
        first = call(tool, {"url": server.url + "/x.json"})
        second = call(tool, {"url": server.url + "/x.txt"})
    assert first.content.endswith('{"a": 1}') and second.content.endswith("plain\ttext")


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("http://127.0.0.2:{port}/docs/a", "not under an allowed prefix"),  # another host
        (
            "http://localhost:{port}/docs/a",
            "not under an allowed prefix",
        ),  # same machine, other name
        ("http://127.0.0.1:{other}/docs/a", "not under an allowed prefix"),  # another port
        ("http://127.0.0.1:{port}/private", "not under an allowed prefix"),
        ("http://127.0.0.1:{port}/docs-private/a", "not under an allowed prefix"),  # a sibling
        ("https://127.0.0.1:{port}/docs/a", "not under an allowed prefix"),  # another scheme
        ("http://127.0.0.1:{port}/docs/../private", "'..'"),
        ("http://127.0.0.1:{port}/docs/%2e%2e/private", "'..'"),
        ("http://127.0.0.1:{port}/docs%2F..%2Fprivate", "encoded '/'"),
        ("http://127.0.0.1:{port}/docs/..%5Cprivate", "encoded '/'"),
        ("http://127.0.0.1:{port}@127.0.0.2:{port}/docs/a", "user info"),  # the userinfo trick
        ("http://user:pw@127.0.0.1:{port}/docs/a", "user info"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://127.0.0.1:{port}/docs/a", "only http and https"),
        ("//127.0.0.1:{port}/docs/a", "only http and https"),
        ("http://[::1/docs", "not a URL"),
    ],
)
def test_allow_list_escapes_are_refused_before_anything_is_sent(given: str, said: str) -> None:
    with FakeServer(html()) as server:
        port = server.url.rsplit(":", 1)[1]
        url = given.format(port=port, other=unused_port())
        result = call(fetch_tool(f"http://127.0.0.1:{port}/docs"), {"url": url})
    assert result.is_error and said in result.content, result.content
    assert server.received == []


def test_the_prefix_itself_and_default_ports_match() -> None:
    allowed = web.AllowList(("https://docs.example.com/guide/", "http://h.example/a"))
    assert str(allowed.check("https://docs.example.com:443/guide/x?q=1"))
    assert str(allowed.check("https://DOCS.example.com/guide"))
    assert str(allowed.check("http://h.example:80/a"))
    with pytest.raises(web.Refused):
        allowed.check("http://h.example/ab")
    with pytest.raises(web.Refused):
        allowed.check("https://docs.example.com:8443/guide/x")


def test_a_redirect_inside_is_followed_and_one_out_is_refused() -> None:
    with FakeServer() as server, FakeServer(html(b"<p>outside secret</p>")) as outside:
        server.script(
            Reply(302, b"", {"Location": "/docs/b.html"}),
            html(b"<p>page b</p>"),
            Reply(301, b"", {"Location": outside.url + "/docs/c.html"}),
        )
        tool = fetch_tool(server.url + "/docs/")
        followed = call(tool, {"url": server.url + "/docs/a.html"})
        out = call(tool, {"url": server.url + "/docs/a.html"})
    assert not followed.is_error and followed.content.startswith(f"{server.url}/docs/b.html")
    assert followed.content.endswith("page b")
    assert out.is_error and f"redirects to {outside.url}/docs/c.html, refused" in out.content
    assert outside.received == [] and "outside secret" not in out.content


def test_more_than_five_redirects_are_refused() -> None:
    loop = Reply(302, b"", {"Location": "/docs/again"})
    with FakeServer(loop) as server:
        result = call(fetch_tool(server.url + "/docs/"), {"url": server.url + "/docs/a"})
    assert result.is_error and f"more than {web.MAX_REDIRECTS} redirects" in result.content
    assert len(server.received) == web.MAX_REDIRECTS + 1


def test_a_large_page_is_cut_with_a_note() -> None:
    with FakeServer(Reply(200, b"a" * 5000, {"Content-Type": "text/plain"})) as server:
        result = call(fetch_tool(server.url, max_bytes=1000), {"url": server.url + "/big"})
    assert not result.is_error
    body = result.content.split("\n\n", 1)[1]
    assert body.startswith("a" * 1000 + "\n[cut: the page is larger than 1000 bytes")
    assert "a" * 1001 not in body


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"\x89PNG\r\n\x1a\n\x00\x00", {"Content-Type": "image/png"}),
        Reply(200, b"PK\x03\x04\x00\x00", {"Content-Type": "application/zip"}),
        Reply(200, b"text\x00with nul", {"Content-Type": "text/plain"}),
    ],
)
def test_binary_is_refused(reply: Reply) -> None:
    with FakeServer(reply) as server:
        result = call(fetch_tool(server.url), {"url": server.url + "/file"})
    assert result.is_error and "not text" in result.content


def test_an_http_error_is_an_error_with_the_sites_words() -> None:
    with FakeServer(html(b"<h1>Not here</h1>", 404)) as server:
        result = call(fetch_tool(server.url), {"url": server.url + "/gone"})
    assert result.is_error
    assert f"{server.url}/gone answered HTTP 404 Not Found" in result.content


def test_a_slow_page_is_stopped_at_its_time_limit() -> None:
    slow = Reply(200, b"x" * 100, {"Content-Type": "text/plain"}, trickle=0.1)
    with FakeServer(slow) as server:
        result = call(fetch_tool(server.url, timeout_s=0.5), {"url": server.url + "/slow"})
    assert result.is_error and "took more than 0.5 s" in result.content


def test_a_dry_run_checks_the_url_and_fetches_nothing() -> None:
    with FakeServer(html()) as server:
        tool = fetch_tool(server.url + "/docs/", dry_run=True)
        inside = call(tool, {"url": server.url + "/docs/a"})
        outside = call(tool, {"url": server.url + "/other"})
    assert inside.content == f"not fetched: dry run ({server.url}/docs/a)"
    assert outside.is_error and "not under an allowed prefix" in outside.content
    assert server.received == []


def test_the_definitions_say_what_is_allowed() -> None:
    tool = fetch_tool("https://docs.example.com/guide/")
    assert "https://docs.example.com/guide/" in tool.definition.description
    schema = json.dumps(search_tool("http://127.0.0.1:9").definition.parameters)
    assert '"maximum": 10' in schema
