"""hallmark: responsible generation for text-to-image models.

The rooms are sub-packages: ``hallmark.policies`` (what is allowed), ``hallmark.guardrails``
(decide), ``hallmark.provenance`` (mark and read marks), ``hallmark.audit`` (remember) and
``hallmark.pipeline`` (orchestrate, and the ``hallmark`` command).  The names below load on
first use, so that ``import hallmark`` costs nothing that a command does not need.
``schema_path`` finds the JSON Schema named by the ``"schema"`` field of a ``--json`` output.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_WHERE = {
    "AuditLog": "hallmark.audit",
    "GuardedPipeline": "hallmark.pipeline",
    "Verifier": "hallmark.pipeline",
    "load_policy": "hallmark.policies",
    "schema_path": "hallmark._schemas",
    "verify_image": "hallmark.provenance",
}

__all__ = [
    "AuditLog",
    "GuardedPipeline",
    "Verifier",
    "__version__",
    "load_policy",
    "schema_path",
    "verify_image",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hallmark' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from ._schemas import schema_path
    from .audit import AuditLog
    from .pipeline import GuardedPipeline, Verifier
    from .policies import load_policy
    from .provenance import verify_image
