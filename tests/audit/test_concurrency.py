"""Eight processes append 250 entries each to one log: consecutive indexes, none lost, all proofs verify."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from hallmark.audit import AuditLog, verify_consistency, verify_inclusion

WRITERS = 8
EACH = 250


def _writer(url: str, key: str, w: int, go) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(url, key_path=Path(key)) as log:
        go.wait()
        for i in range(EACH):
            log.append("image.released", {"record_id": f"w{w}-{i}", "writer": w, "n": i})


def test_eight_writers(log_url: str, key_path: Path) -> None:
    with AuditLog.open(log_url, key_path=key_path) as log:
        log.verifier_key()  # create the key once, before the writers race for it
        ctx = mp.get_context("fork")
        go = ctx.Event()
        procs = [ctx.Process(target=_writer, args=(log_url, str(key_path), w, go)) for w in range(WRITERS)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(timeout=300)
        assert [p.exitcode for p in procs] == [0] * WRITERS
        entries = list(log.entries())
        assert [e.index for e in entries] == list(range(WRITERS * EACH))
        seen = {(e.data["writer"], e.data["n"]) for e in entries}
        assert len(seen) == WRITERS * EACH  # none lost, none twice
        for w in range(WRITERS):  # each writer's own appends stay in order
            mine = [e.data["n"] for e in entries if e.data["writer"] == w]
            assert mine == list(range(EACH))
        check = log.verify()
        assert check.ok and check.size == WRITERS * EACH, check.reason
        vkey = log.verifier_key()
        for i in range(0, WRITERS * EACH, 7):
            verify_inclusion(log.prove(i), vkey)
        verify_inclusion(log.prove(WRITERS * EACH - 1), vkey)
        for m in (1, 250, 1000, 1999):
            verify_consistency(log.prove_consistency(m), vkey)


def test_threads_share_one_log(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: log.append("generation.failed", {"n": i}), range(40)))
        assert sorted(e.data["n"] for e in log.entries()) == list(range(40))
        assert log.verify().ok
