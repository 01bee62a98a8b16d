"""Keep freed image buffers in the heap instead of handing them back to the kernel.

Every image passes tens of megabytes of short-lived numpy, OpenCV and Pillow buffers through the
guard chain (a 1024 px RGB image is 3 MB; its float planes are 4-12 MB).  glibc serves blocks
that large with fresh ``mmap``s and trims freed memory off the top of the heap, so each new
buffer page-faults again, page by page, and a page fault is slow in a virtual machine
(``bench/overhead.py`` measures the chain both ways).

Raising the two thresholds lets freed buffers be reused as they are.  The cost is resident
memory: up to ``_TRIM`` bytes of freed memory stay mapped per heap, and blocks up to ``_MMAP``
share the heaps (the benchmark prints the peak resident memory of a batch both ways).  Nothing
is changed when ``HALLMARK_RETAIN_MEMORY=0``, when the process sets glibc's own ``MALLOC_*_``
variables, or where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP = 32 << 20  # blocks below this come from the heap: glibc's ceiling on 64-bit
_TRIM = 64 << 20  # freed memory kept at the top of a heap before it is given back


@functools.cache
def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process, once; True when it did."""
    if os.environ.get("HALLMARK_RETAIN_MEMORY", "1") == "0":
        return False
    if not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM))
