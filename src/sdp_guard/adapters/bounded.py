"""Bounded reading of everything that comes from outside: size, depth and *total* time.

- :class:`Deadline`: one monotonic deadline for a whole exchange; every ``recv`` gets the time
  that is left as its timeout, so a peer that sends one byte a second ends at the deadline, not
  never (a per-read timeout alone is reset by every byte).
- :class:`DeadlineSocket`: wraps a connected socket (plain, unix or TLS) for ``http.client``; the
  status line, the headers and the body are all read under the deadline.
- :func:`read_body`: an HTTP response body with a size cap (also for chunked and unsized bodies).
- :func:`loads_json`: ``json.loads`` whose failures (including nesting too deep for the parser,
  which raises ``RecursionError``) are one ``ValueError`` with a plain message.
- :func:`read_file` (from :mod:`sdp_guard.files.capped`): a local file with a size cap, as bytes.

Imports stay light: ``check --snapshot`` uses ``read_file``/``loads_json`` on its start-up path.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from sdp_guard.files.capped import CHUNK as CHUNK
from sdp_guard.files.capped import MAX_FILE_BYTES as MAX_FILE_BYTES
from sdp_guard.files.capped import TooLarge as TooLarge
from sdp_guard.files.capped import read_capped
from sdp_guard.files.capped import read_file as read_file

MAX_JSON_BYTES = 32 * 1024 * 1024  # LocalAPI status of a large tailnet stays far below this


class DeadlineExceeded(TimeoutError):
    """The whole exchange did not finish in time."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at: float | None = time.monotonic() + seconds

    def lift(self) -> None:
        """No deadline from now on (a stream that is quiet between events)."""
        self.at = None

    def remaining(self) -> float | None:
        """Seconds left (None: no deadline); raises :class:`DeadlineExceeded` when none are."""
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"no complete answer within {self.seconds:g} s")
        return left


class _DeadlineRaw(io.RawIOBase):
    def __init__(self, sock: Any, deadline: Deadline, per_read: float | None) -> None:
        self._sock = sock
        self._deadline = deadline
        self._per_read = per_read
        # As socket.makefile does: the socket's fd stays open until this reader is closed too
        # (urllib closes the connection's socket right after reading the head).
        if hasattr(sock, "_io_refs"):
            sock._io_refs += 1

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed and hasattr(self._sock, "_decref_socketios"):
            self._sock._decref_socketios()
        super().close()

    def readinto(self, b: Any) -> int:
        left = self._deadline.remaining()
        per_read = None if left is None else self._per_read  # lifted: a quiet stream
        cut = left is not None and (per_read is None or left < per_read)
        self._sock.settimeout(left if cut else per_read)
        try:
            return int(self._sock.recv_into(b))
        except TimeoutError:
            if cut:
                raise DeadlineExceeded(
                    f"no complete answer within {self._deadline.seconds:g} s"
                ) from None
            raise


class DeadlineSocket:
    """A connected socket for ``http.client``: ``makefile`` reads, ``sendall`` writes under the
    deadline. Everything else is the socket's own."""

    def __init__(self, sock: Any, deadline: Deadline) -> None:
        self._sock = sock
        self.deadline = deadline
        self._per_read: float | None = sock.gettimeout()  # a stall ends sooner than the deadline

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineRaw(self._sock, self.deadline, self._per_read))

    def sendall(self, data: bytes) -> None:
        left = self.deadline.remaining()
        per = self._per_read
        self._sock.settimeout(per if left is None or (per is not None and per < left) else left)
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise DeadlineExceeded(f"could not send within {self.deadline.seconds:g} s") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def read_body(resp: Any, max_bytes: int, what: str) -> bytes:
    """The body of an ``http.client`` response, refusing more than ``max_bytes``.

    Read in pieces: ``read(max_bytes)`` would allocate the whole cap up front for every answer.
    """
    length = resp.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise TooLarge(f"{what}: answer is {int(length)} bytes, over the limit of {max_bytes}")
    return read_capped(resp, max_bytes, f"{what}: answer")


def loads_json(data: bytes | str, what: str) -> Any:
    """Parse JSON; any failure is a ``ValueError`` whose message names ``what``."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(f"{what} is JSON nested too deeply") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} is not UTF-8 text (byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{what} is not valid JSON (line {e.lineno} column {e.colno}: {e.msg})"
        ) from e


def http_connection(
    scheme: str, host: str, port: int | None, timeout: float, deadline: Deadline, **kw: Any
) -> Any:
    """An ``http.client`` connection whose socket reads and writes under ``deadline`` (after
    connecting, and for https after the handshake; both have the per-operation ``timeout``)."""
    import http.client

    base: Any = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection

    class Conn(base):  # type: ignore[misc]
        def connect(self) -> None:
            super().connect()
            self.sock = DeadlineSocket(self.sock, deadline)  # type: ignore[has-type]

    return Conn(host, port, timeout=timeout, **kw)


def deadline_opener(deadline: Deadline, timeout: float, *handlers: Any) -> Any:
    """A ``urllib`` opener whose http and https connections read and write under ``deadline``
    (redirects included), plus ``handlers`` (e.g. a redirect policy)."""
    import urllib.request

    def conn_for(scheme: str) -> Any:
        def make(host: str, timeout: float = timeout, **kw: Any) -> Any:
            return http_connection(scheme, host, None, timeout, deadline, **kw)

        return make

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(conn_for("http"), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(conn_for("https"), req, context=self._context)  # type: ignore[attr-defined]

    return urllib.request.build_opener(*handlers, Http, Https)
