"""The prompt and image policy schema: categories, detectors, the sexual_minors guarantee."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hallmark.policies import CATEGORIES, ImagePolicy, Policy, PromptPolicy

MINORS = {"detectors": [{"type": "terms", "id": "t", "terms": ["loli"]}]}


def _policy(categories: dict[str, object], **prompt: object) -> Policy:
    return Policy.model_validate({"id": "t", "prompt": {"categories": categories, **prompt}})


def test_minors_default_to_block_at_every_severity() -> None:
    p = _policy({"sexual_minors": MINORS})
    actions = p.prompt.categories["sexual_minors"].actions
    assert (actions.low, actions.medium, actions.high) == ("block", "block", "block")


@pytest.mark.parametrize(
    "override",
    [
        {"actions": {"low": "flag"}},
        {"actions": {"high": "allow"}},
        {"enabled": False},
    ],
)
def test_minors_cannot_be_weakened(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="cannot weaken"):
        _policy({"sexual_minors": {**MINORS, **override}})


def test_minors_need_a_detector_and_must_be_present() -> None:
    with pytest.raises(ValidationError, match="needs at least one detector"):
        _policy({"sexual_minors": {}})
    with pytest.raises(ValidationError, match="sexual_minors is required"):
        _policy({"sexual": {"detectors": [{"type": "terms", "id": "x", "terms": ["nude"]}]}})


def test_empty_prompt_policy_is_valid() -> None:
    assert PromptPolicy().categories == {}


def test_unknown_category_lists_known_ones() -> None:
    with pytest.raises(ValidationError, match="sexual_minors"):
        _policy({"sexual_minors": MINORS, "astrology": {}})
    assert "public_figures" in CATEGORIES


def test_unknown_detector_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        _policy({"sexual_minors": {"detectors": [{"type": "vibes", "id": "x"}]}})


def test_bad_regex_is_refused() -> None:
    bad = {"detectors": [*MINORS["detectors"], {"type": "regex", "id": "r", "patterns": ["(unclosed"]}]}
    with pytest.raises(ValidationError, match="regex does not compile"):
        _policy({"sexual_minors": bad})


def test_blank_term_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty term"):
        _policy({"sexual_minors": {"detectors": [{"type": "terms", "id": "t", "terms": ["  "]}]}})


def test_unknown_pii_entity_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown PII entity SHOE_SIZE"):
        Policy.model_validate({"id": "t", "prompt": {"pii": {"entities": {"SHOE_SIZE": "block"}}}})


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"flag": 0.9, "block": 0.5}, "must rise"),
        ({"flag": 0.4}, "block threshold is required"),
        ({"block": 1.5}, r"must be in \(0, 1\]"),
    ],
)
def test_image_thresholds_are_checked(thresholds: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ImagePolicy(thresholds=thresholds)
