"""Group commit (``audit/_group.py``): many threads and processes appending at once get batches of
one transaction, one tree update and one checkpoint each, and the very entries one-by-one appends
would give; ``append_many`` equals N appends; a batch that fails or a writer killed mid-batch loses
no acknowledged entry; the checkpoint file still refuses a log rolled back behind it."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hallmark.audit import AuditEvent, AuditLog, CheckpointFile, _group, verify_inclusion
from hallmark.audit._entry import parse_time
from hallmark.errors import AuditError, TamperError


def event(w: int, i: int) -> AuditEvent:
    personal = {"user": f"u{w}", "prompt": f"p{w}-{i}"} if i % 2 else None
    return AuditEvent("image.released", {"record_id": f"w{w}-{i}", "writer": w, "n": i}, personal)


def salts_of(raw) -> dict[int, bytes]:  # type: ignore[no-untyped-def]
    return {int(i): bytes(s) for i, s in raw.query("SELECT idx, salt FROM audit_personal")}


def assert_one_by_one(log: AuditLog, salts: dict[int, bytes], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every entry of ``log`` has indexes 0..N-1 once, and the leaf hash that appending the same
    events one at a time, in index order, to a new log gives (same time, same salt)."""
    entries = list(log.entries())
    assert [e.index for e in entries] == list(range(len(entries)))
    replay_salts: Iterator[bytes] = iter([salts[e.index] for e in entries if e.personal is not None])
    monkeypatch.setattr(_group, "urandom", lambda n: next(replay_salts))
    with AuditLog.open(f"sqlite:///{tmp_path / 'replay.db'}", key_path=tmp_path / "replay.key") as one:
        for e in entries:
            again = one.append(e.kind, e.data, personal=e.personal, now=parse_time(e.created))
            assert (again.index, again.leaf_hash) == (e.index, e.leaf_hash)
        assert one.verify(check_files=False).root_hash == log.verify(check_files=False).root_hash
    monkeypatch.undo()


