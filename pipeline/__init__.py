"""Orchestrate: generator backends, GuardedPipeline and the ``hallmark`` CLI.

The only room that knows all the others.  Names load on first use, so that ``hallmark check``
and ``hallmark verify`` (which import ``pipeline.cli``) do not pay for the generation stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "CallableGenerator": "pipeline._generators",
    "DiffusersGenerator": "pipeline._generators",
    "GenerationParams": "pipeline._generators",
    "Generator": "pipeline._generators",
    "generator_for": "pipeline._generators",
    "GenerationResult": "pipeline._guarded",
    "GuardedPipeline": "pipeline._guarded",
    "ReleasedImage": "pipeline._guarded",
    "WithheldImage": "pipeline._guarded",
    "Home": "pipeline._home",
    "new_record_id": "pipeline._records",
    "TINY_NOTE": "pipeline._tiny",
    "Verifier": "pipeline._verifier",
}

__all__ = [
    "TINY_NOTE",
    "CallableGenerator",
    "DiffusersGenerator",
    "GenerationParams",
    "GenerationResult",
    "Generator",
    "GuardedPipeline",
    "Home",
    "ReleasedImage",
    "Verifier",
    "WithheldImage",
    "generator_for",
    "new_record_id",
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from pipeline._generators import (
        CallableGenerator,
        DiffusersGenerator,
        GenerationParams,
        Generator,
        generator_for,
    )
    from pipeline._guarded import GenerationResult, GuardedPipeline, ReleasedImage, WithheldImage
    from pipeline._home import Home
    from pipeline._records import new_record_id
    from pipeline._tiny import TINY_NOTE
    from pipeline._verifier import Verifier
