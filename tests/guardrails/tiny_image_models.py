"""Tiny random-weight transformers models, built and saved locally (never downloaded), for the
image backends' real loading code: a CLIP (``CLIPModel`` + ``CLIPProcessor``, with the byte-level
tokenizer the tiny SD model uses) and a ViT image classifier.  bench/image_safety.py uses them too
for the combiner's overhead figure."""

from __future__ import annotations

from pathlib import Path


def build_tiny_clip(folder: Path, *, seed: int = 7, base_size: bool = False) -> Path:
    """Save a 32 px, 2-layer CLIP with its processor under ``folder`` and return it; with
    ``base_size``, a CLIP at ViT-B/32's size instead (224 px, 12 layers of 768 in the vision tower,
    12 of 512 in the text tower, random weights: the compute of openai/clip-vit-base-patch32)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from hallmark.pipeline._tiny import _byte_level_vocab

    torch.manual_seed(seed)
    vocab, merges = _byte_level_vocab()
    layers = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4}
    vision = {**layers, "image_size": 32, "patch_size": 8}
    text = dict(layers)
    side = 32
    if base_size:
        vision = {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
        }
        vision.update(image_size=224, patch_size=32)
        text = {
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": 12,
            "num_attention_heads": 8,
        }
        side = 224
    config = CLIPConfig(
        text_config={
            **text,
            "vocab_size": len(vocab),
            "max_position_embeddings": 77,
            "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab["<|endoftext|>"],
        },
        vision_config=vision,
        projection_dim=512 if base_size else 16,
    )
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = 77
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": side}, crop_size={"height": side, "width": side}
        ),
        tokenizer=tokenizer,
    )
    CLIPModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_tiny_vit(
    folder: Path,
    labels: tuple[str, ...],
    *,
    seed: int = 7,
    multi_label: bool = False,
    base_size: bool = False,
) -> Path:
    """Save a 32 px, 2-layer ViT image classifier with ``labels`` under ``folder`` and return it;
    with ``base_size``, one at ViT-B/16's size (224 px, 12 layers of 768; random weights), the size
    of the common ViT-based safety classifiers on the hub."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(seed)
    dims = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
    dims.update(image_size=32, patch_size=8)
    if base_size:
        dims = {
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
        }
        dims.update(image_size=224, patch_size=16)
    config = ViTConfig(
        **dims,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    ViTForImageClassification(config).save_pretrained(folder)
    side = dims["image_size"]
    ViTImageProcessor(size={"height": side, "width": side}).save_pretrained(folder)
    return folder
