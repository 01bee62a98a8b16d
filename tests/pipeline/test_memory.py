"""The pipeline keeps freed buffers in the heap (glibc), so the next image does not page-fault."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import resource, numpy as np
    from hallmark.pipeline._memory import retain_freed_memory
    applied = retain_freed_memory()
    def image():  # ten 4 MiB buffers alive at once, then all freed, as one image's stages do
        return [np.ones(4 << 20, np.uint8) for _ in range(10)]
    image()  # the first image faults in any case
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        image()
    print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def run_probe(**env: str) -> tuple[bool, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "HALLMARK_RETAIN"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_buffers_are_reused_without_page_faults() -> None:
    applied, faults = run_probe()
    assert applied and faults < 1_000  # 10 × 10,240 pages if the heap gave them back each time


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize("env", [{"HALLMARK_RETAIN_MEMORY": "0"}, {"MALLOC_ARENA_MAX": "4"}])
def test_the_operator_can_keep_glibc_defaults(env: dict[str, str]) -> None:
    applied, faults = run_probe(**env)
    assert not applied and faults > 10 * 10_240 // 4  # glibc trims about half of it
