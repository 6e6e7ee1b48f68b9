"""A hypothesis strategy shared by the streaming tests: a text and one way of cutting it into chunks."""

from __future__ import annotations

from hypothesis import strategies as st


def chunked_streams(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, list[str]]]:
    """(source, chunks): up to 14 pieces joined, then cut at up to 12 random places."""

    @st.composite
    def draw_case(draw: st.DrawFn) -> tuple[str, list[str]]:
        source = "".join(draw(st.lists(pieces, max_size=14)))
        cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(source)), max_size=12)))
        chunks = [source[a:b] for a, b in zip([0, *cuts], [*cuts, len(source)], strict=True)]
        return source, chunks

    return draw_case()
