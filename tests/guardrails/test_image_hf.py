"""The transformers backends (clip-zero-shot, hf-image-classifier) on tiny random-weight models
built and saved locally: real ``from_pretrained`` loading, scores checked against the models'
own forward pass, the policy's thresholds, and models that are not there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from hallmark.errors import GuardrailError
from hallmark.guardrails import Action, CheckStatus, ImageSafety
from hallmark.guardrails._image_hf import ClipZeroShotClassifier, HfImageClassifier, locate_model
from hallmark.policies import Policy

VIOLENCE = ("a photo of graphic violence", "blood and gore")
MINOR = ("a photo of a child",)
BASELINE = ("a photo", "an ordinary everyday scene")


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    noise = Image.fromarray(rng.integers(0, 256, size=(96, 128, 3), dtype=np.uint8))
    return [Image.new("RGB", (64, 64), (200, 10, 10)), noise, Image.new("L", (80, 80), 30)]


def _clip_policy(model: Path | str, thresholds: dict[str, float]) -> Policy:
    return Policy.model_validate(
        {
            "id": "clip",
            "image": {
                "classifier": None,
                "backends": [
                    {
                        "id": "clip",
                        "type": "clip-zero-shot",
                        "model": str(model),
                        "baseline": list(BASELINE),
                        "covers": {
                            "violence": {"concepts": list(VIOLENCE), "thresholds": thresholds},
                            "depicts_minor": {"concepts": list(MINOR), "thresholds": {"flag": 0.99}},
                        },
                    }
                ],
            },
        }
    )


def _reference_clip(folder: Path, images: list[Image.Image], concepts: tuple[str, ...]) -> list[float]:
    """P(concepts) against the baseline, from CLIPModel's own forward pass (logits_per_image)."""
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(folder, local_files_only=True).eval()
    processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
    inputs = processor(
        text=[*concepts, *BASELINE],
        images=[i.convert("RGB") for i in images],
        return_tensors="pt",
        padding=True,
    )
    with torch.no_grad():
        logits = model(**inputs).logits_per_image
    return torch.softmax(logits, dim=-1)[:, : len(concepts)].sum(dim=-1).tolist()


def test_clip_scores_are_clips_own_zero_shot_probabilities(tiny_clip: Path) -> None:
    images = _images()
    clip = ClipZeroShotClassifier(str(tiny_clip), concepts={"violence": VIOLENCE}, baseline=BASELINE)
    ours = clip.score(images)
    expected = _reference_clip(tiny_clip, images, VIOLENCE)
    assert [s["violence"] for s in ours] == pytest.approx(expected, abs=1e-5)
    for s in ours:  # each concept's share is kept, and they add up to the category's score
        parts = [s[f"violence:{c}"] for c in VIOLENCE]
        assert sum(parts) == pytest.approx(s["violence"], abs=1e-6)
    # A different image scores differently: the model looks at the pixels.
    assert len({round(s["violence"], 6) for s in ours}) == len(images)


def test_a_clip_policy_blocks_an_image_by_a_violence_concept(tiny_clip: Path) -> None:
    images = _images()
    low, high = sorted(_reference_clip(tiny_clip, images[:2], VIOLENCE))
    threshold = round((low + high) / 2, 6)
    safety = ImageSafety.from_policy(_clip_policy(tiny_clip, {"flag": threshold / 2, "block": threshold}))
    verdicts = safety.classify_batch(images[:2])
    by_score = sorted(verdicts, key=lambda v: v.scores["violence"])
    allowed_or_flagged, blocked = by_score
    assert blocked.action is Action.BLOCK and allowed_or_flagged.action < Action.BLOCK
    (finding,) = [f for f in blocked.findings if f.action is Action.BLOCK]
    assert (finding.rule_id, finding.category, finding.detector) == (
        "image.clip.violence.block",
        "violence",
        "clip",
    )
    assert finding.score == pytest.approx(high, abs=1e-5)
    assert f"reached the block threshold {threshold}" in finding.explanation
    assert "closest: 'a photo of graphic violence'" in finding.explanation or "closest: 'blood and gore'" in (
        finding.explanation
    )
    # What this policy does not cover is said, in the verdict and its JSON.
    for v in verdicts:
        assert v.categories["violence"] is CheckStatus.CHECKED
        assert v.categories["depicts_minor"] is CheckStatus.CHECKED
        assert {"sexual", "weapons", "hate", "self_harm", "sexual_minors"} <= set(v.not_checked)
        assert v.to_dict()["categories"]["sexual"] == "not_checked"


def test_hf_classifier_maps_labels_to_categories(tiny_vit: Path) -> None:
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    images = _images()
    vit = HfImageClassifier(
        str(tiny_vit), labels={"violence": ("violent",), "weapons": ("weapon",), "depicts_minor": ("child",)}
    )
    ours = vit.score(images)
    model = AutoModelForImageClassification.from_pretrained(tiny_vit, local_files_only=True).eval()
    processor = AutoImageProcessor.from_pretrained(tiny_vit, local_files_only=True)
    with torch.no_grad():
        logits = model(**processor(images=[i.convert("RGB") for i in images], return_tensors="pt")).logits
    probs = torch.softmax(logits, dim=-1)
    for s, p in zip(ours, probs.tolist(), strict=True):
        assert s["violence"] == pytest.approx(p[1], abs=1e-6) and s["weapons"] == pytest.approx(
            p[2], abs=1e-6
        )
        assert s["depicts_minor"] == pytest.approx(p[3], abs=1e-6) and s["violence:violent"] == s["violence"]
    two = HfImageClassifier(str(tiny_vit), labels={"violence": ("violent", "weapon")}).score(images[:1])
    assert two[0]["violence"] == pytest.approx(float(probs[0, 1] + probs[0, 2]), abs=1e-6)


