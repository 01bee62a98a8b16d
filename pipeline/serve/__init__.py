"""``hallmark serve``: the verification page and the HTTP API, on Starlette and uvicorn.

A door onto the same library calls as the CLI (``Verifier``, ``PromptFilter``, ``AuditLog``,
the worker package's generation jobs); it holds no verification or policy logic.  Besides:
``SoftBindingResolver`` answers the C2PA Soft Binding Resolution API from a home, and
``TokenStore`` keeps the operators' bearer tokens (hashed) in it.  Its dependencies come with the ``[serve]`` extra and
load only when an application is built: ``require_serve_extra()`` says what to install first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "ServeSettings": "hallmark.pipeline.serve._settings",
    "require_serve_extra": "hallmark.pipeline.serve._extra",
    "SERVE_EXTRA": "hallmark.pipeline.serve._extra",
    "create_app": "hallmark.pipeline.serve._app",
    "app_from_environment": "hallmark.pipeline.serve._app",
    "ERROR_CODES": "hallmark.pipeline.serve._errors",
    "RateLimiter": "hallmark.pipeline.serve._limits",
    "SoftBindingResolver": "hallmark.pipeline.serve._resolver",
    "TokenStore": "hallmark.pipeline.serve._tokens",
    "run_server": "hallmark.pipeline.serve._run",
}

__all__ = [
    "ERROR_CODES",
    "SERVE_EXTRA",
    "RateLimiter",
    "ServeSettings",
    "SoftBindingResolver",
    "TokenStore",
    "app_from_environment",
    "create_app",
    "require_serve_extra",
    "run_server",
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        if _WHERE[name].endswith(("._app", "._run")):
            from ._extra import require_serve_extra

            require_serve_extra()
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hallmark.pipeline.serve' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from ._app import app_from_environment, create_app
    from ._errors import ERROR_CODES
    from ._extra import SERVE_EXTRA, require_serve_extra
    from ._limits import RateLimiter
    from ._resolver import SoftBindingResolver
    from ._run import run_server
    from ._settings import ServeSettings
    from ._tokens import TokenStore
