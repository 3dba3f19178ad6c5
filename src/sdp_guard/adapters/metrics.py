"""The daemon's HTTP listener, and the gzip helpers for what it serves.

The listener (``ThreadingHTTPServer``, 127.0.0.1 by default) serves ``/metrics`` (the Prometheus
exposition of the daemon's published state, built by the function it is given:
:func:`sdp_guard.daemon.exposition.exposition`), ``/findings`` (the findings document of the
last evaluation, docs/findings-json.md) and a landing page ``/``. It knows the state only through
:class:`Served`; the state type itself lives in :mod:`sdp_guard.daemon.state`.

Both documents are held gzip-compressed (at 10,000 providers: 15 MB of findings JSON and 6.8 MB of
exposition become about 0.7 MB and 0.25 MB; bench/memory.py). A client that sends
``Accept-Encoding: gzip`` (Prometheus does) gets them as they are, any other the plain bytes.
"""

from __future__ import annotations

import html
import logging
import os
import selectors
import socket
import threading
import zlib
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client.exposition import CONTENT_TYPE_LATEST, gzip_accepted

from sdp_guard import __version__
from sdp_guard.adapters.heap import release_memory, trim

log = logging.getLogger(__name__)


class Served(Protocol):
    """What the listener reads from one immutable state (swapped whole by its owner)."""

    @property
    def document_gz(self) -> bytes: ...

    @property
    def summary(self) -> str: ...


S = TypeVar("S", bound=Served)

GZIP_WBITS = 31  # zlib with a gzip header and trailer (RFC 1952)


def gzip_bytes(*chunks: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    return b"".join([*(z.compress(c) for c in chunks), z.flush()])


def gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, GZIP_WBITS)


def encode_document(doc: Mapping[str, Any]) -> bytes:
    """The findings document as gzip-compressed compact JSON (the C encoder; 1 MiB at a time, so
    neither the whole text's UTF-8 copy nor an indented copy is ever held)."""
    import json

    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    step = 1 << 20
    return gzip_bytes(*(text[i : i + step].encode("utf-8") for i in range(0, len(text), step)))


RELEASE_PAGE_BYTES = 1 << 20  # about 1,000 providers' worth of series


class _Cache(Generic[S]):
    """Exposition of the current state, gzip-compressed, built at most once per state."""

    def __init__(
        self, exposition: Callable[[S], bytes], release: Callable[[], object] = lambda: None
    ) -> None:
        self._pair: tuple[S, bytes] | None = None
        self._exposition = exposition
        self._release = release

    def get(self, snap: S) -> bytes:
        pair = self._pair
        if pair is not None and pair[0] is snap:
            return pair[1]
        self._pair = None  # the previous page is garbage already
        plain = self._exposition(snap)
        data = gzip_bytes(plain)
        self._pair = (snap, data)
        # Only a large page leaves garbage worth a full collection (~30 MiB at 10k providers);
        # on a small network the collection would only add latency to the scrape (bench fig 1).
        if len(plain) >= RELEASE_PAGE_BYTES:
            del plain
            self._release()
        return data


LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sdp-guard</title></head>
<body><h1>sdp-guard daemon</h1>
<p>{summary}</p>
<ul><li><a href="metrics">/metrics</a>: Prometheus exposition</li>
<li><a href="findings">/findings</a>: the findings document of the last evaluation (JSON)</li></ul>
<p>sdp-guard {version}</p></body></html>
"""


# A scraper connects, asks and reads within a second; anything slower or more numerous is a
# stuck or hostile client, and must not hold threads and file descriptors.
IDLE_TIMEOUT = 10.0
MAX_CONNECTIONS = 32
ACCEPT_PAUSE = 0.5  # after accept() fails (no file descriptors left): no busy loop


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer[Any]
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.settimeout(IDLE_TIMEOUT)  # per socket operation on the connection
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)

    def _send(
        self, code: int, body: bytes, ctype: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_gz(self, body_gz: bytes, ctype: str) -> None:
        """A gzip-held document: as it is when the client accepts gzip, else decompressed."""
        vary = ("Vary", "Accept-Encoding")
        if gzip_accepted(self.headers.get("Accept-Encoding", "")):
            self._send(200, body_gz, ctype, (("Content-Encoding", "gzip"), vary))
        else:
            body = gunzip(body_gz)
            self._send(200, body, ctype, (vary,))
            if len(body) > 1 << 20:
                del body
                trim()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        snap = self.server.snapshot()
        if path == "/metrics":
            self._send_gz(self.server.cache.get(snap), CONTENT_TYPE_LATEST)
        elif path == "/findings":
            self._send_gz(snap.document_gz, "application/json; charset=utf-8")
        elif path == "/":
            page = LANDING.format(summary=html.escape(snap.summary), version=__version__)
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
        else:
            self._send(404, b"not found: try /, /metrics or /findings\n", "text/plain")

    do_HEAD = do_GET


class MetricsServer(ThreadingHTTPServer, Generic[S]):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        snapshot: Callable[[], S],
        exposition: Callable[[S], bytes],
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.snapshot = snapshot
        self.cache = _Cache(exposition, release_memory)
        super().__init__(address, _Handler)
        self.timeout = 0  # handle_request() only runs when the socket is readable
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = threading.Event()
        self._wake_r = self._wake_w = -1
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._accept_failed = False
        self.refused = 0  # connections closed at once because MAX_CONNECTIONS were open

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError:
            self._accept_failed = True  # EMFILE/ENFILE: the socket stays readable
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets, stalls or sends garbage is routine: no traceback per client.
        import sys

        e = sys.exc_info()[1]
        log.debug("http client %s: %s: %s", client_address, type(e).__name__, e)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # Every descriptor the accept loop needs is taken here, not later in its thread (where
        # none may be left by then).
        sel = selectors.DefaultSelector()
        sel.register(self.socket, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._serve, args=(sel,), name="metrics-http", daemon=True
        )
        self._thread.start()

    def _serve(self, sel: selectors.BaseSelector) -> None:
        """Accept until stopped. Unlike ``serve_forever`` this never wakes up to poll (it would
        every 0.5 s): only a connection or ``stop()`` wakes it."""
        with sel:
            while not self._stopping:
                for key, _ in sel.select():
                    if key.fileobj is self.socket and not self._stopping:
                        try:
                            self.handle_request()
                        except OSError:  # no descriptor for its selector either
                            self._accept_failed = True
                if self._accept_failed:
                    self._accept_failed = False
                    self._stopped.wait(ACCEPT_PAUSE)

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(5)
            os.close(self._wake_r)
            os.close(self._wake_w)
        self.server_close()


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8796``, ``[::1]:8796`` or ``:8796`` (all addresses, only if asked for)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected ADDR:PORT, got {text!r}")
    host = host.strip("[]")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Pure: does binding ``host`` keep the listener on this machine?"""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
