"""The policy model: one frozen pydantic model per section, ``extra="forbid"`` throughout.

A policy is data.  ``Policy.digest`` is the sha256 of its canonical JSON, so two policies that say
the same thing have the same digest whatever file they came from, and the digest recorded in a
manifest or an audit entry names exactly the rules that were applied.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._edit_schema import EditPolicy
from ._guard_schema import ImagePolicy, PromptPolicy
from ._labels_schema import LabelsPolicy, check_profile_requirements


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WatermarkPolicy(_Section):
    enabled: bool = True
    scheme: str = "hallmark.wm1"
    # What to do when an image is smaller than the scheme can mark: refuse to release it, or
    # release it with the C2PA manifest only (recorded in the manifest and the audit entry).
    on_too_small: Literal["refuse", "manifest_only"] = "refuse"
    # What to do when the mark does not read back from the image's own final bytes at any
    # strength (large flat, clipped or blank images): ``flag`` releases it with
    # ``watermark_readable: false`` in the audit entry and the manifest, and without a soft
    # binding in the manifest; ``withhold`` does not release it (recorded as a failure).
    on_unreadable: Literal["withhold", "flag"] = "flag"


class C2paPolicy(_Section):
    enabled: bool = True
    claim_generator: str = "hallmark"
    training_mining: Literal["notAllowed", "allowed", "constrained"] = "notAllowed"
    tsa_url: str | None = None
    thumbnail: bool = False
    keep_manifest_store: bool = True


class AuditPolicy(_Section):
    # Raw prompts are never stored unless this is true; then they are encrypted with the
    # operator's key (see ``hallmark keys``).
    store_raw_prompt: bool = False
    retention_days: int = Field(default=0, ge=0)


class OutputPolicy(_Section):
    format: Literal["png", "jpeg", "webp"] = "png"
    # deflate level for PNG: 1-3 use ISA-L (a 1024 px image in ~10 ms, about Pillow's level-1
    # size), 4-9 use zlib, slower and a few percent smaller (bench/overhead.py).
    png_compress_level: int = Field(default=1, ge=0, le=9)
    jpeg_quality: int = Field(default=92, ge=1, le=100)
    webp_quality: int = Field(default=90, ge=1, le=100)


class Policy(_Section):
    """A complete, validated policy. Load one with ``policies.load_policy``."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    id: str
    version: int = Field(default=1, ge=1)
    description: str = ""
    extends: str | None = None
    prompt: PromptPolicy = PromptPolicy()
    image: ImagePolicy = ImagePolicy()
    watermark: WatermarkPolicy = WatermarkPolicy()
    c2pa: C2paPolicy = C2paPolicy()
    audit: AuditPolicy = AuditPolicy()
    labels: LabelsPolicy = LabelsPolicy()
    output: OutputPolicy = OutputPolicy()
    edit: EditPolicy = EditPolicy()

    @model_validator(mode="after")
    def _profiles_get_what_they_need(self) -> Policy:
        check_profile_requirements(self)
        return self

    def canonical_json(self) -> str:
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )

    @cached_property
    def digest(self) -> str:
        """sha256 (hex) of the canonical JSON of the fully resolved policy."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def summary(self) -> dict[str, object]:
        return {"id": self.id, "version": self.version, "digest": self.digest}
