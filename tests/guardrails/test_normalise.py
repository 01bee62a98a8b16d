"""Normalised variants and the map from each variant back to the original prompt."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hallmark.guardrails._normalise import variants


def _texts(prompt: str) -> dict[str, str]:
    return {v.name: v.text for v in variants(prompt)}


def test_ascii_prompt_has_one_variant() -> None:
    assert _texts("a cat on a mat") == {"unicode": "a cat on a mat"}


def test_format_characters_full_width_and_look_alikes_fold() -> None:
    texts = _texts("ｎ\u200bud\u0435")  # full-width n, zero-width space, Cyrillic e
    assert texts["folded"] == "nude"


def test_leet_and_spacing() -> None:
    texts = _texts("n 0 d 3")
    assert texts["leet"] == "n o d e"
    assert texts["joined"] == "node"
    assert _texts("10 cats")["unicode"] == "10 cats"  # the digits survive in the first variant


def test_rtl_override_is_put_back_in_reading_order() -> None:
    prompt = "a \u202eedun\u202c photo"
    rtl = next(v for v in variants(prompt) if v.name == "rtl")
    assert rtl.text == "a nude photo"
    start = rtl.text.index("nude")
    assert rtl.original_span(start, start + 4) == (3, 7)


def test_cjk_variant_drops_separators() -> None:
    texts = _texts("裸 . 体")
    assert texts["cjk"] == "裸体"


def test_span_maps_back_through_expansion() -> None:
    prompt = "xß\u200bnude"
    folded = next(v for v in variants(prompt) if v.name == "folded")
    start = folded.text.index("nude")
    assert folded.original_span(start, start + 4) == (3, 7)
    assert folded.original_span(2, 2) == (1, 1)


@given(st.text(max_size=60))
def test_every_variant_maps_into_the_prompt(prompt: str) -> None:
    for v in variants(prompt):
        assert len(v.starts) == len(v.text) == len(v.ends)
        if v.text:
            s, e = v.original_span(0, len(v.text))
            assert 0 <= s <= e <= len(prompt)
