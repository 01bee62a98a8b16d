"""The policy section read when an image is edited (``GuardedPipeline.edit``, ``hallmark edit``).

Editing a real photo is the same flow as generating with one more input, so the prompt policy and
the image policy apply as they are; this section adds what only an edit has:

* ``categories``: prompt rules that apply to edits only ("remove her clothes", "put a gun in his
  hand" on a photo of someone), in the same form as the prompt policy's categories;
* ``input``: limits on the input file, and what the input's Content Credentials may refuse
  (the training-and-mining uses whose ``notAllowed`` stops an edit; invalid credentials).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ._guard_schema import CategoryPolicy

EditCategoryName = Literal["intimate_edit", "defamatory_edit"]
EDIT_CATEGORIES: tuple[str, ...] = EditCategoryName.__args__  # type: ignore[attr-defined]
# The uses the training-and-mining assertion names (``cawg.<use>`` since C2PA 2.0, ``c2pa.<use>``
# in C2PA 1.x manifests).
TrainingUse = Literal["ai_inference", "ai_generative_training", "ai_training", "data_mining"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EditInputPolicy(_Section):
    """What an input image may be, and what its credentials may refuse."""

    # Decoding more than this many pixels is refused before the file is decoded (4096 x 4096).
    max_pixels: int = Field(default=16_777_216, ge=4096)
    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # An input whose training-and-mining assertion says ``notAllowed`` for one of these uses is
    # refused (editing it with a model is AI inference on it; add ai_generative_training to honour
    # that entry too).
    refuse_not_allowed: tuple[TrainingUse, ...] = ("ai_inference",)
    # Credentials that are present but do not validate (tampered, expired, unreadable): recorded
    # either way; ``block`` also refuses the edit.
    invalid_credentials: Literal["allow", "block"] = "allow"


class EditPolicy(_Section):
    """Edits: the edit-only prompt categories and the input rules (module docstring)."""

    enabled: bool = True
    categories: dict[EditCategoryName, CategoryPolicy] = Field(default_factory=dict)
    input: EditInputPolicy = EditInputPolicy()
