"""Audit log throughput: hallmark's durable appends beside plain INSERTs, verification, proofs.

Prints, for SQLite and PostgreSQL, appends/s with 1, 8 and 32 writer threads in one process (and
on PostgreSQL with 2 and 8 processes), concurrent appends being group-committed, next to plain
one-row ``INSERT`` transactions of the same rows from as many threads and processes (same
durability settings) in the same run, as a ratio; ``append_many`` on SQLite beside the one-thread
plain INSERTs; then full verification entries/s and the inclusion-proof time in a
1,000,000-entry log.

    PYTHONPATH=. python bench/audit_throughput.py [--appends 2000] [--verify-size 200000]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--no-pg]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import queue
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hallmark.audit import AuditEvent, AuditLog, open_store, verify_inclusion  # noqa: E402
from hallmark.audit._checkpoint import CheckpointSigner  # noqa: E402
from hallmark.audit._entry import canonical_json  # noqa: E402
from hallmark.audit._merkle import frontier_root, hash_leaf, inclusion_path, push_leaf  # noqa: E402
from hallmark.audit._store import Head  # noqa: E402


def sample(i: int) -> tuple[dict, dict]:
    rid = str(uuid.UUID(int=i + 1))
    data = {
        "record_id": rid,
        "path": f"/srv/out/{rid}.png",
        "sha256": f"{i:064x}",
        "scheme_id": "hallmark.dwtdctsvd.bch48",
        "payload": f"{i:012x}",
        "decisions": {
            "prompt": {"action": "allow", "findings": []},
            "image": {"action": "allow", "scores": {"nsfw": 0.01}},
        },
        "model": "tiny",
        "seed": i,
        "params": {"steps": 2, "size": 512, "guidance": 7.5},
        "policy": {"id": "default", "version": 1, "digest": "ab" * 32},
        "stages": {"enabled": ["prompt", "image", "watermark", "c2pa"], "skipped": []},
        "manifest": {"claim_generator": "hallmark/0.1", "signature": "es256"},
    }
    return data, {"prompt": "a lighthouse at dawn, <EMAIL_ADDRESS>", "user": f"user{i % 17}"}


def _threads(count: int, per: int, work) -> None:  # type: ignore[no-untyped-def]
    """Run ``work(start, per)`` in ``count`` threads, each on its own range of sample rows."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(lambda t: work(t * per, per), range(count)))


