"""The manifest store: one file per record id, atomic writes, no path tricks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.errors import ProvenanceError
from hallmark.provenance import ManifestStore

RID = "0190f0e4-7b1c-7000-8000-00000000abcd"


def test_put_get_round_trip(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "manifests")
    assert store.get(RID) is None and RID not in store
    path = store.put(RID, b"jumbf-1")
    assert path == tmp_path / "manifests" / f"{RID}.c2pa"
    assert store.get(RID) == b"jumbf-1" and RID in store
    store.put(RID.upper().replace("-", ""), b"jumbf-2")  # same record, other spelling: replaced
    assert store.get(RID) == b"jumbf-2"
    assert [p.name for p in (tmp_path / "manifests").iterdir()] == [f"{RID}.c2pa"]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "", "a" * 32 + "/x", f"{RID}.c2pa", f"{RID}\n"])
def test_record_id_must_be_a_uuid(tmp_path: Path, bad: str) -> None:
    store = ManifestStore(tmp_path)
    with pytest.raises(ProvenanceError, match="is not a UUID"):
        store.put(bad, b"x")
    with pytest.raises(ProvenanceError, match="is not a UUID"):
        store.get(bad)
    assert bad not in store
    assert list(tmp_path.iterdir()) == []


def test_empty_store_bytes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="is empty"):
        ManifestStore(tmp_path).put(RID, b"")


def test_oversized_store_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hallmark.provenance.c2pa._store.MAX_STORE_BYTES", 4)
    with pytest.raises(ProvenanceError, match="larger than 4 bytes"):
        ManifestStore(tmp_path).put(RID, b"12345")


def test_unwritable_and_unreadable_store(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = ManifestStore(blocker / "manifests")  # a folder under a plain file cannot exist
    with pytest.raises(ProvenanceError, match="cannot write manifest store"):
        store.put(RID, b"x")
    good = ManifestStore(tmp_path / "m")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / f"{RID}.c2pa").mkdir()  # a folder where the file should be
    with pytest.raises(ProvenanceError, match="cannot read manifest store"):
        good.get(RID)
