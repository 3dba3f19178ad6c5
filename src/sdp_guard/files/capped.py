"""A local file, or any binary stream, read with a size cap (``/dev/zero`` ends too).

No imports beyond ``os``: ``check --snapshot`` reads its snapshot through here at start-up.
"""

from __future__ import annotations

import os
from typing import Any

MAX_FILE_BYTES = 32 * 1024 * 1024
CHUNK = 64 * 1024


class TooLarge(ValueError):
    """An answer or a file is over its size limit."""


def read_capped(f: Any, max_bytes: int, what: str, first: int = CHUNK) -> bytes:
    chunks: list[bytes] = []
    size = 0
    want = min(first, max_bytes + 1)
    while True:
        chunk = f.read(want)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"{what} is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
        want = min(CHUNK, max_bytes + 1 - size)
    return b"".join(chunks)


def read_file(path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A local file as bytes, refusing more than ``max_bytes`` (``/dev/zero`` ends too).

    Opened non-blocking, so a FIFO without a writer is empty rather than a hang. Raises
    ``OSError`` as ``open`` does, and :class:`TooLarge`.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    with open(fd, "rb", buffering=0) as f:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise TooLarge(f"{path} is {size} bytes, over the limit of {max_bytes}")
        return read_capped(f, max_bytes, path, size + 1 if size else CHUNK)
