"""Base URLs (`axoc.providers.urls`): credentials and query values are secrets; requests go to
the path joined before the query (before: `/v1?api-key=K/chat/completions`)."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axoc.kernel.ports import FatalProviderError
from axoc.providers.ollama import OllamaProvider
from axoc.providers.openai import OpenAIProvider
from axoc.providers.urls import HIDDEN, endpoint, for_plan, resolve, secrets, shown
from tests.providers.servers import OLLAMA_CHAT, OPENAI_CHAT, FakeServer, Reply, complete
from tests.providers.test_openai import request

KEY = "k3y-4Xq9Lm2Vb7Nc1Zr8Tw3Ky6Hd5Jf0Ps"


@pytest.mark.parametrize(
    ("base", "joined"),
    [("http://h/v1", "http://h/v1/chat/completions"),
     ("http://h/v1/", "http://h/v1/chat/completions"),
     ("http://h/v1?api-key=K", "http://h/v1/chat/completions?api-key=K"),
     ("http://u:p@h:8/v1/?a=1&b=2#frag", "http://u:p@h:8/v1/chat/completions?a=1&b=2"),
     ("http://h", "http://h/chat/completions")],
)  # fmt: skip
def test_the_path_is_joined_before_the_query(base: str, joined: str) -> None:
    assert endpoint(base, "/chat/completions") == joined


def test_credentials_and_query_values_are_secrets_and_never_shown() -> None:
    url = f"https://me:{KEY}@h.example:8443/v1?api-key={KEY}%2F&v=2024-06-01&{KEY}x"
    assert set(secrets(url)) == {"me", KEY, f"{KEY}%2F", f"{KEY}/", "2024-06-01", f"{KEY}x"}
    assert shown(url) == ("https://h.example:8443/v1?api-key=(redacted)&v=(redacted)&(redacted)")
    assert shown("http://h/v1") == "http://h/v1" and secrets("http://h/v1") == ()
    assert shown("http://[::zz") == "(a URL that cannot be parsed)"


@pytest.mark.parametrize(
    ("url", "written", "planned"),
    [("http://h/v1?api-key=" + KEY, "http://h/v1?api-key=${K}", "http://h/v1?api-key=${K}"),
     ("http://u:" + KEY + "@h/v1", "http://u:${K}@h/v1", "http://(redacted):${K}@h/v1"),
     ("http://" + KEY + "@h/v1", "http://${K}@h/v1", "http://${K}@h/v1"),
     ("http://h/v1?api-key=" + KEY, "http://h/v1?api-key=" + KEY, "http://h/v1?api-key=(redacted)"),
     ("http://h/v1?api-key=" + KEY, "${URL}", "http://h/v1?api-key=(redacted)"),
     ("http://h/v1?a=" + KEY, "http://h/v1?a=${K:-fallback}", "http://h/v1?a=(redacted)"),
     ("http://h/v1?a=x" + KEY, "http://h/v1?a=x${K}", "http://h/v1?a=(redacted)"),
     ("http://h/v1?a=1&b=" + KEY, "http://h/v1?b=${K}&a=1", "http://h/v1?a=(redacted)&b=${K}"),
     ("http://h/v1?a=&b", "http://h/v1?a=&b", "http://h/v1?a=&(redacted)"),
     ("http://h/v1", "http://h/v1", "http://h/v1"),
     ("http://[::zz", None, "(redacted)")],
    ids=["query-var", "userinfo-var", "user-var", "query-literal", "whole-url-var",
         "default", "partial", "reordered", "blank-and-bare", "plain", "unparseable"],
)  # fmt: skip
def test_a_plan_keeps_the_variable_never_the_value(url: str, written: str, planned: str) -> None:
    assert for_plan(url, written) == planned
    assert KEY not in for_plan(url, written)


URL_SAFE = st.characters(codec="ascii", categories=["L", "N"], include_characters="-._~!*+,;")


@given(st.text(URL_SAFE, min_size=4, max_size=30))
def test_no_secret_value_reaches_a_plan(value: str) -> None:
    for template in (
        "http://h/v1?api-key={}",
        "http://user:{}@h/v1",
        "http://{}@h/",
        "http://h/?{}",
    ):
        url = template.format(value)
        for written in (template.format("${K}"), url):
            parts = urlsplit(for_plan(url, written))
            kept = parts.netloc.rpartition("@")[0] + "?" + parts.query
            assert value not in kept.replace("${K}", "").replace(HIDDEN, "")


def test_a_saved_plan_resolves_its_variables_from_the_environment() -> None:
    planned = "http://${U}:${K}@h/v1?api-key=${K}&v=1"
    env = {"U": "me", "K": KEY}
    assert resolve(planned, env) == f"http://me:{KEY}@h/v1?api-key={KEY}&v=1"
    assert resolve("http://h/v1", {}) == "http://h/v1"
    with pytest.raises(ValueError, match=r"needs \$\{K\}, which is not set"):
        resolve(planned, {"U": "me"})
    with pytest.raises(ValueError, match="credentials written into the config"):
        resolve("http://h/v1?api-key=(redacted)", env)


def test_openai_sends_the_query_after_the_path_and_never_shows_it(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT), Reply(401, {"error": {"message": f"no: {KEY}"}}))
    provider = OpenAIProvider(f"{server.url}/v1?api-key={KEY}")
    complete(provider, request())
    assert server.received[0].path == f"/v1/chat/completions?api-key={KEY}"
    with pytest.raises(FatalProviderError) as caught:
        complete(OpenAIProvider(f"{server.url}/v1?api-key={KEY}"), request())
    assert KEY not in str(caught.value) and "[redacted]" in str(caught.value)


def test_user_info_is_sent_as_basic_auth_and_redacted_when_echoed(server: FakeServer) -> None:
    basic = base64.b64encode(f"me:{KEY}".encode()).decode()
    echoed = f"bad credentials: Basic {basic} ({KEY.upper()})"
    server.script(Reply(200, OLLAMA_CHAT), Reply(403, {"error": echoed}))
    url = server.url.replace("http://", f"http://me:{KEY}@")
    complete(OllamaProvider(url), request(max_tokens=512))
    assert server.received[0].headers["authorization"] == f"Basic {basic}"
    with pytest.raises(FatalProviderError) as caught:
        complete(OllamaProvider(url), request(max_tokens=512))
    message = str(caught.value)
    assert "bad credentials" in message
    assert KEY not in message and KEY.upper() not in message and basic[4:-4] not in message
    assert server.url.removeprefix("http://") in message or "ollama" in message


def test_a_malformed_url_is_refused_without_showing_its_credentials() -> None:
    with pytest.raises(ValueError, match="invalid base_url") as caught:
        OpenAIProvider(f"http://me:{KEY}@[::zz/v1?api-key={KEY}")
    assert KEY not in str(caught.value)
    with pytest.raises(ValueError, match="http:// or https://") as caught:
        OpenAIProvider(f"ftp://me:{KEY}@h/v1?api-key={KEY}")
    assert KEY not in str(caught.value)
