"""verify_batch: folder walks, worker processes, input order, per-file time limit, crashed workers."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from hallmark.errors import InputError
from hallmark.provenance import Verdict, collect_images, verify_batch
from hallmark.provenance.verify import _batch as batch


def png(path: Path, colour: tuple[int, int, int] = (10, 120, 200)) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buf, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def test_collect_walks_folders(tmp_path: Path) -> None:
    a = png(tmp_path / "d" / "a.png")
    b = png(tmp_path / "d" / "sub" / "b.PNG")
    (tmp_path / "d" / "notes.txt").write_text("x")
    png(tmp_path / "d" / ".hidden" / "c.png")
    png(tmp_path / "d" / ".d.png")
    explicit = tmp_path / "named.txt"
    explicit.write_text("a file named explicitly is verified whatever its name")
    assert collect_images([tmp_path / "d", explicit, a]) == [a, b, explicit]


def test_collect_refuses_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        collect_images([tmp_path / "missing"])


def test_batch_in_order_with_workers(tmp_path: Path) -> None:
    files = [png(tmp_path / f"{i}.png", (i * 20, 0, 0)) for i in range(5)]
    (tmp_path / "bad.png").write_bytes(b"\0" * 10)
    files.insert(2, tmp_path / "bad.png")
    reports = list(verify_batch(files, workers=2, schemes=[]))
    assert [r.source for r in reports] == [str(f) for f in files]
    assert reports[2].verdict is Verdict.ERROR
    assert all(r.verdict is Verdict.NO_PROVENANCE_FOUND for i, r in enumerate(reports) if i != 2)


def test_batch_in_process(tmp_path: Path) -> None:
    files = [png(tmp_path / "a.png")]
    (report,) = verify_batch(files, workers=0, schemes=[])
    assert report.verdict is Verdict.NO_PROVENANCE_FOUND


def test_a_file_that_vanished_is_an_error_entry(tmp_path: Path) -> None:
    (report,) = verify_batch([tmp_path / "gone.png"], workers=0)
    assert report.verdict is Verdict.ERROR and "no such file" in report.error


def _slow_or_crashing(path: Path, **options: object) -> object:
    if path.name == "hang.png":
        time.sleep(60)
    if path.name == "crash.png":
        os._exit(3)
    if path.name == "bug.png":
        raise KeyError("boom")
    return _real_verify(path, **options)


_real_verify = batch.verify_image


def test_time_limit_and_crashes_do_not_stop_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forked workers inherit the patched function.
    monkeypatch.setattr(batch, "verify_image", _slow_or_crashing)
    files = [png(tmp_path / n) for n in ("a.png", "hang.png", "crash.png", "bug.png", "b.png")]
    started = time.monotonic()
    reports = list(verify_batch(files, workers=2, timeout_s=1.5, schemes=[]))
    assert time.monotonic() - started < 20
    by_name = {Path(r.source).name: r for r in reports}
    assert by_name["a.png"].verdict is Verdict.NO_PROVENANCE_FOUND
    assert by_name["b.png"].verdict is Verdict.NO_PROVENANCE_FOUND
    assert "longer than the 1.5 s limit" in by_name["hang.png"].error
    assert "crashed" in by_name["crash.png"].error
    assert "internal error KeyError" in by_name["bug.png"].error


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--workers must be 0 or more"):
        list(verify_batch([], workers=-1))
    with pytest.raises(InputError, match="time limit must be positive"):
        list(verify_batch([], timeout_s=0))


def test_an_abandoned_batch_stops_its_workers(tmp_path: Path) -> None:
    files = [png(tmp_path / f"{i}.png") for i in range(4)]
    it = verify_batch(files, workers=2, schemes=[])
    next(it)
    it.close()  # runs the generator's cleanup
    import multiprocessing

    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


def test_a_folder_walk_counts_what_it_skips(tmp_path: Path) -> None:
    import os

    from hallmark.provenance import walk_images

    folder = tmp_path / "d"
    (folder / ".git").mkdir(parents=True)
    (folder / "a.png").write_bytes(b"x")
    (folder / ".hidden.png").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "gone.jpg").symlink_to(folder / "missing.jpg")
    os.mkfifo(folder / "pipe.jpg")
    (folder / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    walk = walk_images([folder])
    assert walk.files == [folder / "a.png"]
    assert walk.skipped == {
        "hidden": 2,
        "not image files (by name)": 1,
        "not regular files": 2,
        "broken links": 1,
        "links to folders (not followed)": 1,
    }
    assert walk.skipped_line().startswith("skipped 7 entries: 2 hidden, 2 not regular files")
