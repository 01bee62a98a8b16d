"""What each image safety backend costs per image, beside open_nsfw, and what combining them costs.

For 512 and 1024 px natural images (scikit-image's sample photos) this times, in one run and one
thread, ``score`` of each backend on one image at a time (the pipeline classifies image by image):

* ``opennsfw`` (the default, the baseline every ratio is taken against);
* ``nudenet`` when its extra is installed;
* ``clip-zero-shot`` with a CLIP at ViT-B/32's size and ``hf-image-classifier`` with a ViT at
  ViT-B/16's size (the size of the common ViT safety classifiers).  No weights can be downloaded
  here, so both are random-weight models of those sizes, built and saved locally and loaded through
  the backends' own ``from_pretrained`` path: the compute is a real model's, the scores are not.
  ``--clip FOLDER`` / ``--vit FOLDER`` time real models instead.

Then the combiner's overhead: ``ImageSafety.classify`` of one policy with opennsfw plus a tiny
CLIP and a tiny ViT (the tests' random-weight models: their own compute is small, so what is left
is the combiner's), against the sum of the three backends' ``score`` timed in the same loop.

    python bench/image_safety.py            # a few minutes on 2 cores (builds ~1 GB of models in /tmp)
    python bench/image_safety.py --quick    # fewer repetitions
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONCEPTS = {
    "violence": ["a photo of graphic violence", "blood and gore", "a person being shot"],
    "weapons": ["a photo of a gun", "a knife held as a weapon"],
    "hate": ["a hate symbol", "a swastika"],
    "self_harm": ["a photo of self-harm", "cut wrists"],
    "depicts_minor": ["a photo of a child", "a young kid"],
    "public_figures": ["a photo of a famous politician"],
}
LABELS = ("safe", "violent", "weapon", "gore", "child")


def _models_module() -> Any:
    """tests/guardrails/tiny_image_models.py: the tests' builders of local random-weight models."""
    spec = importlib.util.spec_from_file_location(
        "tiny_image_models", REPO / "tests" / "guardrails" / "tiny_image_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def natural_images(size: int) -> list[Image.Image]:
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea()]
    return [Image.fromarray(a).convert("RGB").resize((size, size), Image.Resampling.BICUBIC) for a in sources]


def median_ms(fn: Callable[[Image.Image], Any], images: list[Image.Image], reps: int) -> float:
    fn(images[0])  # warm: first-call allocations and lazy imports are not the steady state
    times = []
    for _ in range(reps):
        for image in images:
            start = time.perf_counter()
            fn(image)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _spec(backend_id: str, kind: str, model: str, covers: dict[str, Any]) -> dict[str, Any]:
    return {"id": backend_id, "type": kind, "model": model, "covers": covers}


def clip_covers() -> dict[str, Any]:
    return {c: {"concepts": ps, "thresholds": {"flag": 0.6, "block": 0.8}} for c, ps in CONCEPTS.items()}


