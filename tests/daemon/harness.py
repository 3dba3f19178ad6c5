"""Shared scaffolding for the daemon tests: a demo station, the LocalAPI test server, scraping.

The station is the embedded demo (``sdp_guard.demo``): a real-schema MikoPBX DB (switched to WAL,
like a live PBX), the registry YAML, and tailscaled's view served over a unix socket in the real
wire shape, with a watch-ipn-bus stream the tests publish Notify messages to.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import http.client
import io
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from sdp_guard import demo
from sdp_guard.demo import wire
from tests.fakes import localapi as fake_localapi
from tests.fakes.localapi import LocalAPIServer

SHIBUYA_PROVIDER = "SIP-TRUNK-7B3D0E55"
SHIBUYA_OLD = "100.88.7.19"


class Lines(io.StringIO):
    """A thread-safe stderr stand-in that keeps every line."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._buf: list[str] = []

    def write(self, s: str) -> int:
        with self._lock:
            self._buf.append(s)
        return len(s)

    def lines(self) -> list[str]:
        with self._lock:
            return "".join(self._buf).splitlines()


@dataclasses.dataclass
class Station:
    dir: Path
    db: str
    registry: str
    socket: str
    api: LocalAPIServer
    peers: list[wire.Node]
    masq: dict[str, str]

    def publish_status(self, *, bus: bool = True) -> None:
        """Serve the current peers in status/whois; optionally tell the bus (PeersChanged)."""
        self.api.set_status(wire.status(demo.SELF, self.peers))
        self.api.whois = {p.ipv4: wire.whois(p, self.masq.get(p.ipv4)) for p in self.peers}
        if bus:
            self.api.publish(
                fake_localapi.notify_peers_changed([(p, self.masq.get(p.ipv4)) for p in self.peers])
            )

    def renumber(self, hostname: str, ipv4: str, *, bus: bool = True) -> None:
        self.peers = [
            dataclasses.replace(p, ipv4=ipv4) if p.hostname == hostname else p for p in self.peers
        ]
        self.publish_status(bus=bus)

    def set_provider_host(self, provider: str, host: str) -> None:
        conn = sqlite3.connect(self.db, timeout=5)
        try:
            conn.execute("UPDATE m_Sip SET host=? WHERE uniqid=?", (host, provider))
            conn.execute("UPDATE m_SipHosts SET address=? WHERE provider_id=?", (host, provider))
            conn.commit()
        finally:
            conn.close()

    def config(self, **extra: Any) -> str:
        """A config file pointing at this station (extra: dotted keys)."""
        lines = [
            f"mikopbx:\n  db: {self.db}",
            f"registry:\n  file: {self.registry}",
            f"tailscale:\n  socket: {self.socket}",
            "lang: en",
        ]
        sections: dict[str, list[str]] = {}
        for k, v in extra.items():
            head, leaf = k.split("__", 1)
            sections.setdefault(head, []).append(f"  {leaf}: {v}")
        lines += [
            f"{h}:\n" + "\n".join(v)
            for h, v in sections.items()
            if h not in ("mikopbx", "registry", "tailscale")
        ]
        path = self.dir / "config.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)


@contextlib.contextmanager
def station(tmp: Path) -> Iterator[Station]:
    files = demo.build(str(tmp))
    conn = sqlite3.connect(files.db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    sock = str(tmp / "tailscaled.sock")
    peers = list(demo.PEERS)
    masq = dict(demo.MASQ)
    api = LocalAPIServer(sock)
    st = Station(tmp, files.db, files.registry, sock, api, peers, masq)
    st.publish_status(bus=False)
    api.initial = [fake_localapi.notify_netmap(demo.SELF, [(p, masq.get(p.ipv4)) for p in peers])]
    api.start()
    try:
        yield st
    finally:
        api.stop()


# ---- waiting and scraping -----------------------------------------------------------------


def wait_until(pred: Callable[[], Any], timeout: float = 5.0, step: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def http_get(
    url: str, path: str, sock_factory: Callable[[], socket.socket] | None = None
) -> tuple[int, str, bytes]:
    hostport = url.removeprefix("http://")
    host, _, port = hostport.rpartition(":")
    conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=5)
    if sock_factory is not None:
        conn.sock = sock_factory()
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        conn.close()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_metrics(text: str) -> Samples:
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(url: str, sock_factory: Callable[[], socket.socket] | None = None) -> Samples:
    status, _ctype, body = http_get(url, "/metrics", sock_factory)
    assert status == 200
    return parse_metrics(body.decode())


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def problem(samples: Samples, provider: str, code: str) -> float | None:
    for (name, labels), v in samples.items():
        d = dict(labels)
        if name == "sdp_guard_provider_problem" and d["provider"] == provider and d["code"] == code:
            return v
    return None


# ---- network namespaces (root) -----------------------------------------------------------

CLONE_NEWNET = 0x40000000


def socket_in_netns(netns: str, family: int = socket.AF_INET) -> socket.socket:
    """A TCP socket created inside ``netns`` (setns on a short-lived thread)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            box["s"] = socket.socket(family, socket.SOCK_STREAM)
        except BaseException as e:
            box["e"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["s"]  # type: ignore[no-any-return]
