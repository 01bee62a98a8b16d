"""The ``[serve]`` extra: checked before the web layer is imported, so that a default install
says what to install instead of failing with a bare ModuleNotFoundError."""

from __future__ import annotations

import importlib

from hallmark.errors import PipelineError

SERVE_EXTRA = "pip install 'hallmark-genai[serve]'"
# import name -> the distribution the extra brings
SERVE_MODULES = {
    "starlette": "starlette",
    "uvicorn": "uvicorn",
    "python_multipart": "python-multipart",
    "httpx": "httpx",
}


def require_serve_extra() -> None:
    """Raise ``PipelineError`` naming the extra when a module of ``[serve]`` is not installed."""
    for module, distribution in SERVE_MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            raise PipelineError(
                f"hallmark serve needs the serve extra ({distribution} is not installed)",
                hint=f"Install it with `{SERVE_EXTRA}`.",
            ) from e
