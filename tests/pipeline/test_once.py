"""A request that carries its own id releases each image once, however often it is run."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hallmark.audit import AuditLog
from hallmark.errors import PipelineError
from hallmark.pipeline import GuardedPipeline, new_record_id
from hallmark.provenance import init_keys

CALLS: list[int] = []


def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
    CALLS.append(n)
    rng = np.random.default_rng(len(CALLS))
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(n)]


@pytest.fixture
def keyed_home(home: Path) -> Path:
    init_keys(home / "keys")
    return home


def released(home: Path) -> list:
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", key_path=home / "keys" / "audit-checkpoint.key"
    ) as log:
        return [e for e in log.entries() if e.kind == "image.released"]


def test_running_a_named_request_again_returns_its_records(keyed_home: Path, tmp_path: Path) -> None:
    rid = str(new_record_id())
    CALLS.clear()
    with GuardedPipeline(render, home=keyed_home) as pipe:
        first = pipe("a lighthouse", n=2, size=256, out_dir=tmp_path / "out", request_id=rid)
        again = pipe("a lighthouse", n=2, size=256, out_dir=tmp_path / "out", request_id=rid)
    assert CALLS == [2]  # the second run generated nothing
    assert len(first.images) == 2 and not first.withheld
    assert [i.record_id for i in again.images] == [i.record_id for i in first.images]
    assert [i.sha256 for i in again.images] == [i.sha256 for i in first.images]
    assert again.seed == first.seed
    entries = released(keyed_home)
    assert sorted(e.data["record_id"] for e in entries) == sorted(i.record_id for i in first.images)
    assert {e.data["request_id"] for e in entries} == {rid}


def test_a_partly_settled_request_releases_only_the_rest(keyed_home: Path, tmp_path: Path) -> None:
    rid = str(new_record_id())
    with GuardedPipeline(render, home=keyed_home) as pipe:
        # A run that died after its first image: image 0 of the request is in the log.
        part = pipe("a lighthouse", n=1, size=256, out_dir=tmp_path / "out", request_id=rid)
        whole = pipe("a lighthouse", n=3, size=256, out_dir=tmp_path / "out", request_id=rid)
    assert whole.images[0].record_id == part.images[0].record_id
    assert len({i.record_id for i in whole.images}) == 3
    assert len(released(keyed_home)) == 3
    assert all(i.path.is_file() for i in whole.images)


EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_a_release_cut_between_its_entry_and_its_rename_is_finished(
    keyed_home: Path, tmp_path: Path, fmt: str
) -> None:
    rid = str(new_record_id())
    out = tmp_path / "out"
    with GuardedPipeline(render, home=keyed_home) as pipe:
        first = pipe("a lighthouse", n=1, size=256, out_dir=out, fmt=fmt, request_id=rid)
        path = first.images[0].path
        data = path.read_bytes()
        sealed = path.with_name(f".{first.images[0].record_id}.{EXT[fmt]}.tmp")
        sealed.write_bytes(bytes(16) + data[16:])  # as the crash left it: committed, never renamed
        path.unlink()
        again = pipe("a lighthouse", n=1, size=256, out_dir=out, fmt=fmt, request_id=rid)
    assert again.images[0].path.read_bytes() == data
    assert not sealed.exists()
    assert len(released(keyed_home)) == 1


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_a_sealed_file_that_is_not_the_recorded_bytes_is_never_renamed(
    keyed_home: Path, tmp_path: Path, fmt: str
) -> None:
    rid = str(new_record_id())
    out = tmp_path / "out"
    with GuardedPipeline(render, home=keyed_home) as pipe:
        first = pipe("a lighthouse", n=1, size=256, out_dir=out, fmt=fmt, request_id=rid)
        path = first.images[0].path
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1  # one bit of the body changed after the entry recorded its hash
        sealed = path.with_name(f".{first.images[0].record_id}.{EXT[fmt]}.tmp")
        sealed.write_bytes(bytes(16) + bytes(data[16:]))
        path.unlink()
        pipe("a lighthouse", n=1, size=256, out_dir=out, fmt=fmt, request_id=rid)
    assert not path.exists() and sealed.exists()  # left for `hallmark audit verify` to report
    assert len(released(keyed_home)) == 1


def _die_after_commit(home: str, out: str, rid: str, fmt: str) -> None:
    """Run the request and SIGKILL this process the moment an image's entry is committed,
    before its file is unsealed and renamed."""
    import os
    import signal

    with GuardedPipeline(render, home=home) as pipe:
        log_class = type(pipe.audit)
        append = log_class.append

        def append_then_die(self, kind, *args, **kwargs):  # type: ignore[no-untyped-def]
            entry = append(self, kind, *args, **kwargs)
            if kind == "image.released":
                os.kill(os.getpid(), signal.SIGKILL)
            return entry

        log_class.append = append_then_die  # type: ignore[method-assign]
        pipe("a lighthouse", n=1, size=256, out_dir=out, fmt=fmt, request_id=rid)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_a_release_killed_after_its_commit_is_finished_once_by_the_next_run(
    keyed_home: Path, tmp_path: Path, fmt: str
) -> None:
    import hashlib
    import multiprocessing as mp

    from hallmark.pipeline import Verifier
    from hallmark.provenance import Verdict

    rid = str(new_record_id())
    out = tmp_path / "out"
    child = mp.get_context("fork").Process(
        target=_die_after_commit, args=(str(keyed_home), str(out), rid, fmt)
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -9
    (entry,) = released(keyed_home)
    path = Path(entry.data["path"])
    assert not path.exists() and len(list(out.glob(f".*.{EXT[fmt]}.tmp"))) == 1
    with GuardedPipeline(render, home=keyed_home) as pipe:
        again = pipe("a lighthouse", n=1, size=256, out_dir=out, fmt=fmt, request_id=rid)
    assert [i.record_id for i in again.images] == [entry.data["record_id"]]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.data["sha256"]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    assert len(released(keyed_home)) == 1  # finished, not released again
    assert Verifier.from_home(keyed_home).verify(path).verdict is Verdict.HALLMARK_SIGNED


def test_a_named_request_with_a_blocked_prompt_is_recorded_once(keyed_home: Path, tmp_path: Path) -> None:
    rid = str(new_record_id())
    CALLS.clear()
    with GuardedPipeline(render, home=keyed_home) as pipe:
        for _ in range(2):
            result = pipe("nude child", out_dir=tmp_path / "out", request_id=rid)
            assert result.blocked
    with AuditLog.open(
        f"sqlite:///{keyed_home / 'audit.db'}", key_path=keyed_home / "keys" / "audit-checkpoint.key"
    ) as log:
        blocked = [e for e in log.entries() if e.kind == "prompt.blocked"]
    assert [e.data["record_id"] for e in blocked] == [rid]
    assert CALLS == []


def test_unnamed_requests_are_never_merged(keyed_home: Path, tmp_path: Path) -> None:
    with GuardedPipeline(render, home=keyed_home) as pipe:
        a = pipe("a lighthouse", n=1, size=256, seed=1, out_dir=tmp_path / "out")
        b = pipe("a lighthouse", n=1, size=256, seed=1, out_dir=tmp_path / "out")
    assert a.images[0].record_id != b.images[0].record_id
    assert len(released(keyed_home)) == 2


def test_a_request_id_must_be_a_uuid(keyed_home: Path, tmp_path: Path) -> None:
    with GuardedPipeline(render, home=keyed_home) as pipe:
        with pytest.raises(PipelineError, match="request id must be a UUID"):
            pipe("a lighthouse", out_dir=tmp_path, request_id="job-1")


def test_image_record_ids_keep_the_request_time_and_differ_per_image() -> None:
    from hallmark.pipeline._once import image_record_id

    rid = new_record_id()
    ids = [image_record_id(rid, i) for i in range(3)]
    assert len(set(ids)) == 3 and all(i.version == 7 for i in ids)
    assert {i.int >> 80 for i in ids} == {rid.int >> 80}
    assert image_record_id(rid, 1) == ids[1]
    assert image_record_id(uuid.uuid4(), 0).version == 7