def test_hf_multi_label_models_score_with_sigmoid(tmp_path: Path, tiny_image_models: Any) -> None:
    folder = tiny_image_models.build_tiny_vit(tmp_path / "multi", ("gore", "knife"), multi_label=True)
    scores = HfImageClassifier(str(folder), labels={"violence": ("gore", "knife")}).score(_images()[:1])[0]
    assert scores["violence"] == max(scores["violence:gore"], scores["violence:knife"])
    assert 0.0 < scores["violence:gore"] < 1.0


def test_an_unknown_label_lists_the_models_labels(tiny_vit: Path) -> None:
    with pytest.raises(GuardrailError, match="has no label 'gore'; its labels: safe, violent, weapon, child"):
        HfImageClassifier(str(tiny_vit), labels={"violence": ("gore",)})


def test_a_missing_model_folder_names_the_path_it_looked_in(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "clip"
    policy = _clip_policy(missing, {"block": 0.5})
    safety = ImageSafety.from_policy(policy)  # names are checked now, models load at start-up
    with pytest.raises(GuardrailError, match=f"CLIP model not found: looked in {missing}") as caught:
        safety.load()
    assert "save_pretrained" in caught.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(GuardrailError, match=r"image-classification model in .*empty has no config\.json"):
        HfImageClassifier(str(tmp_path / "empty"), labels={"violence": ("x",)})


def test_a_hub_id_not_in_the_cache_names_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert locate_model("openai/clip-vit-base-patch32", kind="CLIP") == (
        "openai/clip-vit-base-patch32",
        False,
    )
    with pytest.raises(GuardrailError, match=r"'hallmark-test/no-such-clip' is neither in the hub cache \(/"):
        ClipZeroShotClassifier(
            "hallmark-test/no-such-clip", concepts={"violence": VIOLENCE}, baseline=BASELINE
        )


def test_a_folder_with_broken_weights_fails_naming_it(tiny_clip: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_clip, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(GuardrailError, match=f"CLIP model in {broken} could not be loaded"):
        ClipZeroShotClassifier(str(broken), concepts={"violence": VIOLENCE}, baseline=BASELINE)


def test_the_schema_refuses_incomplete_backends() -> None:
    from pydantic import ValidationError

    def backend(**kwargs: object) -> dict:
        return {"id": "b", **kwargs}

    cases = [
        (
            backend(
                type="clip-zero-shot", covers={"violence": {"thresholds": {"block": 0.5}, "concepts": ["x"]}}
            ),
            "needs `model:`",
        ),
        (
            backend(type="clip-zero-shot", model="m", covers={"violence": {"thresholds": {"block": 0.5}}}),
            "needs `concepts:` for violence",
        ),
        (
            backend(type="hf-image-classifier", model="m", covers={"weapons": {"thresholds": {"flag": 0.5}}}),
            "needs `labels:` for weapons",
        ),
        (
            backend(type="opennsfw", covers={"sexual_minors": {"thresholds": {"block": 0.5}}}),
            "decided from `sexual` and `depicts_minor`",
        ),
        (
            backend(type="opennsfw", covers={"sexual": {"thresholds": {"flag": 0.9, "block": 0.5}}}),
            "thresholds must rise",
        ),
        (backend(type="opennsfw", covers={}), "at least 1 item"),
        (
            backend(
                type="clip-zero-shot",
                model="m",
                baseline=[],
                covers={"violence": {"thresholds": {"block": 0.5}, "concepts": ["x"]}},
            ),
            "needs at least one `baseline` prompt",
        ),
    ]
    for spec, message in cases:
        with pytest.raises(ValidationError, match=message):
            Policy.model_validate({"id": "x", "image": {"classifier": None, "backends": [spec]}})
    twice = {"id": "opennsfw", "type": "opennsfw", "covers": {"sexual": {"thresholds": {"block": 0.5}}}}
    with pytest.raises(ValidationError, match="image backend id opennsfw is used twice"):
        Policy.model_validate({"id": "x", "image": {"backends": [twice]}})
    with pytest.raises(ValidationError, match="names no backend"):
        Policy.model_validate({"id": "x", "image": {"classifier": None}})


def test_a_clip_backend_without_concepts_or_baseline_is_refused(tiny_clip: Path) -> None:
    with pytest.raises(GuardrailError, match="needs concepts for every category and a baseline"):
        ClipZeroShotClassifier(str(tiny_clip), concepts={"violence": VIOLENCE}, baseline=())
    with pytest.raises(GuardrailError, match="needs concepts for every category and a baseline"):
        ClipZeroShotClassifier(str(tiny_clip), concepts={"violence": ()}, baseline=BASELINE)
