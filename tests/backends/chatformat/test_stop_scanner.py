"""Stop strings cut generation without ever leaking part of one."""

from __future__ import annotations

from agentshell_chatformat import StopScanner
from hypothesis import given, settings
from hypothesis import strategies as st


def run(chunks: list[str], stops: tuple[str, ...] = ("<|im_end|>", "</s>")) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out = []
    for chunk in chunks:
        out.append(scanner.feed(chunk))
        if scanner.stopped:
            break
    out.append(scanner.flush())
    return "".join(out), scanner.stopped


def test_cut_at_a_split_stop_string() -> None:
    assert run(["Hello <|im", "_end|> ignored"]) == ("Hello ", True)


def test_a_false_start_is_released() -> None:
    scanner = StopScanner(["<|im_end|>"])
    assert scanner.feed("a <|im") == "a "
    assert scanner.pending == "<|im"
    assert scanner.feed("port") == "<|import"
    assert not scanner.stopped


def test_held_text_is_released_at_the_end() -> None:
    assert run(["x </"]) == ("x </", False)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab<|/s>im_end", max_size=40), st.lists(st.integers(0, 40), max_size=8))
def test_any_chunking_gives_the_same_cut(source: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(source)) for c in cuts})
    chunks = [source[a:b] for a, b in zip([0, *points], [*points, len(source)], strict=True)]
    expected_cut = min((i for i in (source.find("<|im_end|>"), source.find("</s>")) if i >= 0), default=-1)
    text, stopped = run(chunks)
    assert stopped == (expected_cut >= 0)
    assert text == (source[:expected_cut] if expected_cut >= 0 else source)
