"""``hallmark serve``'s verify API beside the same verification in-process and c2pa-python's
Reader alone, measured in the same run.

A home gets keys and 1024 px JPEG images released by the built-in tiny model, plus a stripped,
re-saved copy of each (no manifest: the watermark path).  Then, over the same files:

- c2pa-python's ``Reader`` on the bytes (the floor of reading a manifest);
- in-process ``Verifier.from_home(home).verify(bytes)``, the library call the server makes;
- ``hallmark serve`` (a subprocess on a loopback port, 1 and 2 uvicorn workers), driven by httpx
  clients posting each file as the raw body, 1 and 4 at a time, for a bounded time each.

It prints requests/s and p50/p99 latency, and the server's per-request overhead: its p50 at one
client over the in-process median (target: at most 1.15).

    PYTHONPATH=. python bench/serve_throughput.py [--n 4] [--seconds 15]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def prepare(root: Path, n: int) -> tuple[Path, list[bytes]]:
    """A home with ``n`` released 1024 px JPEGs and a stripped copy of each; the files' bytes."""
    from PIL import Image

    home, out = root / "home", root / "out"
    env = {**os.environ, "HALLMARK_HOME": str(home)}
    env.pop("HALLMARK_AUDIT_URL", None)
    cli = [sys.executable, "-m", "hallmark"]
    subprocess.run([*cli, "keys", "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "generate", "a lighthouse at dawn", "-n", str(n), "--size", "1024", "--format", "jpeg",
         "--seed", "3", "--out", str(out)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    files = [p.read_bytes() for p in sorted(out.glob("*.jpg"))]
    stripped = []
    for data in files:
        buf = io.BytesIO()
        Image.open(io.BytesIO(data)).convert("RGB").save(buf, "JPEG", quality=90)
        stripped.append(buf.getvalue())
    return home, files + stripped


def timed(fn, items: list[bytes], rounds: int) -> list[float]:  # noqa: ANN001 - a callable on bytes
    """Seconds per call, every item ``rounds`` times."""
    out = []
    for _ in range(rounds):
        for data in items:
            t0 = time.perf_counter()
            fn(data)
            out.append(time.perf_counter() - t0)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path, workers: int) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {**os.environ, "HALLMARK_HOME": str(home)}
    env.pop("HALLMARK_AUDIT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hallmark", "serve", "--port", str(port), "--workers", str(workers),
         "--verify-rate", "1000000", "--home", str(home)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("hallmark serve did not answer /v1/health within 120 s")


def load(url: str, items: list[bytes], *, clients: int, seconds: float) -> tuple[int, list[float], int]:
    """``clients`` threads posting the items in turn for ``seconds``: requests done, latencies,
    non-200 answers."""
    import httpx

    lock = threading.Lock()
    latencies: list[float] = []
    failures = [0]
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = offset
            while time.monotonic() < stop:
                data = items[i % len(items)]
                t0 = time.perf_counter()
                r = http.post(f"{url}/v1/verify", content=data, headers={"content-type": "image/jpeg"})
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    failures[0] += r.status_code != 200
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, failures[0]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4, help="released images (each also stripped)")
    parser.add_argument("--seconds", type=float, default=15.0, help="load per server configuration")
    parser.add_argument("--rounds", type=int, default=3, help="in-process passes over the files")
    args = parser.parse_args()
    import c2pa

    from hallmark.pipeline import Verifier

    with tempfile.TemporaryDirectory() as tmp:
        home, items = prepare(Path(tmp), args.n)
        print(f"# hallmark serve vs in-process verify: {len(items)} files of 1024 px JPEG "
              f"({args.n} signed, {args.n} stripped); {os.cpu_count()} cores, shared")  # fmt: skip
        verifier = Verifier.from_home(home)

        def reader(data: bytes) -> None:
            try:
                with c2pa.Reader("image/jpeg", io.BytesIO(data)) as r:
                    r.json()
            except c2pa.C2paError.ManifestNotFound:
                pass

        for data in items:  # warm both: first calls load libraries and models
            reader(data)
            verifier.verify(data)
        base = timed(reader, items, args.rounds)
        inproc = timed(verifier.verify, items, args.rounds)
        rows = [
            ("c2pa-python Reader alone (baseline)", len(base) / sum(base), base),
            ("in-process verify (Verifier.verify)", len(inproc) / sum(inproc), inproc),
        ]
        overhead = None
        for workers in (1, 2):
            proc, url = serve(home, workers)
            try:
                load(url, items, clients=1, seconds=2.0)  # warm the server's worker processes
                for clients in (1, 4):
                    done, lat, bad = load(url, items, clients=clients, seconds=args.seconds)
                    label = f"hallmark serve, {workers} worker(s), {clients} client(s)"
                    if bad:
                        label += f" ({bad} not 200)"
                    rows.append((label, done / args.seconds, lat))
                    if workers == 1 and clients == 1:
                        overhead = statistics.median(lat) / statistics.median(inproc)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        print("| what | req/s | p50 ms | p99 ms |")
        print("|---|---|---|---|")
        for label, rate, lat in rows:
            print(f"| {label} | {rate:.1f} | {1000 * pct(lat, 0.5):.1f} | {1000 * pct(lat, 0.99):.1f} |")
        if overhead is not None:
            print(f"server p50 at one client / in-process median: x{overhead:.2f} (target: at most x1.15)")


if __name__ == "__main__":
    main()
