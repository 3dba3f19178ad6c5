"""Give memory freed after a large evaluation back to the operating system.

CPython returns its small-object arenas to the OS by itself, but the larger blocks (lists, dict
tables, long strings, the documents) come from glibc ``malloc``, which keeps freed memory in its
heap. At 10,000 providers an evaluation peaks at well over 100 MiB, most of it freed afterwards;
``malloc_trim(0)`` hands it back (bench/memory.py). Where the C library has no ``malloc_trim``
(musl, macOS) this only collects garbage.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked_up = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked_up
    if not _looked_up:
        _looked_up = True
        try:
            import ctypes

            fn = ctypes.CDLL(None).malloc_trim  # glibc; the process's own symbols, no search
            fn.argtypes = [ctypes.c_size_t]
            fn.restype = ctypes.c_int
            _trim = fn
        except (OSError, AttributeError):
            _trim = None
    return _trim


def trim() -> None:
    """Return free heap memory to the OS where libc can."""
    fn = _malloc_trim()
    if fn is not None:
        fn(0)


def release_memory() -> None:
    """Collect cyclic garbage, then return free heap memory to the OS where libc can."""
    gc.collect()
    trim()
