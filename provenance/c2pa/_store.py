"""Keep each released image's C2PA manifest store, keyed by record id, so that a manifest stripped
by a re-upload can be recovered through the watermark (``HALLMARK_HOME/manifests/``)."""

from __future__ import annotations

import os
import re
import secrets
import uuid
from pathlib import Path

from hallmark.errors import ProvenanceError

# Record ids are UUIDs (v7 at generation); anything else is refused so that an id taken from a
# decoded watermark or a user can never name a path outside the store.
_RECORD_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# A manifest store without thumbnails is ~4 KB; a ceiling keeps a broken caller from filling the disk.
MAX_STORE_BYTES = 64 * 1024 * 1024


class ManifestStore:
    """C2PA manifest stores (JUMBF bytes) in one folder, one ``<record id>.c2pa`` file each,
    written atomically; the folder is created on the first ``put``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def put(self, record_id: str, store: bytes) -> Path:
        """Save ``store`` for ``record_id`` (replacing an earlier one) and return its path."""
        path = self.path_for(record_id)
        if not isinstance(store, bytes) or not store:
            raise ProvenanceError(f"manifest store for record {record_id} is empty")
        if len(store) > MAX_STORE_BYTES:
            raise ProvenanceError(
                f"manifest store for record {record_id} is larger than {MAX_STORE_BYTES} bytes"
            )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                with open(tmp, "xb") as f:
                    f.write(store)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as e:
            raise ProvenanceError(f"cannot write manifest store {path}: {e.strerror}") from e
        return path

    def get(self, record_id: str) -> bytes | None:
        """The stored manifest for ``record_id``, or ``None`` when none was kept."""
        path = self.path_for(record_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ProvenanceError(f"cannot read manifest store {path}: {e.strerror}") from e

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
            return False
        return self.path_for(record_id).exists()

    def path_for(self, record_id: str) -> Path:
        """Where the manifest of ``record_id`` lives; refuses an id that is not a UUID."""
        if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
            raise ProvenanceError(
                f"record id {str(record_id)[:64]!r} is not a UUID",
                hint="Pass the record id printed by `hallmark generate` or `hallmark verify`.",
            )
        # One file per record, whatever the spelling (hex with or without dashes, any case).
        return self.directory / f"{uuid.UUID(record_id)}.c2pa"