def _append_worker(url: str, key: str, threads: int, start: int, per: int, go, q: mp.Queue) -> None:
    with AuditLog.open(url, key_path=Path(key)) as log:
        log.verifier_key()  # load the key before the clock starts

        def work(first: int, count: int) -> None:
            for i in range(start + first, start + first + count):
                data, personal = sample(i)
                log.append("image.released", data, personal=personal)

        go.wait()
        t = time.time()
        _threads(threads, per // threads, work)
        q.put((t, time.time()))


def _append_many_worker(url: str, key: str, batch: int, start: int, per: int, go, q: mp.Queue) -> None:
    with AuditLog.open(url, key_path=Path(key)) as log:
        log.verifier_key()
        events = [AuditEvent("image.released", *sample(i)) for i in range(start, start + per)]
        go.wait()
        t = time.time()
        for i in range(0, per, batch):
            log.append_many(events[i : i + batch])
        q.put((t, time.time()))


def _plain_sqlite_worker(path: str, threads: int, start: int, per: int, go, q: mp.Queue) -> None:
    def work(first: int, count: int) -> None:
        db = sqlite3.connect(path, isolation_level=None, timeout=60)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        for i in range(start + first, start + first + count):
            data, personal = sample(i)
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO plain (body, personal) VALUES (?, ?)",
                (canonical_json(data), json.dumps(personal)),
            )
            db.execute("COMMIT")
        db.close()

    go.wait()
    t = time.time()
    _threads(threads, per // threads, work)
    q.put((t, time.time()))


def _plain_pg_worker(url: str, table: str, threads: int, start: int, per: int, go, q: mp.Queue) -> None:
    import psycopg

    conns = [psycopg.connect(url, autocommit=True) for _ in range(threads)]

    def work(first: int, count: int) -> None:
        conn = conns[first // (per // threads)]
        for i in range(start + first, start + first + count):
            data, personal = sample(i)
            conn.execute(
                f"INSERT INTO {table} (body, personal) VALUES (%s, %s)",
                (canonical_json(data), json.dumps(personal)),
            )

    go.wait()
    t = time.time()
    _threads(threads, per // threads, work)
    q.put((t, time.time()))
    for c in conns:
        c.close()


def run_workers(target, args: tuple, procs: int, per: int) -> float:
    """Start ``procs`` processes, release them together; return rows per second (first start to last end)."""
    q: mp.Queue = mp.Queue()
    go = mp.Event()
    ps = [mp.Process(target=target, args=(*args, w * per, per, go, q)) for w in range(procs)]
    for p in ps:
        p.start()
    time.sleep(1.0)  # let every worker connect and import
    go.set()
    spans = []
    while len(spans) < procs:  # a worker that died never reports: fail instead of waiting forever
        try:
            spans.append(q.get(timeout=5))
        except queue.Empty:
            dead = [p.exitcode for p in ps if p.exitcode not in (None, 0)]
            if dead:
                raise SystemExit(f"a benchmark worker failed (exit codes {dead})") from None
    for p in ps:
        p.join()
    return procs * per / (max(e for _, e in spans) - min(s for s, _ in spans))


# (processes, threads per process): the writers of one log.
SQLITE_WRITERS = ((1, 1), (1, 8), (1, 32))
PG_WRITERS = ((1, 1), (1, 8), (1, 32), (2, 8), (8, 4))
MANY_BATCH = 1000


def _label(store: str, procs: int, threads: int) -> str:
    return f"{store}, {procs} proc x {threads} thread(s)"


def bench_appends(tmp: Path, pg_url: str | None, n: int, rounds: int) -> list[tuple[str, float, float]]:
    """Appends/s, hallmark and plain one-row INSERT transactions taking turns ``rounds`` times
    (medians): the disk is shared and noisy, and alternating keeps both sides under the same
    conditions.  Each configuration writes ``n`` rows in all."""
    key = str(tmp / "bench.key")
    rows = []
    for procs, threads in SQLITE_WRITERS:
        per = n // procs // threads * threads
        ours, base = [], []
        for r in range(rounds):
            db = tmp / f"log-{procs}-{threads}-{r}.db"
            ours.append(run_workers(_append_worker, (f"sqlite:///{db}", key, threads), procs, per))
            plain = tmp / f"plain-{procs}-{threads}-{r}.db"
            c = sqlite3.connect(plain)
            c.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, body BLOB, personal TEXT)")
            c.close()
            base.append(run_workers(_plain_sqlite_worker, (str(plain), threads), procs, per))
        rows.append((_label("sqlite", procs, threads), statistics.median(ours), statistics.median(base)))
    many = []
    for r in range(rounds):
        db = tmp / f"many-{r}.db"
        many.append(run_workers(_append_many_worker, (f"sqlite:///{db}", key, MANY_BATCH), 1, n * 4))
    plain_one = next(b for label, _, b in rows if label == _label("sqlite", 1, 1))
    rows.append((f"sqlite, append_many({MANY_BATCH}), 1 proc", statistics.median(many), plain_one))
    if pg_url:
        import psycopg

        for procs, threads in PG_WRITERS:
            per = n // procs // threads * threads
            ours, base = [], []
            for _ in range(rounds):
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                table = f"plain_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(pg_url, autocommit=True) as conn:
                    conn.execute(
                        f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, body BYTEA, personal TEXT)"
                    )
                try:
                    sep = "&" if "?" in pg_url else "?"
                    url = f"{pg_url}{sep}schema={schema}"
                    ours.append(run_workers(_append_worker, (url, key, threads), procs, per))
                    base.append(run_workers(_plain_pg_worker, (pg_url, table, threads), procs, per))
                finally:
                    with psycopg.connect(pg_url, autocommit=True) as conn:
                        conn.execute(f"DROP TABLE IF EXISTS {table}")
                        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            rows.append(
                (_label("postgresql", procs, threads), statistics.median(ours), statistics.median(base))
            )
    return rows


def synthesize(path: Path, key: Path, size: int) -> None:
    """Fill a new SQLite log with ``size`` well-formed, chained, signed entries.

    Written in bulk (one transaction, straight into the tables) because a million durable
    appends would take the whole benchmark; the result is byte-for-byte what appends produce.
    """
    store = open_store(f"sqlite:///{path}")
    origin = store.initialize(origin="hallmark/audit/bench")
    signer = CheckpointSigner.from_file(key, name=origin, create=True)
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    state = {"prev": None, "leaf": b""}
    created = "2026-11-24T00:00:00.000000Z"

    def rows():
        for i in range(size):
            data, _ = sample(i)
            body = canonical_json(
                {
                    "index": i,
                    "kind": "image.released",
                    "created": created,
                    "data": data,
                    "personal": None,
                    "prev": state["prev"],
                }
            )
            leaf = hash_leaf(body)
            nodes.extend(push_leaf(frontier, i, leaf))
            state["prev"], state["leaf"] = leaf.hex(), leaf
            yield (
                i,
                "image.released",
                created,
                data["record_id"],
                data["payload"],
                data["sha256"],
                body,
                leaf,
            )

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO audit_entries (idx, kind, created, record_id, payload, sha256, body, leaf)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    db.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    db.execute("COMMIT")
    db.close()
    root = frontier_root(frontier)
    head = Head(
        size=size,
        root=root,
        frontier=frontier,
        last_leaf=state["leaf"],
        note=signer.sign(origin, size, root).note,
        vkey=str(signer.verifier),
    )
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "UPDATE audit_head SET size = ?, root = ?, frontier = ?, last_leaf = ?, note = ?, vkey = ? WHERE id = 1",
        (head.size, head.root, b"".join(head.frontier), head.last_leaf, head.note, head.vkey),
    )
    db.close()
    store.close()


