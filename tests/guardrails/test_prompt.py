"""PromptFilter under the bundled packs: decisions, obfuscation, rewriting, PII, odd input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallmark.errors import GuardrailError
from hallmark.guardrails import Action, CheckStatus, PromptFilter
from hallmark.guardrails._detectors import Hit, Prepared
from hallmark.guardrails._normalise import is_cjk
from hallmark.policies import Policy, load_policy


@pytest.fixture(scope="module")
def default() -> PromptFilter:
    return PromptFilter.from_policy(load_policy("default"))


# -- the cases issue 2 names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    [
        "n\u200bud3 woman",
        "a nud\u0435 w\u043eman",
        "a n\u0443de woman",  # Cyrillic u: anyascii reads "u", a reader may see "y"
        "ｎｕｄｅ woman",
        "a n.u.d.e woman",
        "N U D E woman",
        "a \u202eedun\u202c woman",
    ],
)
def test_obfuscated_blocked_term_is_still_blocked(default: PromptFilter, prompt: str) -> None:
    decision = default.evaluate(prompt)
    assert decision.action is Action.BLOCK
    finding = decision.findings[0]
    assert finding.category == "sexual"
    start, end = finding.span
    # The span points at the disguised text in the original prompt.
    assert "woman" not in prompt[start:end] and end - start >= 4


def test_email_is_redacted_and_removed(default: PromptFilter) -> None:
    decision = default.evaluate("a poster saying write to jane.doe@example.com today")
    assert decision.redacted_prompt == "a poster saying write to <EMAIL_ADDRESS> today"
    assert decision.prompt_out == "a poster saying write to <EMAIL_ADDRESS> today"
    pii = [f for f in decision.findings if f.detector == "pii"]
    assert [f.rule_id for f in pii] == ["pii.EMAIL_ADDRESS"]
    assert pii[0].matched is None and "jane" not in str(decision.to_dict())
    assert decision.action is Action.REWRITE


def test_ner_entities_are_reported_not_checked(default: PromptFilter) -> None:
    statuses = {d.detector: d for d in default.evaluate("a cat").detectors}
    assert statuses["pii"].state is CheckStatus.CHECKED
    assert statuses["pii.ner"].state is CheckStatus.NOT_CHECKED
    assert "PERSON" in statuses["pii.ner"].reason


def test_strict_blocks_pii(default: PromptFilter) -> None:
    strict = PromptFilter.from_policy(load_policy("strict"))
    assert strict.evaluate("call me on 212-555-0147").action is Action.BLOCK


# -- the obfuscation suite (issue 3): every blocked term, >= 8 disguises each -----------------

_CYRILLIC = str.maketrans("aceopxyisjABCEHKMOPTX", "асеорхуіѕјАВСЕНКМОРТХ")
_FULL = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}
_LEET = str.maketrans("aeiost", "431057")


def _disguises(term: str) -> list[str]:
    if any(is_cjk(c) for c in term):
        chars = list(term)
        out = [
            "\u200b".join(chars),
            " ".join(chars),
            ".".join(chars),
            "_".join(chars),
            "\u00ad".join(chars),
            "\u3000".join(chars),
            "\u2060".join(chars),
            "-".join(chars),
            "\u202e" + term[::-1] + "\u202c",
        ]
    else:
        letters = [c for c in term if not c.isspace()]
        out = [
            term.translate(_CYRILLIC),
            "\u200b".join(term),
            "".join(_FULL.get(c, c) for c in term),
            term.translate(_LEET),
            " ".join(letters),
            ".".join(letters),
            "".join(c.upper() if i % 2 else c for i, c in enumerate(term)),
            "\u202e" + term[::-1] + "\u202c",
            "-".join(letters),
            "".join(c + "\u0336" for c in term),
            "\u00ad".join(term),
            "\u2060".join(term),
        ]
    return [d for d in dict.fromkeys(out) if d != term]


def _blocked_terms() -> list[tuple[str, str]]:
    policy = load_policy("default")
    out = []
    for name, cat in policy.prompt.categories.items():
        for detector in cat.detectors:
            if detector.type == "terms" and cat.actions.for_severity(detector.severity) == "block":
                out.extend((name, term) for term in detector.terms)
    return out


BLOCKED = _blocked_terms()


def test_the_suite_covers_every_blocking_category() -> None:
    cats = {c for c, _ in BLOCKED}
    assert {"sexual_minors", "sexual", "violence", "self_harm", "hate", "weapons", "illegal_activity"} <= cats
    assert len(BLOCKED) > 500


@pytest.mark.parametrize("category", sorted({c for c, _ in BLOCKED}))
def test_every_disguise_of_every_blocked_term_is_blocked(default: PromptFilter, category: str) -> None:
    missed = []
    for cat, term in BLOCKED:
        if cat != category:
            continue
        disguises = _disguises(term)
        assert len(disguises) >= 8, term
        for disguise in [term, *disguises]:
            decision = default.evaluate(f"a picture of {disguise} please")
            if decision.action is not Action.BLOCK:
                missed.append(disguise)
    assert not missed, f"{len(missed)} disguises got through, e.g. {missed[:10]!r}"


# -- rewriting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a castle in the style of Greg Rutkowski, 4k", "a castle, 4k"),
        ("portrait by artgerm and wlop, dramatic light", "portrait, dramatic light"),
        ("greg rutkowski-style dragon", "dragon"),
        ("Makoto Shinkai style sky over a town", "sky over a town"),
        ("a koi, art by James Jean", "a koi"),
    ],
)
def test_artist_names_are_removed_with_the_invoking_phrase(
    default: PromptFilter, prompt: str, expected: str
) -> None:
    decision = default.evaluate(prompt)
    assert decision.action is Action.REWRITE
    assert decision.prompt_out == expected
    assert all(f.category == "intellectual_property" for f in decision.findings)


def test_characters_are_recorded_but_allowed_by_default(default: PromptFilter) -> None:
    decision = default.evaluate("pikachu eating ramen")
    assert decision.action is Action.ALLOW
    assert decision.findings[0].rule_id == "intellectual_property.characters"
    assert decision.prompt_out == "pikachu eating ramen"


def test_allowlist_neutralises_near_misses(default: PromptFilter) -> None:
    for prompt in (
        "nude lipstick palette",
        "stars seen with the naked eye",
        "suicide prevention poster",
        "a trump card",
    ):
        assert default.evaluate(prompt).action is Action.ALLOW, prompt
    assert default.evaluate("nude lipstick on a nude model").action is Action.BLOCK


def test_findings_explain_themselves(default: PromptFilter) -> None:
    decision = default.evaluate("a p1pe b0mb on a table")
    f = decision.findings[0]
    assert (f.rule_id, f.category, f.detector, f.severity) == (
        "weapons.mass_harm",
        "weapons",
        "terms",
        "high",
    )
    assert f.matched == "p1pe b0mb" and "leet" in f.explanation
    assert decision.policy_id == "default" and len(decision.policy_digest) == 64


# -- negative prompt and length ---------------------------------------------------------------


def test_safety_negative_prompt_goes_first(default: PromptFilter) -> None:
    decision = default.evaluate("a cat", negative_prompt="blurry")
    assert decision.negative_prompt_out == "nsfw, nudity, sexual content, gore, graphic violence, blurry"
    assert default.evaluate("a cat").negative_prompt_out.startswith("nsfw")


def test_long_prompt_is_cut_before_the_generator(default: PromptFilter) -> None:
    prompt = " ".join(f"word{i % 10}" for i in range(300)) + " secret-tail"
    decision = default.evaluate(prompt)
    assert "secret-tail" not in decision.prompt_out
    assert len(decision.prompt_out.split()) <= 75
    assert decision.findings[-1].rule_id == "length.max_tokens"
    assert decision.action is Action.REWRITE
    assert decision.redacted_prompt == prompt  # the audit copy is whole (and redacted)


def test_odd_inputs_get_decisions(default: PromptFilter) -> None:
    assert default.evaluate("").action is Action.ALLOW
    huge = default.evaluate("a" * 1_000_000)
    assert huge.action is Action.BLOCK and huge.findings[0].rule_id == "length.max_chars"
    assert "aaaa" not in huge.redacted_prompt
    garbage = bytes(range(256)).decode("utf-8", errors="surrogateescape")
    decision = default.evaluate(garbage * 4)
    assert decision.action in set(Action)
    decision.to_dict()  # serialisable: lone surrogates were replaced
    with pytest.raises(GuardrailError, match="a prompt must be text, not bytes"):
        default.evaluate(b"a cat")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gets_a_decision(prompt: str) -> None:
    decision = PromptFilter.from_policy(load_policy("default")).evaluate(prompt)
    for f in decision.findings:
        if f.span:
            assert 0 <= f.span[0] <= f.span[1] <= len(prompt)


# -- construction, caching, failures ----------------------------------------------------------


def test_filter_is_cached_per_policy_digest() -> None:
    policy = load_policy("default")
    assert PromptFilter.from_policy(policy) is PromptFilter.from_policy(load_policy("default"))


def test_disabled_prompt_policy_is_recorded() -> None:
    policy = Policy.model_validate({"id": "off", "prompt": {"enabled": False}})
    decision = PromptFilter.from_policy(policy).evaluate("n u d e")
    assert decision.state is CheckStatus.NOT_CHECKED and decision.action is Action.ALLOW


def test_disabling_the_stage_never_disables_sexual_minors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pack = tmp_path / "off.yaml"
    pack.write_text("id: stage-off\nextends: default\nprompt:\n  enabled: false\n")
    f = PromptFilter.from_policy(load_policy(pack))
    assert f.evaluate("a naked woman").action is Action.ALLOW
    decision = f.evaluate("l0li hentai")
    assert decision.action is Action.BLOCK and decision.state is CheckStatus.NOT_CHECKED
    assert {x.category for x in decision.findings} == {"sexual_minors"}


def test_pii_is_removed_from_the_negative_prompt(default: PromptFilter) -> None:
    decision = default.evaluate("a cat", negative_prompt="bob@example.org")
    assert decision.negative_prompt_out is not None and "bob@" not in decision.negative_prompt_out
    assert decision.negative_prompt_out.endswith("<EMAIL_ADDRESS>")


class _Broken:
    name = "broken"

    def analyze(self, prepared: Prepared) -> list[Hit]:
        raise RuntimeError("bug")

    def status(self):  # type: ignore[no-untyped-def]
        from hallmark.guardrails import DetectorStatus

        return DetectorStatus("broken", CheckStatus.CHECKED)


def test_a_failing_detector_fails_closed() -> None:
    f = PromptFilter(load_policy("default"), [_Broken()])
    with pytest.raises(GuardrailError, match="detector broken failed"):
        f.evaluate("a cat")


def test_disguised_pii_is_still_redacted(default: PromptFilter) -> None:
    zero_width = "write " + "\u200b".join("jane.doe@example.com") + " here"
    decision = default.evaluate(zero_width)
    assert decision.redacted_prompt == "write <EMAIL_ADDRESS> here"
    full_width = "card ４１１１ １１１１ １１１１ １１１１ on a table"
    assert default.evaluate(full_width).redacted_prompt == "card <CREDIT_CARD> on a table"


def test_redacted_decision_repeats_no_prompt_words(default: PromptFilter) -> None:
    decision = default.evaluate("a teenage girl naked on a bed")
    assert decision.action is Action.BLOCK
    text = str({k: v for k, v in decision.to_dict().items() if k != "redacted_prompt"})
    assert "teenage" not in text and "naked" not in text
