"""Counts are singular for exactly one, everywhere a count is printed; unknown names get the
closest valid one as a suggestion."""

from __future__ import annotations

from axoc.kernel.ports import BudgetRefused
from axoc.wording import closest, escaped, plural, unknown


def test_plural() -> None:
    assert [plural(n, "agent") for n in (0, 1, 2)] == ["0 agents", "1 agent", "2 agents"]
    assert plural(1, "activity", "activities") == "1 activity"
    assert plural(3, "activity", "activities") == "3 activities"


def test_a_budget_refusal_counts_one_token_as_one() -> None:
    message = str(BudgetRefused("a", 1, 5, 1, "per_call"))
    assert "input estimate 1 token + max_tokens 5 = 6, over the 1 token left of" in message


def test_unknown_suggests_the_closest_name() -> None:
    assert unknown("workflow", "reserch", ["research", "review"]) == (
        "no workflow 'reserch' (did you mean 'research'? workflows: research, review)"
    )
    assert unknown("skill", "zzz", ["write-code"]) == "no skill 'zzz' (skills: write-code)"
    assert unknown("workflow", "x", []) == "no workflow 'x' (workflows: none)"
    assert closest("Research", ["research"]) == "research"


def test_listing() -> None:
    from axoc.wording import listing

    assert listing(["a"]) == "'a'"
    assert listing(["a", "b"]) == "'a' and 'b'"
    assert listing(["a", "b", "c"]) == "'a', 'b' and 'c'"
    assert listing([f"x{i}" for i in range(8)], most=5) == "'x0', 'x1', 'x2', 'x3', 'x4' and 3 more"


def test_a_guess_among_many_names_looks_at_a_bounded_few(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """20,000 dangling references among 20,000 agents took minutes: each guess compared the
    unknown name with every valid one."""
    import difflib

    from axoc import wording

    names = wording.Names(f"agent-{i:05d}" for i in range(20_000))
    seen: list[int] = []
    real = difflib.get_close_matches

    def counting(word, possibilities, n=3, cutoff=0.6):  # type: ignore[no-untyped-def]
        seen.append(len(possibilities))
        return real(word, possibilities, n, cutoff)

    monkeypatch.setattr(wording.difflib, "get_close_matches", counting)
    assert names.closest("agnt-12345") == "agent-12345"  # a typo near the start
    assert (names.closest("agent-1234x") or "").startswith("agent-123")
    assert names.closest("xgent-12345") == "agent-12345"  # the first letter: found from the end
    assert max(seen) <= 32
    assert wording.Names(["b", "a"]).shown() == "a, b"
    assert wording.Names(str(i) for i in range(30)).shown().endswith(", …")


def test_escaped_shows_unprintable_characters_escaped_and_leaves_the_rest() -> None:
    assert escaped("writer\n") == "writer\\n"
    assert escaped("a\tb\x00") == "a\\tb\\x00"
    assert escaped("reseаrcher") == "reseаrcher"  # printable, non-ASCII: as written
