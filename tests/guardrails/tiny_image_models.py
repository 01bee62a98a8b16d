"""Tiny random-weight transformers models, built and saved locally (never downloaded), for the
image backends' real loading code: a CLIP (``CLIPModel`` + ``CLIPProcessor``, with the byte-level
tokenizer the tiny SD model uses) and a ViT image classifier.  bench/image_safety.py uses them too
for the combiner's overhead figure."""

from __future__ import annotations

from pathlib import Path


def build_tiny_clip(folder: Path, *, seed: int = 7) -> Path:
    """Save a 32 px, 2-layer CLIP with its processor under ``folder`` and return it."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from hallmark.pipeline._tiny import _byte_level_vocab

    torch.manual_seed(seed)
    vocab, merges = _byte_level_vocab()
    layers = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4}
    config = CLIPConfig(
        text_config={
            **layers,
            "vocab_size": len(vocab),
            "max_position_embeddings": 77,
            "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab["<|endoftext|>"],
        },
        vision_config={**layers, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = 77
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    CLIPModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_tiny_vit(
    folder: Path, labels: tuple[str, ...], *, seed: int = 7, multi_label: bool = False
) -> Path:
    """Save a 32 px, 2-layer ViT image classifier with ``labels`` under ``folder`` and return it."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(seed)
    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=32,
        patch_size=8,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
