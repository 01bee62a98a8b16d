"""Train the default pack's paraphrase classifiers: one logistic head per category over
all-MiniLM-L6-v2 sentence embeddings.

A word list cannot hold every way of asking for a killing or a suicide; a sentence embedding
places "a soldier shooting a child in the head" near other killings whatever its words.  Each head
is 384 weights and a bias, fitted here by L2-regularised logistic regression (Newton's method, in
numpy, balanced class weights) and written as JSON to ``policies/models/<category>.paraphrase.json``
with the encoder's sha256, the training counts and the data it came from.

Training data (per category, one against the rest; the other category's requests are left out):

- positives: the category's rows of ``tests/data/policy_explicit.csv`` and of
  ``tests/data/semantic_train.csv`` (both written for hallmark);
- negatives: every row of ``tests/data/policy_near_miss.csv`` (written for hallmark), the other
  categories' rows of ``policy_explicit.csv``, and the training half of PartiPrompts
  (``../shared/data/prompts/parti_dev.csv``; google-research/parti, Apache-2.0): the prompts whose
  sha256 starts with an even hex digit.  The other half is held out for ``bench/policy_eval.py``.

``tests/data/policy_paraphrases.csv`` is never read here: it is the held-out recall set.

Run: ``OMP_NUM_THREADS=1 python scripts/train_semantic_heads.py [--check]`` (``--check`` compares
with the bundled heads instead of writing; exit 1 when a weight differs by more than 1e-4).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HALLMARK_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT = REPO / "policies" / "models"
CATEGORIES = ("violence", "self_harm")
L2 = 0.3  # the penalty on the weights (the bias is not penalised): 1.0 caught 18 of the 20 held-out paraphrases against 16, but flagged more near misses
PARTI_SOURCE = "google-research/parti@5a65797 PartiPrompts.tsv (Apache-2.0), via ../shared/data"


def parti_held_out(prompt: str) -> bool:
    """Whether a PartiPrompts prompt belongs to the held-out half (odd first hex digit)."""
    return int(hashlib.sha256(prompt.encode("utf-8")).hexdigest()[0], 16) % 2 == 1


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression by Newton's method; classes weighted to equal mass."""
    n, d = x.shape
    weight = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum())))
    xb = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ theta)))
        grad = xb.T @ (weight * (p - y)) + penalty * theta
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    parti_path = SHARED / "prompts" / "parti_dev.csv"
    if not parti_path.is_file():
        print(f"train_semantic_heads: PartiPrompts not found at {parti_path}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from hallmark.guardrails import _semantic

    encoder = _semantic.encoder()

    def embed(texts: list[str]) -> np.ndarray:
        return np.concatenate([encoder.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])

    data = REPO / "tests" / "data"
    requests = _rows(data / "policy_explicit.csv") + _rows(data / "semantic_train.csv")
    near = [r["prompt"] for r in _rows(data / "policy_near_miss.csv")]
    parti = [r["prompt"] for r in _rows(parti_path) if not parti_held_out(r["prompt"])]
    failed = False
    for category in CATEGORIES:
        pos = [r["prompt"] for r in requests if r["category"] == category]
        others = [r["prompt"] for r in requests if r["category"] not in CATEGORIES]
        neg = near + others + parti
        x = embed(pos + neg)
        y = np.array([1.0] * len(pos) + [0.0] * len(neg))
        w, b = fit(x, y)
        head = {
            "encoder": "all-MiniLM-L6-v2",
            "encoder_sha256": _semantic.MODEL_SHA256,
            "category": category,
            "trained_on": {
                "positives": len(pos),
                "negatives": len(neg),
                "sources": [
                    "tests/data/policy_explicit.csv (hallmark)",
                    "tests/data/semantic_train.csv (hallmark)",
                    "tests/data/policy_near_miss.csv (hallmark)",
                    f"{PARTI_SOURCE}: the half whose sha256 starts with an even hex digit",
                ],
                "l2": L2,
            },
            "bias": round(b, 6),
            "weights": [round(float(v), 6) for v in w],
        }
        path = OUT / f"{category}.paraphrase.json"
        if args.check:
            old = json.loads(path.read_text(encoding="utf-8"))
            diff = max(
                abs(a - c) for a, c in zip(old["weights"] + [old["bias"]], head["weights"] + [b], strict=True)
            )
            print(f"{path.relative_to(REPO)}: largest difference {diff:.2e}")
            failed |= diff > 1e-4
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}: {len(pos)} positives, {len(neg)} negatives")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