def bench_verify(tmp: Path, size: int) -> dict[str, float]:
    """Entries/s of AuditLog.verify beside reading the same rows (and reading + hashing them)."""
    import hashlib
    import random

    db = tmp / "verify.db"
    key = tmp / "verify.key"
    t = time.perf_counter()
    synthesize(db, key, size)
    out = {"build_s": time.perf_counter() - t}
    c = sqlite3.connect(db)
    for _ in c.execute("SELECT idx, body, leaf FROM audit_entries ORDER BY idx"):  # warm the page cache
        pass
    t = time.perf_counter()
    for _ in c.execute("SELECT idx, body, leaf FROM audit_entries ORDER BY idx"):
        pass
    out["read"] = size / (time.perf_counter() - t)
    t = time.perf_counter()
    for _, body, _ in c.execute("SELECT idx, body, leaf FROM audit_entries ORDER BY idx"):
        hashlib.sha256(b"\x00" + body).digest()
    out["read_hash"] = size / (time.perf_counter() - t)
    c.close()
    with AuditLog.open(f"sqlite:///{db}", key_path=key) as log:
        for label, kw in (
            ("verify_core", {"check_files": False, "check_index": False}),
            ("verify_index", {"check_files": False}),
            ("verify_all", {}),
        ):
            t = time.perf_counter()
            check = log.verify(**kw)
            out[label] = size / (time.perf_counter() - t)
            assert check.ok, check.reason
        vkey = log.verifier_key()
        rng = random.Random(1)
        prove_ms, check_ms = [], []
        for _ in range(200):
            i = rng.randrange(size)
            t = time.perf_counter()
            proof = log.prove(i)
            prove_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            verify_inclusion(proof, vkey)
            check_ms.append((time.perf_counter() - t) * 1000)
    out["prove_ms"] = statistics.median(prove_ms)
    out["verify_proof_ms"] = statistics.median(check_ms)
    return out


def bench_proof_million() -> tuple[float, float]:
    """Median inclusion-proof time in an in-memory 1,000,000-leaf tree, and the root computation time."""
    import hashlib
    import random

    size = 1_000_000
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size)]
    t = time.perf_counter()
    frontier: list[bytes] = []
    levels: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(leaves):
        levels[(0, i)] = leaf
        for level, idx, h in push_leaf(frontier, i, leaf):
            levels[(level, idx)] = h
    build = time.perf_counter() - t
    rng = random.Random(7)
    times = []
    for _ in range(200):
        i = rng.randrange(size)
        t = time.perf_counter()
        inclusion_path(lambda lv, ix: levels[(lv, ix)], i, size)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=2000, help="rows per configuration")
    ap.add_argument("--verify-size", type=int, default=1_000_000)
    ap.add_argument("--skip-appends", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per configuration (medians)")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    pg = None if args.no_pg else args.pg
    if pg:
        try:
            import psycopg

            psycopg.connect(pg, connect_timeout=3).close()
        except Exception as e:  # the bench still reports SQLite without a server
            print(f"postgresql unreachable ({type(e).__name__}): skipped")
            pg = None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(
            f"durable appends ({args.appends} rows; baseline = plain INSERT of the same rows, same fsync settings)"
        )
        for label, ours, base in (
            [] if args.skip_appends else bench_appends(tmp, pg, args.appends, args.rounds)
        ):
            print(f"  {label:38s} hallmark {ours:8.0f}/s   plain {base:8.0f}/s   ratio {ours / base:5.2f}")
        v = bench_verify(tmp, args.verify_size)
        n = args.verify_size
        print(f"full verification of {n:,} entries (SQLite, built in {v['build_s']:.0f} s):")
        print(
            f"  hallmark verify, hashes/chain/tree/signatures/personal  {v['verify_core']:10,.0f} entries/s"
        )
        print(f"  ... + search columns held to the entries              {v['verify_index']:10,.0f} entries/s")
        print(f"  ... + released files checked (the default)            {v['verify_all']:10,.0f} entries/s")
        for key, label in (("read", "read rows"), ("read_hash", "read rows + sha256")):
            print(
                f"  baseline: {label:44s} {v[key]:10,.0f} rows/s  (core ratio {v['verify_core'] / v[key]:.2f})"
            )
        print(
            f"inclusion proof from the SQLite store of {n:,} entries: prove {v['prove_ms']:.2f} ms,"
            f" verify offline {v['verify_proof_ms']:.2f} ms (medians of 200)"
        )
        med, build = bench_proof_million()
        print(
            f"inclusion proof, 1,000,000-entry tree in memory: {med:.3f} ms median (tree built in {build:.1f} s)"
        )


if __name__ == "__main__":
    main()