def wait_for_queue(group, n: int) -> None:  # type: ignore[no-untyped-def]
    """Hold the batch in flight until ``n`` appends queued behind it (at most 30 s)."""
    deadline = time.monotonic() + 30
    while len(group._queue) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def test_threads_appending_at_once_give_the_one_by_one_log(
    log_url: str, key_path: Path, tmp_path: Path, raw, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pin = tmp_path / "audit-checkpoint.txt"
    threads, each = 16, 25
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        log.verifier_key()
        go = threading.Barrier(threads)

        def writer(w: int) -> list[tuple[int, str, str]]:
            go.wait()
            got = []
            for i in range(each):
                ev = event(w, i)
                e = log.append(ev.kind, ev.data, personal=ev.personal)
                assert (e.data, e.personal) == (ev.data, ev.personal)  # its own entry back
                got.append((e.index, e.leaf_hash, e.data["record_id"]))
            return got

        with ThreadPoolExecutor(max_workers=threads) as pool:
            returned = [x for got in pool.map(writer, range(threads)) for x in got]
        assert sorted(i for i, _, _ in returned) == list(range(threads * each))
        stored = {e.index: (e.leaf_hash, e.data["record_id"]) for e in log.entries()}
        assert {i: (leaf, rid) for i, leaf, rid in returned} == stored
        for w in range(threads):  # each thread's own appends stay in its order
            mine = [e.data["n"] for e in log.entries() if e.data["writer"] == w]
            assert mine == list(range(each))
        check = log.verify()
        assert check.verified and check.size == threads * each, check.reason
        assert CheckpointFile(pin).read().size == threads * each  # type: ignore[union-attr]
        vkey = log.verifier_key()
        for i in (0, 1, 137, threads * each - 1):
            verify_inclusion(log.prove(i), vkey)
        assert_one_by_one(log, salts_of(raw), tmp_path, monkeypatch)


def test_a_batch_is_one_transaction_one_signature_one_file_write(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}", checkpoint_path=pin) as log:
        log.verifier_key()
        store, group = log._store, log._group
        calls: list[int] = []
        writes: list[int] = []
        real_append, real_write = store.append, CheckpointFile._write

        def append(plan):  # type: ignore[no-untyped-def]
            def slow(head):  # type: ignore[no-untyped-def]
                made = plan(head)  # the batch is taken (the first leader's append, maybe one more)
                if not calls:  # ... and its transaction lasts until all the others queued behind it
                    wait_for_queue(group, 16 - len(made.entries))
                return made

            made = real_append(slow)
            calls.append(len(made.entries))
            return made

        monkeypatch.setattr(store, "append", append)
        monkeypatch.setattr(
            CheckpointFile, "_write", lambda self, note: writes.append(1) or real_write(self, note)
        )
        with ThreadPoolExecutor(max_workers=16) as pool:
            entries = list(pool.map(lambda i: log.append("generation.failed", {"n": i}), range(16)))
        # 16 appends in at most two transactions, each with one write of the checkpoint file.
        assert sum(calls) == 16 and len(calls) <= 2 and len(writes) == len(calls)
        assert sorted(e.index for e in entries) == list(range(16))
        assert log.verify().verified


def test_a_failed_batch_fails_every_append_in_it_and_writes_none(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log:
        log.append("generation.failed", {"n": -1})
        store, group = log._store, log._group
        real_append = store.append
        state = {"batches": 0}

        def append(plan):  # type: ignore[no-untyped-def]
            state["batches"] += 1
            if state["batches"] == 1:

                def slow(head):  # type: ignore[no-untyped-def]
                    made = plan(head)
                    wait_for_queue(group, 8 - len(made.entries))
                    return made

                return real_append(slow)

            def failing(head):  # type: ignore[no-untyped-def]
                plan(head)  # the whole batch is planned, then its transaction fails
                raise AuditError("SQLite audit log write failed: disk I/O error")

            return real_append(failing)

        monkeypatch.setattr(store, "append", append)

        def one(i: int) -> object:
            try:
                return log.append("generation.failed", {"n": i}).index
            except AuditError as e:
                return str(e)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(one, range(8)))
        ok = sorted(r for r in results if isinstance(r, int))
        assert ok == list(range(1, len(ok) + 1)) and len(ok) <= 2
        assert [r for r in results if isinstance(r, str)] == [
            "SQLite audit log write failed: disk I/O error"
        ] * (8 - len(ok))
        monkeypatch.undo()
        after = len(ok) + 1
        assert log.append("generation.failed", {"n": 99}).index == after  # no gap, nothing half-written
        assert [e.data["n"] for e in log.entries()][after] == 99
        assert log.verify().ok


def test_a_leader_interrupted_fails_its_batch_and_the_others_go_on(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log:
        log.append("generation.failed", {"n": -1})
        store, group = log._store, log._group
        real_append = store.append
        state = {"batches": 0}

        def append(plan):  # type: ignore[no-untyped-def]
            state["batches"] += 1
            if state["batches"] == 1:

                def slow(head):  # type: ignore[no-untyped-def]
                    made = plan(head)
                    wait_for_queue(group, 6 - len(made.entries))
                    return made

                return real_append(slow)
            if state["batches"] == 2:
                raise KeyboardInterrupt  # Ctrl-C reaching the thread that is about to commit
            return real_append(plan)

        monkeypatch.setattr(store, "append", append)

        def one(i: int) -> object:
            try:
                return log.append("generation.failed", {"n": i}).index
            except KeyboardInterrupt:
                return "interrupt"
            except AuditError as e:
                return str(e)

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(one, range(6)))
        ok = sorted(r for r in results if isinstance(r, int))
        assert ok == list(range(1, len(ok) + 1)) and len(ok) <= 2
        assert sorted(r for r in results if isinstance(r, str)) == [
            "interrupt",
            *["the batch holding this append was interrupted; it may not be in the log"] * (5 - len(ok)),
        ]
        with ThreadPoolExecutor(max_workers=4) as pool:  # the lead was handed on: nobody waits forever
            after = list(pool.map(lambda i: log.append("generation.failed", {"n": i}).index, range(4)))
        assert sorted(after) == list(range(len(ok) + 1, len(ok) + 5))
        assert log.verify().ok


def test_append_many_equals_n_appends(log_url: str, key_path: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    moment = parse_time("2026-12-02T10:00:00Z")
    events = [
        AuditEvent(e.kind, e.data, e.personal, now=moment.replace(microsecond=i))
        for i, e in enumerate(event(w, i) for w in range(3) for i in range(7))
    ]
    salts = (bytes([i]) * 16 for i in range(10_000))
    monkeypatch.setattr(_group, "urandom", lambda n: next(salts))
    with AuditLog.open(log_url, key_path=key_path) as log:
        log.append("generation.failed", {"first": True}, now=moment)
        many = log.append_many(events)
        assert log.append_many([]) == []
        many_check = log.verify()
    salts = (bytes([i]) * 16 for i in range(10_000))
    with AuditLog.open(f"sqlite:///{tmp_path / 'one.db'}", key_path=key_path) as one:
        one.append("generation.failed", {"first": True}, now=moment)
        single = [one.append(e.kind, e.data, personal=e.personal, now=e.now) for e in events]
        one_check = one.verify()
    assert many == single
    assert [e.index for e in many] == list(range(1, 22))
    assert many_check.ok and one_check.ok
    assert many_check.root_hash == one_check.root_hash


def test_append_many_is_all_or_nothing(log_url: str, key_path: Path, tmp_path: Path, raw) -> None:  # type: ignore[no-untyped-def]
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        log.append_many([event(0, i) for i in range(4)])
        before = raw.dump()
        with pytest.raises(AuditError, match="unknown audit event kind 'image.made'"):
            log.append_many([event(1, 0), AuditEvent("image.made", {})])
        with pytest.raises(AuditError, match="append_many takes AuditEvent items, not tuple"):
            log.append_many([event(1, 0), ("image.released", {})])  # type: ignore[list-item]
        assert raw.dump() == before
        fill = [event(1, i) for i in range(3)]
        log.append_many(fill)
        newer = raw.dump()
        raw.load(before)  # the database rolled back behind the checkpoint file
        with pytest.raises(TamperError, match="log rolled back from 7 to 4 entries .* refusing to write"):
            log.append_many([event(2, 0), event(2, 1)])
        with ThreadPoolExecutor(max_workers=4) as pool:  # every thread of every batch refused
            errors = list(pool.map(lambda i: _refused(log, i), range(8)))
        assert errors == ["log rolled back from 7 to 4 entries"] * 8
        assert raw.dump() == before
        raw.load(newer)
        assert [e.index for e in log.append_many([event(3, 0), event(3, 1)])] == [7, 8]
        assert CheckpointFile(pin).read().size == 9  # type: ignore[union-attr]
        # A batch whose search columns and subjects are all NULL (PostgreSQL types them anyway).
        bare = log.append_many([AuditEvent("generation.failed", {"n": i}, {"prompt": "x"}) for i in range(3)])
        assert [e.index for e in bare] == [9, 10, 11] and bare[2].personal == {"prompt": "x"}
        assert log.verify().verified


def _refused(log: AuditLog, i: int) -> str:
    try:
        log.append("generation.failed", {"n": i})
    except TamperError as e:
        return str(e).split(" (")[0]
    return "appended"


# --- processes --------------------------------------------------------------------------------


def _process_writer(url: str, key: str, pin: str, w: int, threads: int, each: int, out: str, go) -> None:  # type: ignore[no-untyped-def]
    """Append from ``threads`` threads; write a line to ``out`` for each append once it returned."""
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with AuditLog.open(url, key_path=Path(key), checkpoint_path=Path(pin)) as log:
        go.wait()

        def thread(t: int) -> None:
            for i in range(each):
                ev = event(w * 100 + t, i)
                e = log.append(ev.kind, ev.data, personal=ev.personal)
                assert (e.data, e.personal) == (ev.data, ev.personal)
                os.write(fd, f"{e.index} {e.leaf_hash} {e.data['record_id']}\n".encode())

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(thread, range(threads)))
    os.close(fd)


def acknowledged(out: Path) -> dict[int, tuple[str, str]]:
    lines = out.read_text().splitlines() if out.exists() else []
    return {int(i): (leaf, rid) for i, leaf, rid in (line.split() for line in lines)}


def test_processes_appending_at_once_give_the_one_by_one_log(
    log_url: str, key_path: Path, tmp_path: Path, raw, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pin, out = tmp_path / "audit-checkpoint.txt", tmp_path / "acks.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        log.verifier_key()
        ctx = mp.get_context("fork")
        go = ctx.Event()
        args = (log_url, str(key_path), str(pin))
        procs = [ctx.Process(target=_process_writer, args=(*args, w, 8, 20, str(out), go)) for w in range(2)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(timeout=300)
        assert [p.exitcode for p in procs] == [0, 0]
        acks = acknowledged(out)
        assert sorted(acks) == list(range(2 * 8 * 20))
        assert {e.index: (e.leaf_hash, e.data["record_id"]) for e in log.entries()} == acks
        check = log.verify()
        assert check.verified and check.size == 320, check.reason
        assert CheckpointFile(pin).read().size == 320  # type: ignore[union-attr]
        assert_one_by_one(log, salts_of(raw), tmp_path, monkeypatch)


def test_a_writer_killed_mid_batch_loses_no_acknowledged_entry(
    log_url: str, key_path: Path, tmp_path: Path
) -> None:
    pin = tmp_path / "audit-checkpoint.txt"
    rng = random.Random(22)
    ctx = mp.get_context("fork")
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        log.verifier_key()
    acks: dict[int, tuple[str, str]] = {}
    for round_ in range(10):  # ten kills, each of one of eight writer processes
        out = tmp_path / f"acks-{round_}.txt"
        go = ctx.Event()
        args = (log_url, str(key_path), str(pin))
        first = 8 * round_
        victim = ctx.Process(target=_process_writer, args=(*args, first, 8, 400, str(out), go))
        others = [
            ctx.Process(target=_process_writer, args=(*args, first + k, 2, 10, str(out), go))
            for k in range(1, 8)
        ]
        for p in (victim, *others):
            p.start()
        go.set()
        deadline = time.monotonic() + 60
        while len(acknowledged(out)) < 20 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))  # somewhere in a batch, or between two
        os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
        victim.join(timeout=60)
        for p in others:
            p.join(timeout=120)
        assert victim.exitcode == -signal.SIGKILL and [p.exitcode for p in others] == [0] * 7
        acks.update(acknowledged(out))
        with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
            stored = {e.index: (e.leaf_hash, e.data.get("record_id", str(e.index))) for e in log.entries()}
            for index, ack in acks.items():  # every append that returned is there, as returned
                assert stored[index] == ack
            assert len({rid for _, rid in stored.values()}) == len(stored)  # none twice
            check = log.verify()
            assert check.verified, check.reason
            size = check.size
            assert log.append("generation.failed", {"round": round_}).index == size  # no gap


def _open_and_append(url: str, key: str, w: int, go) -> None:  # type: ignore[no-untyped-def]
    go.wait()
    with AuditLog.open(url, key_path=Path(key)) as log:
        log.append("generation.failed", {"writer": w})


def test_a_fleet_starting_on_a_new_log_at_once(log_url: str, key_path: Path) -> None:
    """Eight processes open a log nobody created yet (a new PostgreSQL schema, a new SQLite file)
    in the same instant: all of them append."""
    with AuditLog.open(f"sqlite:///{key_path.parent.parent / 'key-maker.db'}", key_path=key_path) as k:
        k.verifier_key()  # the key file exists before the race, as on a provisioned machine
    ctx = mp.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_open_and_append, args=(log_url, str(key_path), w, go)) for w in range(8)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 8
    with AuditLog.open(log_url, key_path=key_path) as log:
        assert sorted(e.data["writer"] for e in log.entries()) == list(range(8))
        assert log.verify().ok
