"""Orchestrate: generator backends, GuardedPipeline and the ``hallmark`` CLI.

The only room that knows all the others.  Names load on first use, so that ``hallmark check``
and ``hallmark verify`` (which import ``hallmark.pipeline.cli``) do not pay for the generation stack.
"""

from __future__ import annotations

if __name__ != "hallmark.pipeline":  # the folder sits at the repository's top level
    raise ImportError(f"import hallmark.pipeline, not {__name__}")

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "CallableEditor": "hallmark.pipeline._editors",
    "DiffusersEditor": "hallmark.pipeline._editors",
    "EditParams": "hallmark.pipeline._editors",
    "Editor": "hallmark.pipeline._editors",
    "CallableGenerator": "hallmark.pipeline._generators",
    "Diagnosis": "hallmark.pipeline._diagnosis",
    "DiagnosisStatus": "hallmark.pipeline._diagnosis",
    "DoctorReport": "hallmark.pipeline._diagnosis",
    "diagnose": "hallmark.pipeline._doctor",
    "DiffusersGenerator": "hallmark.pipeline._generators",
    "GenerationParams": "hallmark.pipeline._generators",
    "Generator": "hallmark.pipeline._generators",
    "generator_for": "hallmark.pipeline._generators",
    "GenerationResult": "hallmark.pipeline._results",
    "GuardedPipeline": "hallmark.pipeline._guarded",
    "ReleasedImage": "hallmark.pipeline._results",
    "WithheldImage": "hallmark.pipeline._results",
    "Home": "hallmark.pipeline._home",
    "new_record_id": "hallmark.pipeline._records",
    "TINY_NOTE": "hallmark.pipeline._tiny",
    "Stages": "hallmark.pipeline._stages",
    "Verifier": "hallmark.pipeline._verifier",
}

__all__ = [
    "TINY_NOTE",
    "CallableEditor",
    "CallableGenerator",
    "Diagnosis",
    "DiagnosisStatus",
    "DiffusersEditor",
    "DiffusersGenerator",
    "DoctorReport",
    "EditParams",
    "Editor",
    "GenerationParams",
    "GenerationResult",
    "Generator",
    "GuardedPipeline",
    "Home",
    "ReleasedImage",
    "Stages",
    "Verifier",
    "WithheldImage",
    "diagnose",
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
    from ._diagnosis import Diagnosis, DiagnosisStatus, DoctorReport
    from ._doctor import diagnose
    from ._editors import CallableEditor, DiffusersEditor, Editor, EditParams
    from ._generators import CallableGenerator, DiffusersGenerator, GenerationParams, Generator, generator_for
    from ._guarded import GuardedPipeline
    from ._home import Home
    from ._records import new_record_id
    from ._results import GenerationResult, ReleasedImage, WithheldImage
    from ._stages import Stages
    from ._tiny import TINY_NOTE
    from ._verifier import Verifier
