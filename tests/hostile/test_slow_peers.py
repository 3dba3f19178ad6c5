"""Issue 14 regressions: a peer that sends one byte at a time, or a line nested 100,000 deep.

A per-read timeout is reset by every byte, so before the fix these reads ran as long as the peer
kept dripping (here 12 s; a hostile peer: forever). Each now ends at its overall deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.errors import ApiError, TailnetError
from tests.fuzz.rawserver import RawServer

DRIP_FOR = 12.0
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"


class Drip:
    """Answers every connection with ``payload``, one byte every 0.1 s, for up to DRIP_FOR s."""

    def __init__(self, sock: socket.socket, payload: bytes) -> None:
        self.sock = sock
        self.payload = payload
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while not self.stop.is_set():
                conn, _ = self.sock.accept()
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        end = time.monotonic() + DRIP_FOR
        with conn, contextlib.suppress(OSError):
            conn.recv(4096)
            for b in self.payload * 100:
                if self.stop.is_set() or time.monotonic() > end:
                    return
                conn.sendall(bytes([b]))
                time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def timed(fn: Any) -> tuple[float, BaseException | None]:
    """Run ``fn`` in a thread; (seconds it took, what it raised). Gives up after DRIP_FOR + 5 s."""
    box: list[BaseException | None] = [None]

    def run() -> None:
        try:
            fn()
        except BaseException as e:
            box[0] = e

    t0 = time.monotonic()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(DRIP_FOR + 5)
    return time.monotonic() - t0, box[0]


@pytest.mark.parametrize("payload", [HEAD, HEAD + b"{" * 100], ids=["head", "body"])
def test_localapi_drip_ends_at_the_deadline(tmp_path: Path, payload: bytes) -> None:
    from sdp_guard.adapters.localapi import LocalAPI

    path = str(tmp_path / "ts.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(4)
    drip = Drip(s, payload)
    try:
        took, err = timed(lambda: LocalAPI(path, timeout=1.0).status())
    finally:
        drip.close()
    assert took < 3.0, f"took {took:.1f} s"
    assert isinstance(err, TailnetError) and "within 1 s" in err.message, err


def _tcp() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    return s


def test_mikopbx_api_drip_ends_at_the_deadline() -> None:
    from sdp_guard.adapters.mikopbx_api import MikoPbxApi

    s = _tcp()
    drip = Drip(s, HEAD)
    try:
        api = MikoPbxApi(f"http://127.0.0.1:{s.getsockname()[1]}", timeout=1.0)
        api.deadline = 1.5
        took, err = timed(api.list_providers)
    finally:
        drip.close()
    assert took < 3.5, f"took {took:.1f} s"
    assert isinstance(err, ApiError) and "did not answer within 1.5 s" in err.message, err


def test_mantela_header_drip_ends_at_the_deadline() -> None:
    from sdp_guard.adapters.mantela_http import FetchError, UrllibGetter

    s = _tcp()
    drip = Drip(s, HEAD)
    try:
        get = UrllibGetter(timeout=1.0, deadline=1.5)
        took, err = timed(lambda: get(f"http://127.0.0.1:{s.getsockname()[1]}/m.json", {}))
    finally:
        drip.close()
    assert took < 3.5, f"took {took:.1f} s"
    assert isinstance(err, FetchError) and "not complete within 1.5 s" in str(err), err


@pytest.mark.parametrize("payload", [HEAD, HEAD + b"[" * 100], ids=["head", "body"])
def test_control_api_drip_ends_at_the_deadline(payload: bytes) -> None:
    # Was: only a per-read timeout, so `renumber --yes` waited as long as the peer kept dripping.
    from sdp_guard.adapters.tailscale_api import ControlApiError, ControlClient

    s = _tcp()
    drip = Drip(s, payload)
    try:
        client = ControlClient("tskey-api-x", base_url=f"http://127.0.0.1:{s.getsockname()[1]}")
        client.timeout = 1.5
        took, err = timed(client.devices)
    finally:
        drip.close()
    assert took < 3.5, f"took {took:.1f} s"
    assert isinstance(err, ControlApiError) and "within 1.5 s" in err.message, err
    assert "tskey-api-x" not in str(err)


def test_bus_line_nested_100k_deep_is_skipped_and_the_watcher_lives(tmp_path: Path) -> None:
    # Was: RecursionError escaped the watcher thread; later changes were never seen.
    from sdp_guard.daemon.bus import BusWatcher

    sock = str(tmp_path / "ts.sock")
    events: list[str] = []
    done = threading.Event()

    def on_event(kind: str) -> None:
        events.append(kind)
        if kind == "closed":
            done.set()

    with RawServer.unix(sock) as srv:
        srv.reply = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
            + b'{"Version": "1.100.0"}\n'
            + b"[" * 100_000
            + b"]" * 100_000
            + b'\n{"PeersChanged": [{"ID": 3}]}\n'
        )
        w = BusWatcher(sock, on_event, connect_timeout=2.0)
        w.start()
        try:
            assert done.wait(5), events
        finally:
            w.stop()
    assert events[:3] == ["connected", "cue", "closed"], events


def test_mantela_redirect_claiming_a_huge_body_is_followed_without_reading_it() -> None:
    # Found by tests/fuzz: urllib reads a redirect's whole body before following it, and
    # Content-Length: 99999999999999 made that read allocate terabytes (MemoryError).
    from sdp_guard.adapters.mantela_http import FetchError, UrllibGetter

    answer = b"HTTP/1.1 301 Moved\r\nContent-Length: 99999999999999\r\nLocation: /x\r\n\r\n{}"
    with RawServer.tcp() as srv:
        srv.reply = answer
        get = UrllibGetter(timeout=2.0, deadline=4.0, max_bytes=256 * 1024)
        took, err = timed(lambda: get(srv.url + "/mantela.json", {}))
    assert took < 6, f"took {took:.1f} s"
    # Every answer is the same redirect, so the redirect limit ends it: a clear FetchError.
    assert isinstance(err, FetchError), repr(err)
