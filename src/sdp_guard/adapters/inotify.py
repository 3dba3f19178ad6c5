"""Linux inotify through ctypes (no dependency): watch directories, read (name, mask) events.

Directories are watched rather than files: SQLite's WAL mode writes ``mikopbx.db-wal`` next to
the DB, and editors replace a file by renaming a new one over it (a watch on the old inode would
go quiet). The caller filters the names it cares about.

    w = Inotify()
    w.watch("/cf/conf")
    select([w], ...)                  # the object has fileno()
    for ev in w.read(): ...           # Event(directory, name, mask)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000

IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

# What changes a file's content or replaces it. No IN_OPEN/IN_ACCESS: our own reads must not
# wake us.
CHANGE_MASK = (
    IN_MODIFY
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_ATTRIB
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len


@dataclass(frozen=True)
class Event:
    directory: str
    name: str  # "" for events on the directory itself
    mask: int

    @property
    def overflow(self) -> bool:
        return bool(self.mask & IN_Q_OVERFLOW)

    @property
    def directory_gone(self) -> bool:
        return bool(self.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))


def parse_events(data: bytes, dirs: dict[int, str]) -> list[Event]:
    """Split one read() of an inotify fd into events (pure; ``dirs`` maps watch descriptors)."""
    out: list[Event] = []
    off = 0
    while off + _HEADER.size <= len(data):
        wd, mask, _cookie, length = _HEADER.unpack_from(data, off)
        off += _HEADER.size
        raw = data[off : off + length]
        off += length
        name = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        out.append(Event(dirs.get(wd, ""), name, mask))
    return out


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class Inotify:
    """One inotify instance (non-blocking, close-on-exec)."""

    def __init__(self) -> None:
        self._libc = _libc()
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"inotify_init1: {os.strerror(e)}")
        self._fd: int = fd
        self._dirs: dict[int, str] = {}

    def fileno(self) -> int:
        return self._fd

    def watch(self, directory: str, mask: int = CHANGE_MASK) -> None:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), mask | IN_ONLYDIR)
        if wd < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"cannot watch {directory}: {os.strerror(e)}", directory)
        self._dirs[wd] = directory

    def unwatch_all(self) -> None:
        for wd in list(self._dirs):
            self._libc.inotify_rm_watch(self._fd, wd)
        self._dirs.clear()

    @property
    def directories(self) -> tuple[str, ...]:
        return tuple(self._dirs.values())

    def read(self) -> Iterator[Event]:
        """Every pending event; returns at once when there is none."""
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return
                raise
            if not data:
                return
            for ev in parse_events(data, self._dirs):
                if ev.mask & IN_IGNORED:
                    self._dirs = {k: v for k, v in self._dirs.items() if v != ev.directory}
                yield ev

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
