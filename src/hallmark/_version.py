"""The installed version, read once from the distribution's metadata (``pyproject.toml``)."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "hallmark-genai"

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"
