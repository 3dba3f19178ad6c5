"""Issue 14 regressions for the metrics listener: slow clients, many clients, no descriptors left,
clients that reset. Each degrades the listener cleanly; each failed before the fix."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from sdp_guard.adapters import metrics
from sdp_guard.adapters.metrics import MetricsServer
from sdp_guard.daemon.exposition import exposition
from sdp_guard.daemon.state import PublishedState

from .harness import http_get


@contextlib.contextmanager
def server(
    monkeypatch: pytest.MonkeyPatch, **limits: Any
) -> Iterator[MetricsServer[PublishedState]]:
    for k, v in limits.items():
        monkeypatch.setattr(metrics, k, v, raising=False)
    snap = PublishedState(started_at=time.time(), recheck_seconds=60)
    srv = MetricsServer(("127.0.0.1", 0), lambda: snap, exposition)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _connect(srv: MetricsServer[PublishedState]) -> socket.socket:
    s = socket.create_connection(cast(tuple[str, int], srv.server_address[:2]), timeout=5)
    return s


def _closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_an_idle_client_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Was: a connection that sends nothing held a thread and a descriptor forever.
    with server(monkeypatch, IDLE_TIMEOUT=0.5) as srv:
        with _connect(srv) as idle:
            assert _closed_by_server(idle, 3.0)
        assert http_get(srv.url, "/findings")[0] == 200


def test_connections_over_the_cap_are_closed_and_scrapes_recover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Was: no cap: every connection got its own thread, as many as a client cared to open.
    with server(monkeypatch, MAX_CONNECTIONS=4) as srv:
        held = [_connect(srv) for _ in range(4)]
        time.sleep(0.2)  # all four accepted and waiting for a request
        with _connect(srv) as extra:
            assert _closed_by_server(extra, 2.0)
        assert srv.refused >= 1
        for s in held:
            s.close()
        deadline = time.monotonic() + 5
        while True:
            try:
                assert http_get(srv.url, "/metrics")[0] == 200
                break
            except (ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def test_no_descriptors_left_does_not_spin_the_accept_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Was: accept() failed with EMFILE, the socket stayed readable: 100 % CPU until fds freed.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with server(monkeypatch) as srv:
        client = socket.socket()
        fillers: list[int] = []
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
            with contextlib.suppress(OSError):
                while True:
                    fillers.append(os.open("/dev/null", os.O_RDONLY))
            client.connect(srv.server_address[:2])  # queued: the server cannot accept it
            cpu0 = time.process_time()
            time.sleep(1.0)
            spent = time.process_time() - cpu0
        finally:
            for fd in fillers:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert spent < 0.3, f"accept loop used {spent:.2f} s of CPU in 1 s"
        client.sendall(b"GET /findings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        client.settimeout(5)
        assert client.recv(12).startswith(b"HTTP/1.1 200")  # served once fds were back
        client.close()


def test_a_client_reset_is_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Was: socketserver printed a traceback to stderr (the journal) for every such client.
    def reset(self: Any) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(metrics._Handler, "do_GET", reset)
    with server(monkeypatch) as srv:
        with contextlib.suppress(OSError, Exception):
            http_get(srv.url, "/metrics")
        time.sleep(0.2)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err