def vit_covers() -> dict[str, Any]:
    return {
        "violence": {"labels": ["violent", "gore"], "thresholds": {"block": 0.8}},
        "weapons": {"labels": ["weapon"], "thresholds": {"block": 0.8}},
        "depicts_minor": {"labels": ["child"], "thresholds": {"flag": 0.8}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clip", help="a local CLIP folder to time instead of the random ViT-B/32 CLIP")
    parser.add_argument(
        "--vit",
        help="a local image-classification folder (its labels must include "
        f"{', '.join(LABELS[1:])}) to time instead of the random ViT-B/16",
    )
    args = parser.parse_args()
    reps = 2 if args.quick else 6

    import torch

    torch.set_num_threads(1)
    from hallmark.guardrails import ImageSafety
    from hallmark.guardrails._image import image_classifier
    from hallmark.policies import ImageBackend, Policy

    models = _models_module()
    with tempfile.TemporaryDirectory(prefix="hallmark-bench-") as tmp:
        root = Path(tmp)
        clip_dir = args.clip or str(models.build_tiny_clip(root / "clip-b32", base_size=True))
        vit_dir = args.vit or str(models.build_tiny_vit(root / "vit-b16", LABELS, base_size=True))
        tiny_clip = str(models.build_tiny_clip(root / "tiny-clip"))
        tiny_vit = str(models.build_tiny_vit(root / "tiny-vit", LABELS))

        backends: dict[str, Any] = {"opennsfw": image_classifier("opennsfw")}
        if importlib.util.find_spec("nudenet") is not None:
            backends["nudenet"] = image_classifier("nudenet")
        clip_name = "clip-zero-shot (" + ("--clip" if args.clip else "ViT-B/32 size, random weights") + ")"
        vit_name = "hf-image-classifier (" + ("--vit" if args.vit else "ViT-B/16 size, random weights") + ")"
        backends[clip_name] = image_classifier(
            ImageBackend.model_validate(_spec("clip", "clip-zero-shot", clip_dir, clip_covers()))
        )
        backends[vit_name] = image_classifier(
            ImageBackend.model_validate(_spec("vit", "hf-image-classifier", vit_dir, vit_covers()))
        )

        print(f"# image safety backends, ms per image (one thread, median of {reps} x 3 images)\n")
        print("| backend | 512 px | 1024 px | × open_nsfw at 512 | × open_nsfw at 1024 |")
        print("|---|---|---|---|---|")
        if "nudenet" not in backends:
            print("| nudenet | not installed (`pip install 'hallmark-genai[nudenet]'`) | | | |")
        figures: dict[str, dict[int, float]] = {}
        for size in (512, 1024):
            images = natural_images(size)
            for name, backend in backends.items():
                figures.setdefault(name, {})[size] = median_ms(
                    lambda im, b=backend: b.score([im]), images, reps
                )
        base = figures["opennsfw"]
        for name, ms in figures.items():
            print(
                f"| {name} | {ms[512]:.1f} | {ms[1024]:.1f} | {ms[512] / base[512]:.2f}× | {ms[1024] / base[1024]:.2f}× |"
            )

        # The combiner: one policy with three backends, against their own scores summed.
        policy = Policy.model_validate(
            {
                "id": "bench",
                "image": {
                    "backends": [
                        _spec("clip", "clip-zero-shot", tiny_clip, clip_covers()),
                        _spec("vit", "hf-image-classifier", tiny_vit, vit_covers()),
                    ]
                },
            }
        )
        safety = ImageSafety.from_policy(policy)
        safety.load()
        parts = [image_classifier(b) for b in policy.image.resolved_backends()]
        print(
            f"\n# combiner overhead: opennsfw + tiny CLIP + tiny ViT (tests' random-weight models), "
            f"ms per image, median of {reps * 3} paired calls\n"
        )
        print("| size | ImageSafety.classify | sum of the 3 backends' score | overhead | overhead share |")
        print("|---|---|---|---|---|")
        for size in (512, 1024):
            images = natural_images(size)
            combined, summed = [], []
            safety.classify(images[0])
            for _ in range(reps):
                for image in images:
                    start = time.perf_counter()
                    safety.classify(image)
                    mid = time.perf_counter()
                    for p in parts:
                        p.score([image])
                    end = time.perf_counter()
                    combined.append((mid - start) * 1000)
                    summed.append((end - mid) * 1000)
            c, s = statistics.median(combined), statistics.median(summed)
            diffs = statistics.median([a - b for a, b in zip(combined, summed, strict=True)])
            print(f"| {size} px | {c:.2f} | {s:.2f} | {diffs:+.2f} ms | {diffs / s:+.1%} |")
        # The combiner's own work alone: the same three backends' scores, precomputed, so that
        # only the verdict (thresholds, findings, sexual_minors, coverage, merged scores) is timed.
        image = natural_images(512)[0]
        fixed = {
            b.id: _Fixed(p.name, p.score([image])[0])
            for b, p in zip(policy.image.resolved_backends(), parts, strict=True)
        }
        bookkeeping = ImageSafety(policy, classifiers=fixed)
        calls = 2000 if args.quick else 10000
        start = time.perf_counter()
        for _ in range(calls):
            bookkeeping.classify(image)
        per_call = (time.perf_counter() - start) / calls * 1e6
        print(
            f"\ncombiner bookkeeping alone (backends' scores precomputed): {per_call:.0f} µs per image ({calls} calls)"
        )
    print(f"\n{sys.executable} · torch {torch.__version__} · threads 1")


class _Fixed:
    """A backend that returns one image's scores, precomputed, for every image."""

    def __init__(self, name: str, scores: dict[str, float]) -> None:
        self.name, self._scores = name, scores

    def score(self, images: Any) -> list[dict[str, float]]:
        return [dict(self._scores) for _ in images]


if __name__ == "__main__":
    main()
