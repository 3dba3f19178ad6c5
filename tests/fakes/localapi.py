"""A tailscaled LocalAPI test server on a unix socket, speaking the real wire format.

Serves ``GET /localapi/v0/status``, ``/localapi/v0/whois?addr=IP`` (404 "no match for IP:port"
when unknown, as ipn/localapi/localapi.go does) and ``/localapi/v0/watch-ipn-bus?mask=N``
(newline-delimited ipn.Notify objects, streamed until the test closes it). Like tailscaled it
answers 403 "invalid localapi request" to requests carrying Referer/Origin or another Host
(ipn/localapi/localapi.go:213-217 at v1.82.5). Like tailscaled before v1.92 it answers 403 to a
bus watcher without write access whose mask lacks NotifyNoPrivateKeys (16): the rule came in
tailscale/tailscale#10059 (2023-11), is at ipn/localapi/localapi.go:1281-1289 at v1.82.5 and is
gone at v1.102.5 (ipn/backend.go:92 marks the bit a no-op); issue #17628 shows it in 1.90.1, and
v1.92 as the first release without it is from issue 12 (not verified here). Write access is
uid 0 or the operator (ipn/ipnserver/actor.go connIsLocalAdmin), read from SO_PEERCRED.
tests/tailnet/test_fake_matches_real.py checks these answers against real tailscaled's
(tests/fixtures/tailscale-real/). The documents are built with ``sdp_guard.demo.wire`` or
loaded from the captured fixtures.

    with LocalAPIServer(path) as srv:
        srv.set_status(doc); srv.set_whois("100.102.2.2", whois_doc)
        srv.publish(notify_doc)      # to every open bus stream
        srv.close_streams()          # like a tailscaled restart
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import socketserver
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

from sdp_guard.demo import wire

_TEXT = "text/plain; charset=utf-8"  # Go's http.Error
NOTIFY_NO_PRIVATE_KEYS = 16
BUS_DENIED = (
    b"watch IPN bus access denied, must set ipn.NotifyNoPrivateKeys when not running as"
    b" admin/root or operator\n"
)


def _version_tuple(v: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", v)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append(self.path)
        if (
            self.headers.get("Referer")
            or self.headers.get("Origin")
            or self.headers.get("Host") not in (None, "", "local-tailscaled.sock")
        ):
            self._send(403, b"invalid localapi request\n", _TEXT)
            return
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if owner.fail_with is not None:
            self._send(owner.fail_with, b"internal error\n", _TEXT)
            return
        if url.path == "/localapi/v0/status":
            self._send(200, json.dumps(owner.status).encode())
        elif url.path == "/localapi/v0/whois":
            addr = (q.get("addr") or [""])[0]
            ip = addr.rsplit(":", 1)[0] if addr.count(":") == 1 else addr
            doc = owner.whois.get(ip)
            if doc is None:
                self._send(404, b"no match for IP:port\n", _TEXT)
            else:
                self._send(200, json.dumps(doc).encode())
        elif url.path == "/localapi/v0/watch-ipn-bus":
            mask = int((q.get("mask") or ["0"])[0])
            owner.masks.append(mask)
            if not mask & NOTIFY_NO_PRIVATE_KEYS and not self._writer() and owner.needs_nopriv():
                self._send(403, BUS_DENIED, _TEXT)
                return
            self._stream(owner)
        else:
            self._send(404, b"404 page not found\n", _TEXT)

    def _writer(self) -> bool:
        cred = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", cred)
        return bool(uid == 0 or uid == self.server.owner.operator_uid)

    def _stream(self, owner: LocalAPIServer) -> None:
        q: queue.Queue[Any] = queue.Queue()
        with owner.lock:
            owner.streams.append(q)
            for doc in owner.initial:
                q.put(doc)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                doc = q.get()
                if doc is None:
                    break
                data = (json.dumps(doc) + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with owner.lock:
                if q in owner.streams:
                    owner.streams.remove(q)
            self.close_connection = True


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    owner: LocalAPIServer


class LocalAPIServer:
    def __init__(
        self,
        path: str,
        status: Any = None,
        whois: dict[str, Any] | None = None,
        *,
        version: str | None = None,
        operator_uid: int | None = None,
    ) -> None:
        self.path = path
        # The tailscaled version whose rules apply; default: the status document's "Version".
        self.version = version
        self.operator_uid = operator_uid
        self.status = status
        self.whois: dict[str, Any] = dict(whois or {})
        self.initial: list[Any] = []  # sent first on every new bus stream
        self.streams: list[queue.Queue[Any]] = []
        self.requests: list[str] = []
        self.masks: list[int] = []
        self.fail_with: int | None = None
        self.lock = threading.Lock()
        self._srv: _Server | None = None

    def needs_nopriv(self) -> bool:
        """Whether this version refuses a non-writer's bus watch without bit 16 (v1.54-v1.91)."""
        v = self.version or (self.status or {}).get("Version") or ""
        return (1, 54) <= _version_tuple(str(v)) < (1, 92)

    def set_status(self, doc: Any) -> None:
        self.status = doc

    def set_whois(self, addr: str, doc: Any) -> None:
        self.whois[addr] = doc

    def publish(self, doc: Any) -> None:
        with self.lock:
            for q in self.streams:
                q.put(doc)

    def close_streams(self) -> None:
        with self.lock:
            for q in self.streams:
                q.put(None)

    def start(self) -> LocalAPIServer:
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._srv = _Server(self.path, _Handler)
        # tailscaled's socket is 0666 on Linux (safesocket/unixsocket.go socketPermissionsForOS):
        # anyone may connect; the server decides per request from the peer's uid.
        os.chmod(self.path, 0o666)
        self._srv.owner = self
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.close_streams()
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None
        if os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self) -> LocalAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Bus messages in tailscaled's wire format (ipn.Notify), built from the demo's nodes.


def notify_netmap(
    self_node: wire.Node, peers: list[tuple[wire.Node, str | None]]
) -> dict[str, Any]:
    """The initial bus message (State 6 = Running, with a NetMap)."""
    return {
        "Version": wire.VERSION,
        "ErrMessage": None,
        "LoginFinished": None,
        "State": 6,
        "Prefs": None,
        "NetMap": {
            "Cached": False,
            "SelfNode": {k: v for k, v in self_node.tailcfg_node().items() if k != "Online"},
            "NodeKey": self_node.key,
            "Peers": [p.tailcfg_node(m) for p, m in peers],
            "Domain": "example.org",
        },
        "Engine": None,
        "BrowseToURL": None,
    }


def notify_peers_changed(peers: list[tuple[wire.Node, str | None]]) -> dict[str, Any]:
    return {
        "Version": wire.VERSION,
        "State": None,
        "NetMap": None,
        "PeersChanged": [p.tailcfg_node(m) for p, m in peers],
    }
