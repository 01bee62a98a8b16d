"""Policy section read by ``provenance``'s regulation profiles (``labels``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LabelsPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profiles: tuple[str, ...] = ()
    provider: str = "hallmark"
