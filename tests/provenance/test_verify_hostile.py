"""Hostile files at default limits: every one is answered within 1 GiB of memory and 10 s, and
only regular files are ever read.

Each bomb is verified in a child process whose own peak RSS is read with ``wait4``; the files
are small on disk and declare canvases just under the limits (or far over them).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from hallmark.errors import InputError
from hallmark.provenance import verify_image

GIB = 1024**3
# The child reports its own high-water mark (VmHWM belongs to the address space made at exec;
# the rusage figures would count the forking test process's pages too).
CHILD = (
    "import sys\n"
    "from hallmark.provenance import verify_image\n"
    "report = verify_image(sys.argv[1])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
    "print(report.verdict.value, int(hwm) * 1024)\n"
)


def png_of_zeros(path: Path, width: int, height: int) -> None:
    """A black RGB PNG of any size, written row by row (a few hundred KB on disk)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def bombs(folder: Path) -> dict[str, Path]:
    made = {
        "png 100 MP": folder / "bomb.png",
        "png far over the limit": folder / "huge.png",
        "jpeg 100 MP": folder / "bomb.jpg",
        "gif 100 MP": folder / "bomb.gif",
        "tiff 100 MP": folder / "bomb.tif",
        "webp 40 MP": folder / "bomb.webp",
    }
    png_of_zeros(made["png 100 MP"], 10_000, 9_999)
    png_of_zeros(made["png far over the limit"], 60_000, 60_000)
    grey = Image.new("L", (10_000, 9_999))
    grey.save(made["jpeg 100 MP"], "JPEG", quality=30)
    grey.convert("P").save(made["gif 100 MP"], "GIF")
    grey.save(made["tiff 100 MP"], "TIFF", compression="tiff_deflate")
    del grey
    Image.new("RGB", (6_500, 6_150)).save(made["webp 40 MP"], "WEBP", lossless=True)
    return made


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    Image.MAX_IMAGE_PIXELS = None  # only to write them
    try:
        return bombs(tmp_path_factory.mktemp("bombs"))
    finally:
        Image.MAX_IMAGE_PIXELS = 89_478_485


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["png 100 MP", "png far over the limit", "jpeg 100 MP", "gif 100 MP", "tiff 100 MP", "webp 40 MP"],
)
def test_a_bomb_costs_under_1_gib_and_10_s(bomb_files: dict[str, Path], name: str) -> None:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", CHILD, str(bomb_files[name])], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-2000:]
    verdict, peak = run.stdout.split()
    assert int(peak) < GIB, f"{name}: peak RSS {int(peak) / 2**20:.0f} MiB"
    assert seconds < 10, f"{name}: {seconds:.1f} s"
    assert verdict in ("no-provenance-found", "error")


def test_a_large_image_is_read_at_reduced_scale(tmp_path: Path) -> None:
    path = tmp_path / "large.png"
    png_of_zeros(path, 9_000, 4_500)
    report = verify_image(path)
    assert report.image is not None and (report.image.width, report.image.height) == (9_000, 4_500)
    assert report.verdict.value == "no-provenance-found"
    assert any("they read a 4500x2250 copy" in w for w in report.warnings), report.warnings


def test_a_link_to_a_device_is_refused_unread(tmp_path: Path) -> None:
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    with pytest.raises(
        InputError, match=r"zero.png is not a regular file \(a character device\); it was not read"
    ):
        verify_image(link)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            verify_image(fifo)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # release the reader so the thread ends, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("verify blocked on a FIFO")
    assert isinstance(outcome[0], InputError) and "a FIFO" in str(outcome[0])


def test_the_byte_limit_counts_bytes_read_not_the_size_the_file_reports() -> None:
    proc = Path("/proc/self/maps")  # a regular file that reports size 0 and holds kilobytes
    if not proc.exists():
        pytest.skip("no /proc here")
    assert proc.stat().st_size == 0
    report = verify_image(proc, max_bytes=64)
    assert report.verdict.value == "error" and "larger than the 64-byte limit" in (report.error or "")
