"""The one way sdp-guard replaces a file: ``snapshot -o``, sync journals and ``advertise``.

A temp file beside the target (created exclusively, never through a symlink), written, fsynced,
renamed over the target, then the directory fsynced: a crash leaves the old or the new file,
never half of one, and the new file has ``mode`` from its first byte. A target that exists but
is not a regular file (a symlink, a device node, a FIFO, a directory) is refused: renaming over
it would replace the link or the node instead of writing where the operator meant.
"""

from __future__ import annotations

import contextlib
import os
import stat

from sdp_guard.errors import OutputError


def check_target(path: str) -> os.stat_result | None:
    """The target's own status (None when it does not exist yet); refuses non-regular files."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from e
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(
            f"not writing {path}: it is a symbolic link",
            f"give the real path ({os.path.realpath(path)}) if that is the file you mean",
        )
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(
            f"not writing {path}: it is not a regular file (a device, FIFO or directory)",
            "give the path of a regular file",
        )
    return st


def write_atomic(
    path: str, data: bytes, mode: int = 0o600, owner: tuple[int, int] | None = None
) -> None:
    check_target(path)
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except FileExistsError:  # left by a crashed run of ours with this pid
        os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        try:
            os.fchmod(fd, mode)  # the umask does not get a say
            if owner is not None:
                with contextlib.suppress(OSError):  # not root: the file is ours anyway
                    os.fchown(fd, *owner)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from e
        raise
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
