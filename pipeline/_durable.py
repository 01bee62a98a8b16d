"""Making a release durable: a file renamed into a folder survives a crash only once the folder
itself is flushed to disk."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Flush the folder ``path`` to disk, so that a rename into it is durable; a file system that
    cannot (some network and Windows file systems) is left as it is."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
