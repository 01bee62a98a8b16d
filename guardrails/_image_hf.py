"""Backends over transformers models: CLIP zero-shot concepts and image-classification models.

Both load with ``from_pretrained`` from a local folder or a hub id, as a real model would; a
model that is not there fails when the backend is built (at start-up), naming the folder it
looked in or the hub cache it searched.  They score categories, not labels: each returns, per
image, one score per covered category (named after it) and one per concept or label
(``"violence:a photo of gore"``), so that a finding can say what matched.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.errors import GuardrailError

if TYPE_CHECKING:
    from hallmark.policies import ImageBackend

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")


def _quiet() -> None:
    import os

    # transformers falls back to its PIL image processors without torchvision and says so on
    # every load; hallmark prints its own output (and --json must stay clean).
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def locate_model(model: str, *, kind: str) -> tuple[str, bool]:
    """``(where, local)`` for a policy's ``model:``: an existing folder, or a hub id.

    A path that does not exist fails here with the absolute path looked in; so does a folder
    without ``config.json`` (weights saved somewhere else)."""
    path = Path(model).expanduser()
    looks_like_path = path.is_absolute() or model.startswith((".", "~")) or path.exists()
    if looks_like_path or not _HUB_ID.match(model):
        folder = path.resolve()
        if not folder.is_dir():
            raise GuardrailError(
                f"{kind} model not found: looked in {folder}",
                hint="point the backend's `model:` at a folder saved with save_pretrained(), or at a hub id",
            )
        if not (folder / "config.json").is_file():
            raise GuardrailError(
                f"{kind} model in {folder} has no config.json",
                hint="save the model and its processor there with save_pretrained()",
            )
        return str(folder), True
    return model, False


def _load(loader: Any, where: str, *, local: bool, kind: str) -> Any:
    """``loader.from_pretrained(where)``, its failures as one ``GuardrailError`` naming where."""
    try:
        return loader.from_pretrained(where, local_files_only=local)
    except Exception as e:  # OSError (missing files, offline), ValueError (bad config), ...
        if local:
            raise GuardrailError(
                f"{kind} model in {where} could not be loaded ({e.__class__.__name__})",
                hint="the folder needs the model and its processor, saved with save_pretrained()",
            ) from e
        from huggingface_hub.constants import HF_HUB_CACHE

        raise GuardrailError(
            f"{kind} model {where!r} is neither in the hub cache ({HF_HUB_CACHE}) nor downloadable "
            f"({e.__class__.__name__})",
            hint=f"download it where there is network (`hf download {where}`) or give a local folder",
        ) from e


def _rgb(images: Sequence[Any]) -> list[Any]:
    return [image.convert("RGB") for image in images]


class ClipZeroShotClassifier:
    """CLIP scored against the policy's concept prompts.  For each category the image is
    compared with that category's concepts and the backend's neutral ``baseline`` prompts; the
    category's score is the softmax probability that falls on its concepts (CLIP's own zero-shot
    rule, applied per category so that two harms in one image do not dilute each other)."""

    name = "clip-zero-shot"

    @classmethod
    def from_spec(cls, spec: ImageBackend) -> ClipZeroShotClassifier:
        """The backend for a policy entry: its model, its concepts per category, its baseline."""
        concepts = {str(category): tuple(cover.concepts) for category, cover in spec.covers.items()}
        return cls(str(spec.model), concepts=concepts, baseline=tuple(spec.baseline))

    def __init__(
        self, model: str, *, concepts: dict[str, tuple[str, ...]], baseline: tuple[str, ...]
    ) -> None:
        if not baseline or not all(concepts.values()):
            raise GuardrailError("a clip-zero-shot backend needs concepts for every category and a baseline")
        _quiet()
        import torch
        from transformers import CLIPModel, CLIPProcessor

        where, local = locate_model(model, kind="CLIP")
        self._model = _load(CLIPModel, where, local=local, kind="CLIP").eval()
        self._processor = _load(CLIPProcessor, where, local=local, kind="CLIP")
        self._concepts = concepts
        prompts = [p for ps in concepts.values() for p in ps] + list(baseline)
        text = self._processor(text=prompts, return_tensors="pt", padding=True, truncation=True)
        with torch.inference_mode():
            out = self._model.text_model(input_ids=text["input_ids"], attention_mask=text["attention_mask"])
            features = self._model.text_projection(out.pooler_output)
            self._text = features / features.norm(dim=-1, keepdim=True)
            self._scale = float(self._model.logit_scale.exp())
        # Row indices of each category's concepts, then the baseline's, in ``self._text``.
        self._rows: dict[str, list[int]] = {}
        start = 0
        for category, ps in concepts.items():
            self._rows[category] = list(range(start, start + len(ps)))
            start += len(ps)
        self._baseline = list(range(start, len(prompts)))
        self._lock = threading.Lock()

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import torch

        pixels = self._processor(images=_rgb(images), return_tensors="pt")["pixel_values"]
        with self._lock, torch.inference_mode():
            out = self._model.vision_model(pixel_values=pixels)
            features = self._model.visual_projection(out.pooler_output)
            features = features / features.norm(dim=-1, keepdim=True)
            logits = self._scale * features @ self._text.T
        results = []
        for row in logits:
            scores: dict[str, float] = {}
            for category, rows in self._rows.items():
                probs = torch.softmax(row[rows + self._baseline], dim=0)[: len(rows)]
                scores[category] = float(probs.sum())
                for concept, p in zip(self._concepts[category], probs.tolist(), strict=True):
                    scores[f"{category}:{concept}"] = float(p)
            results.append(scores)
        return results


class HfImageClassifier:
    """Any transformers image-classification model; the policy maps its labels to categories.
    A category's score is the probability of its labels: their sum under softmax (one label per
    image), the highest under sigmoid (models configured ``multi_label_classification``)."""

    name = "hf-image-classifier"

    @classmethod
    def from_spec(cls, spec: ImageBackend) -> HfImageClassifier:
        """The backend for a policy entry: its model and the labels that mean each category."""
        labels = {str(category): tuple(cover.labels) for category, cover in spec.covers.items()}
        return cls(str(spec.model), labels=labels)

    def __init__(self, model: str, *, labels: dict[str, tuple[str, ...]]) -> None:
        _quiet()
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        where, local = locate_model(model, kind="image-classification")
        self._model = _load(
            AutoModelForImageClassification, where, local=local, kind="image-classification"
        ).eval()
        self._processor = _load(AutoImageProcessor, where, local=local, kind="image-classification")
        id2label = {int(i): str(label) for i, label in self._model.config.id2label.items()}
        index = {label: i for i, label in id2label.items()}
        unknown = sorted({label for ls in labels.values() for label in ls} - set(index))
        if unknown:
            raise GuardrailError(
                f"the model in {where} has no label {', '.join(map(repr, unknown))}; "
                f"its labels: {', '.join(id2label[i] for i in sorted(id2label))}",
                hint="map the model's own label names to categories in the policy",
            )
        self._labels = {category: [(label, index[label]) for label in ls] for category, ls in labels.items()}
        self._multi_label = self._model.config.problem_type == "multi_label_classification"
        self._lock = threading.Lock()

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import torch

        pixels = self._processor(images=_rgb(images), return_tensors="pt")["pixel_values"]
        with self._lock, torch.inference_mode():
            logits = self._model(pixel_values=pixels).logits
        probs = torch.sigmoid(logits) if self._multi_label else torch.softmax(logits, dim=-1)
        results = []
        for row in probs.tolist():
            scores: dict[str, float] = {}
            for category, pairs in self._labels.items():
                values = [row[i] for _, i in pairs]
                scores[category] = max(values) if self._multi_label else min(1.0, sum(values))
                for label, i in pairs:
                    scores[f"{category}:{label}"] = float(row[i])
            results.append(scores)
        return results
