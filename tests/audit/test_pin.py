"""The checkpoint file kept outside the database (``audit/_pin.py``) and the writers that keep it:
every append moves it forward, never back, not even with many processes appending at once; a
log wiped, replaced, rolled back or forked behind it is never written to, and verification holds
the log to it."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from hallmark.audit import AuditLog, CheckpointFile, parse_checkpoint, verify_log
from hallmark.errors import AuditError, TamperError

WRITERS = 4
EACH = 40


def fill(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append("image.released", {"record_id": f"r{i}"}, personal={"user": f"u{i % 2}"})


def test_every_append_moves_the_file_forward(log_url: str, key_path: Path, tmp_path: Path) -> None:
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        assert not pin.exists()
        fill(log, 3)
        assert CheckpointFile(pin).read() == parse_checkpoint(log.checkpoint().note)[0]
        log.erase("r1", force=True)  # an erasure is an append too
        assert CheckpointFile(pin).read().size == 4  # type: ignore[union-attr]
        check = log.verify()
        assert check.verified and check.anchors == [f"the home's checkpoint {pin}"]
        assert check.key_source == "key file" and check.key_path == str(key_path)
    assert not list(tmp_path.glob(".audit-checkpoint.txt.*"))  # no temporary file left behind


def test_the_file_only_moves_forward_to_a_tree_that_extends_it(tmp_path: Path) -> None:
    pin = CheckpointFile(tmp_path / "cp.txt")
    with (
        AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log,
        AuditLog.open(f"sqlite:///{tmp_path / 'b.db'}") as other,
    ):
        fill(log, 2)
        two = log.checkpoint().note
        fill(log, 2, start=2)
        four = log.checkpoint().note
        fill(other, 5)
        fine = lambda old: None  # noqa: E731 - the extends check
        assert pin.advance(two, extends=fine) and pin.read().size == 2  # type: ignore[union-attr]
        assert pin.advance(four, extends=fine) and pin.read().size == 4  # type: ignore[union-attr]
        assert not pin.advance(two, extends=fine) and pin.read().size == 4  # type: ignore[union-attr]
        with pytest.raises(TamperError, match="belongs to log .*, not"):
            pin.advance(other.checkpoint().note, extends=fine)

        def forked(old: object) -> None:
            raise TamperError("no consistency proof")

        fill(log, 1, start=4)
        with pytest.raises(TamperError, match="no consistency proof"):
            pin.advance(log.checkpoint().note, extends=forked)
        assert pin.read().size == 4  # type: ignore[union-attr]
    (tmp_path / "cp.txt").write_text("not a checkpoint\n")
    with pytest.raises(TamperError, match="is not a signed checkpoint"):
        pin.read()
    assert CheckpointFile(tmp_path / "none.txt").read() is None


def _writer(url: str, key: str, pin: str, w: int, go) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(url, key_path=Path(key), checkpoint_path=Path(pin)) as log:
        go.wait()
        for i in range(EACH):
            log.append("image.released", {"record_id": f"w{w}-{i}"})


def test_concurrent_writers_never_move_the_file_back(log_url: str, key_path: Path, tmp_path: Path) -> None:
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        log.append("generation.failed", {"error": "first"})  # the key and the file exist before the race
        ctx = mp.get_context("fork")
        go = ctx.Event()
        args = (log_url, str(key_path), str(pin))
        procs = [ctx.Process(target=_writer, args=(*args, w, go)) for w in range(WRITERS)]
        for p in procs:
            p.start()
        sizes = []
        go.set()
        while any(p.is_alive() for p in procs):
            sizes.append(CheckpointFile(pin).read().size)  # type: ignore[union-attr]
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0] * WRITERS
        assert sizes == sorted(sizes)  # read whole each time, never smaller than before
        assert CheckpointFile(pin).read().size == 1 + WRITERS * EACH  # type: ignore[union-attr]
        assert log.verify().verified


def test_a_writer_refuses_a_log_rolled_back_or_forked_behind_the_file(
    log_url: str, key_path: Path, tmp_path: Path, raw
) -> None:  # type: ignore[no-untyped-def]
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        fill(log, 4)
        older = raw.dump()
        fill(log, 3, start=4)
        newer = raw.dump()
        raw.load(older)  # the database restored from a backup
        with pytest.raises(TamperError, match="log rolled back from 7 to 4 entries .* refusing to write"):
            log.append("generation.failed", {})
        assert raw.dump() == older  # nothing written
        with pytest.raises(TamperError, match="log rolled back from 7 to 4 entries"):
            AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin)
        # Other entries appended past the file's size by someone without the file: a fork.
        with AuditLog.open(log_url, key_path=key_path) as unpinned:
            fill(unpinned, 4, start=100)
        with pytest.raises(
            TamperError, match="log forked: the tree of 9 entries does not extend the checkpoint of 7"
        ):
            log.append("generation.failed", {})  # committed, but the file stays where it was
        assert CheckpointFile(pin).read().size == 7  # type: ignore[union-attr]
        check = verify_log(log_url, key_path=key_path, checkpoint_file=pin)
        assert not check.ok and check.reason.startswith(
            "log forked: its first 7 entries do not match the home's"
        )
        raw.load(newer)
        log.append("generation.failed", {})
        assert CheckpointFile(pin).read().size == 8  # type: ignore[union-attr]


def test_a_writer_never_recreates_a_log_under_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(url, checkpoint_path=pin) as log:
        fill(log, 2)
    for p in tmp_path.glob("audit.db*"):
        p.unlink()
    with pytest.raises(TamperError, match="no audit log at .*records 2 entries there: the log was deleted"):
        AuditLog.open(url, checkpoint_path=pin)
    assert not (tmp_path / "audit.db").exists()
    with AuditLog.open(f"sqlite:///{tmp_path / 'other.db'}") as other:
        fill(other, 3)
    (tmp_path / "other.db").rename(tmp_path / "audit.db")
    with pytest.raises(TamperError, match="holds another log .*: the log was wiped or replaced"):
        AuditLog.open(url, checkpoint_path=pin)
    pin.unlink()  # starting over is a deliberate act: move the file away
    with AuditLog.open(url, checkpoint_path=pin) as log:
        log.append("generation.failed", {})
        assert CheckpointFile(pin).read().size == 4  # type: ignore[union-attr]


def test_pin_writes_a_missing_file_only_from_a_verified_log(tmp_path: Path) -> None:
    pin = tmp_path / "audit-checkpoint.txt"
    raw_free_log = f"sqlite:///{tmp_path / 'audit.db'}"
    with AuditLog.open(raw_free_log) as log:  # a home from before the checkpoint file
        fill(log, 3)
    with AuditLog.open(raw_free_log, checkpoint_path=pin) as log:
        check = log.verify()
        assert (
            check.ok and check.status == "unchecked" and "there is no checkpoint file" in check.unchecked[0]
        )
        assert log.pin().size == 3 and log.verify().verified
    with AuditLog.open(raw_free_log, key_path=tmp_path / "elsewhere.key", checkpoint_path=pin) as log:
        pin.unlink()
        with pytest.raises(AuditError, match="a checkpoint is pinned only with it"):
            log.pin()  # a key read from the log itself proves nothing
    with AuditLog.open(raw_free_log) as log, pytest.raises(AuditError, match="without a checkpoint file"):
        log.pin()
