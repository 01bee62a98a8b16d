"""all-MiniLM-L6-v2's forward pass in numpy: the sentence embedding without importing torch.

The semantic detector runs on every prompt, including ``hallmark check`` from a shell, where
importing torch and transformers would cost seconds before the first word is read.  The model is
a six-layer BERT (hidden size 384, 12 heads, GELU, post-layer-norm); this module runs exactly that
computation on the released weights (read with ``safetensors`` as numpy arrays) and the released
``tokenizer.json`` (read with ``tokenizers``), then mean-pools over the real tokens and normalises,
as sentence-transformers configures this model.  ``tests/guardrails/test_semantic.py`` checks
the result against transformers' ``BertModel`` on the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.special import erf

MAX_PIECES = 128


class NumpyMiniLM:
    """Mean-pooled, L2-normalised sentence embeddings of a BERT checkpoint, in float32."""

    def __init__(self, model_dir: Path, *, max_pieces: int = MAX_PIECES) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{model_dir} is not a BERT model with GELU activations")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.w = {k: v.astype(np.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        # Dense layers multiply by the transpose: keep it contiguous once rather than per call,
        # with each layer's query, key and value weights side by side (one product, not three).
        for name in [k for k in self.w if k.endswith("dense.weight")]:
            self.w[name] = np.ascontiguousarray(self.w[name].T)
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self"
            parts = [f"{p}.{m}" for m in ("query", "key", "value")]
            self.w[f"{p}.qkv.weight"] = np.ascontiguousarray(
                np.concatenate([self.w[f"{n}.weight"] for n in parts]).T
            )
            self.w[f"{p}.qkv.bias"] = np.concatenate([self.w[f"{n}.bias"] for n in parts])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_pieces)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        # As one 2-D product: numpy sends that to BLAS, a stacked (n, t, d) product it may not.
        w = self.w[f"{name}.weight"]
        return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[1]) + self.w[f"{name}.bias"]

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit vector (384 floats) per text."""
        batch = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        types = np.array([e.type_ids for e in batch], dtype=np.int64)
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(ids.shape[1])]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        n, t, d = x.shape
        head = d // self.heads
        # Padding positions get a large negative score, as BERT's extended attention mask does.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(y: np.ndarray) -> np.ndarray:
                return y.reshape(n, t, self.heads, head).transpose(0, 2, 1, 3)

            q, k, v = (split(y) for y in np.split(self._dense(x, f"{p}.attention.self.qkv"), 3, axis=-1))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
            x = self._norm(
                self._dense(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm"
            )
            h = self._dense(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            x = self._norm(self._dense(h, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(
            np.float32
        )
