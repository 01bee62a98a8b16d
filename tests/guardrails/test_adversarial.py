"""Crafted prompts cost bounded time: the worst case of any prompt within the length limit stays
under 100 ms beside the semantic model's one fixed-size pass, and a PII pattern cut off by its budget is reported, never read as "no PII"."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hallmark.checks import CheckStatus
from hallmark.guardrails import Action, PromptFilter
from hallmark.guardrails import _semantic as semantic
from hallmark.guardrails._pii import find_pii, time_budget
from hallmark.policies import load_policy

LIMIT = 4000  # the default pack's max_prompt_chars

# Each repeats a piece that makes a regular expression, the phone matcher or the term index work
# per character (or worse); cut to the length limit.
CRAFTED = {
    "dotted digits": "1.1.1.1.",
    "url-like host": "http://a.",
    "digit runs": "1-",
    "spaced digits": "1 ",
    "bracketed digits": "(1) ",
    "spaced letters": "a ",
    "dotted letters": "a.b.",
    "spaced term": "n u d e ",
    "at signs": "a@",
    "dots and ats": "@.",
    "ipv6-like": "1:",
    "iban-like": "DE89 ",
    "card-like": "4111 1111 ",
    "email-like": "a.a@a.a",
    "zero width": "a\u200b",
    "combining marks": "a\u0301",
    "mixed scripts": "аa",
    "cjk": "制作炸弹",
    "rtl override": "\u202eabc",
    # The look-alike fold and the words matched in their own script (issue 18).
    "look-alikes of many scripts": "ꮲօꭇ𝗻ϲ ",
    "spaced cyrillic": "с д е л а т ь ",
    "spaced arabic": "ز ب ",
    "spaced devanagari": "न ं ग ी ",
    "stacked marks": "n\u0308\u0303\u0301",
    "hangul and thai": "폭탄เย็ด",
    "rtl cyrillic": "\u202eбомбу сделать ",
}


@pytest.fixture(scope="module")
def prompt_filter() -> PromptFilter:
    pf = PromptFilter.from_policy(load_policy("default"))
    pf.evaluate("warm up: mail a@b.org, call 555 0147, 10.0.0.1")  # load presidio once
    return pf


def _best_cpu(fn: Callable[[], object]) -> float:
    """CPU time, the best of three: the machine is shared and the bound is on the work done (the
    PII deadline is wall-clock, so contention only cuts the scan shorter)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


@pytest.fixture(scope="module")
def model_pass() -> float:
    """One pass of the semantic detector's model over its longest input (128 word pieces): a
    fixed cost per prompt, whatever the prompt holds."""
    encoder = semantic.encoder()
    return _best_cpu(lambda: encoder.encode(["word " * 400]))


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_prompt_costs_under_100_ms_beside_one_model_pass(
    prompt_filter: PromptFilter, model_pass: float, name: str
) -> None:
    piece = CRAFTED[name]
    prompt = (piece * (LIMIT // len(piece) + 1))[:LIMIT]
    best = _best_cpu(lambda: prompt_filter.evaluate(prompt))
    assert best < 0.100 + model_pass, (
        f"{name}: {best * 1000:.0f} ms of CPU ({model_pass * 1000:.0f} ms model pass)"
    )
    decision = prompt_filter.evaluate(prompt)
    assert decision.action in set(Action)


def test_a_pattern_cut_off_is_reported_not_read_as_nothing_found() -> None:
    text = "1.1.1.1." * 500
    with time_budget(0.005) as cut_off:
        find_pii(text, entities=["URL", "IP_ADDRESS", "PHONE_NUMBER"], min_score=0.4)
    assert any(name.startswith("UrlRecognizer") for name in cut_off), cut_off


def test_a_cut_off_scan_blocks_under_the_default_policy(prompt_filter: PromptFilter) -> None:
    decision = prompt_filter.evaluate(("1.1.1.1." * 500)[:LIMIT])
    (cut,) = [f for f in decision.findings if f.rule_id == "pii.not_checked"]
    assert cut.action is Action.BLOCK and decision.blocked
    assert "was not fully checked for personal data" in cut.explanation and "40 ms budget" in cut.explanation
    assert decision.redacted_prompt == f"<PROMPT_NOT_FULLY_CHECKED {LIMIT} chars>"  # nothing unscanned kept
    pii = [d for d in decision.detectors if d.detector == "pii"]
    assert [d.state for d in pii] == [CheckStatus.NOT_CHECKED]


def test_the_policy_decides_what_an_unchecked_prompt_gets(tmp_path: Path) -> None:
    path = tmp_path / "lenient.yaml"
    path.write_text("id: lenient\nextends: default\nprompt:\n  pii:\n    on_not_checked: flag\n")
    decision = PromptFilter.from_policy(load_policy(path)).evaluate(("1.1.1.1." * 500)[:LIMIT])
    assert not decision.blocked
    assert [f.action for f in decision.findings if f.rule_id == "pii.not_checked"] == [Action.FLAG]


def test_ordinary_prompts_are_checked_in_full(prompt_filter: PromptFilter) -> None:
    decision = prompt_filter.evaluate("call me on +44 20 7946 0958 or mail ann@example.org")
    assert {f.rule_id for f in decision.findings} == {"pii.PHONE_NUMBER", "pii.EMAIL_ADDRESS"}
    assert [d.state for d in decision.detectors if d.detector == "pii"] == [CheckStatus.CHECKED]


def _spin() -> None:
    while True:
        pass


def test_a_busy_machine_does_not_cut_ordinary_prompts_off(prompt_filter: PromptFilter) -> None:
    # The budget counts this thread's CPU time: processes that take the CPU away between two
    # patterns must not turn an ordinary prompt into "not fully checked" (and so blocked).
    import multiprocessing

    spinners = [multiprocessing.get_context("fork").Process(target=_spin, daemon=True) for _ in range(4)]
    for p in spinners:
        p.start()
    try:
        prompt = " ".join(f"word{i % 10}" for i in range(300))
        decisions = [prompt_filter.evaluate(f"{prompt} call 415 555 01{i:02d}") for i in range(8)]
    finally:
        for p in spinners:
            p.kill()
            p.join()
    assert not [d for d in decisions if any(f.rule_id == "pii.not_checked" for f in d.findings)]
