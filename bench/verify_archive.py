"""Bulk verification's memory does not grow with the archive: peak RSS of ``hallmark verify DIR
--jsonl FILE`` over N and 10×N files, and the same run resumed after all were reported.

Each run is a fresh process (the CLI as a user runs it); its peak RSS is read from the kernel
(``RUSAGE_CHILDREN``, so each run is measured in a child of its own) and printed beside the
baseline of the same run over a tenth of the files, with files/s.

    PYTHONPATH=. python bench/verify_archive.py [--n 1000] [--workers 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_archive(folder: Path, n: int, *, seed: int = 5) -> Path:
    """``n`` distinct 256 px JPEGs (q90) in nested folders of 500."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = folder / f"{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((256, 256), Image.Resampling.BICUBIC).save(
            sub / f"{i:06d}.jpg", quality=90
        )
    return folder


def run(folder: Path, log: Path, *, home: Path, workers: int, resume: bool) -> tuple[float, float, int]:
    """Seconds, peak RSS in MiB of the verify process (and its workers, the largest), lines logged."""
    env = {**os.environ, "HALLMARK_HOME": str(home), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "hallmark", "verify", str(folder), "--workers", str(workers)]
    args += ["--resume" if resume else "--jsonl", str(log)]
    script = (
        "import resource, subprocess, sys; "
        f"r = subprocess.run({args!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    secs = time.perf_counter() - t0
    kib, code = (int(v) for v in out.stdout.split())
    if code not in (0, 1):
        raise SystemExit(f"hallmark verify exited {code}")
    with open(log, encoding="utf-8") as f:
        count = sum(1 for line in f if json.loads(line))
    return secs, kib / 1024, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="the small archive; the large one is 10x")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    print(f"# bulk verify: {args.n:,} and {10 * args.n:,} files of 256 px JPEG, --workers {args.workers}")
    print(f"# cpu: {os.cpu_count()} cores; peak RSS read from the kernel (ru_maxrss) per run")
    print("| run | files | seconds | files/s | peak RSS MiB | reports in the file |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from hallmark.provenance import init_keys

        init_keys(root / "home" / "keys")  # a home with keys: every file is read for our watermark
        results = {}
        for label, n in (("baseline: a tenth", args.n), ("archive", 10 * args.n)):
            folder = make_archive(root / f"a{n}", n)
            log = root / f"r{n}.jsonl"
            secs, rss, count = run(folder, log, home=root / "home", workers=args.workers, resume=False)
            results[label] = rss
            print(f"| {label} | {n:,} | {secs:.0f} | {n / secs:.0f} | {rss:.0f} | {count:,} |")
            sys.stdout.flush()
            if label == "archive":
                secs, rss, count = run(folder, log, home=root / "home", workers=args.workers, resume=True)
                print(
                    f"| archive, resumed (all on record) | {n:,} | {secs:.0f} | {n / secs:.0f} | {rss:.0f} | {count:,} |"
                )
        ratio = results["archive"] / results["baseline: a tenth"]
        print(f"peak RSS over 10x the files: x{ratio:.2f} (target: under 500 MiB whatever the count)")


if __name__ == "__main__":
    main()
