"""The offline default model: a tiny Stable Diffusion pipeline with random weights.

It is built once from a fixed seed, saved under ``HALLMARK_HOME/models/tiny-sd`` and then loaded
with ``StableDiffusionPipeline.from_pretrained(..., local_files_only=True)``, so the loading path
that a real model takes is the one exercised.  Its weights are random: it draws coloured noise.
The configuration is the smallest one that keeps diffusers' shapes honest (FACTS.md): a VAE scale
factor of 8, cross-attention width equal to the text encoder's, 77 token positions.  Edits use its
components through diffusers' ``AutoPipelineForImage2Image`` and ``AutoPipelineForInpainting``
(``from_pipe``); its 4-channel UNet inpaints by blending latents outside the mask.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

TINY_MODEL_ID = "tiny"
TINY_NOTE = "the built-in 'tiny' model has random weights and draws noise; use --model for real images"
_BUILD_SEED = 20260101
_FORMAT_VERSION = "1"


def _byte_level_vocab() -> tuple[dict[str, int], list[str]]:
    """A byte-level BPE vocabulary with no merges: every byte is a token, alone or word-final."""
    # GPT-2's reversible byte -> printable-character map, which CLIP's tokenizer also uses.
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    chars = [chr(c) for c in codes]
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, []


def _build(target: Path) -> None:
    from ._quiet import quiet_model_libraries

    quiet_model_libraries()
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(_BUILD_SEED)
    unet = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(4, 8),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=2,
        in_channels=4,
        out_channels=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(4, 4, 4, 4),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=2,
        sample_size=64,
    )
    vocab, merges = _byte_level_vocab()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = 77
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(target, safe_serialization=True)  # type: ignore[attr-defined]  # set by ConfigMixin
    (target / "hallmark-tiny.json").write_text(
        json.dumps({"format": _FORMAT_VERSION, "seed": _BUILD_SEED, "note": TINY_NOTE}), encoding="utf-8"
    )


def ensure_tiny_model(models_dir: Path) -> Path:
    """The folder of the tiny model under ``models_dir``, building it once if absent.

    The build happens in a temporary sibling folder that is renamed into place, so an interrupted
    build never leaves a half-written model behind and two processes can race safely.
    """
    target = models_dir / "tiny-sd"
    marker = target / "hallmark-tiny.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("format") == _FORMAT_VERSION:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".tiny-build-") as tmp:
        staging = Path(tmp) / "tiny-sd"
        _build(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not marker.is_file():  # lost the race to a half-written folder: replace it
                import shutil

                shutil.rmtree(target, ignore_errors=True)
                os.rename(staging, target)
    return target


def tiny_pipeline_kwargs() -> dict[str, Any]:
    return {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
