"""A tailscaled LocalAPI test server on a unix socket, speaking the real wire format.

Serves ``GET /localapi/v0/status``, ``/localapi/v0/whois?addr=IP`` (404 "no match for IP:port"
when unknown, as ipn/localapi/localapi.go does) and ``/localapi/v0/watch-ipn-bus?mask=N``
(newline-delimited ipn.Notify objects, streamed until the test closes it). Like tailscaled it
answers 403 to requests carrying Referer/Origin. The documents are built with
``sdp_guard.demo.wire`` or loaded from the captured fixtures.

    with LocalAPIServer(path) as srv:
        srv.set_status(doc); srv.set_whois("100.102.2.2", whois_doc)
        srv.publish(notify_doc)      # to every open bus stream
        srv.close_streams()          # like a tailscaled restart
"""

from __future__ import annotations

import json
import os
import queue
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any


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
        if self.headers.get("Referer") or self.headers.get("Origin"):
            self._send(403, b"invalid localapi request\n", "text/plain")
            return
        if self.headers.get("Host") not in (None, "", "local-tailscaled.sock"):
            self._send(403, b"invalid localapi Host header\n", "text/plain")
            return
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if owner.fail_with is not None:
            self._send(owner.fail_with, b"internal error\n", "text/plain")
            return
        if url.path == "/localapi/v0/status":
            self._send(200, json.dumps(owner.status).encode())
        elif url.path == "/localapi/v0/whois":
            addr = (q.get("addr") or [""])[0]
            ip = addr.rsplit(":", 1)[0] if addr.count(":") == 1 else addr
            doc = owner.whois.get(ip)
            if doc is None:
                self._send(404, b"no match for IP:port\n", "text/plain")
            else:
                self._send(200, json.dumps(doc).encode())
        elif url.path == "/localapi/v0/watch-ipn-bus":
            owner.masks.append(int((q.get("mask") or ["0"])[0]))
            self._stream(owner)
        else:
            self._send(404, b"404 page not found\n", "text/plain")

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
    def __init__(self, path: str, status: Any = None, whois: dict[str, Any] | None = None) -> None:
        self.path = path
        self.status = status
        self.whois: dict[str, Any] = dict(whois or {})
        self.initial: list[Any] = []  # sent first on every new bus stream
        self.streams: list[queue.Queue[Any]] = []
        self.requests: list[str] = []
        self.masks: list[int] = []
        self.fail_with: int | None = None
        self.lock = threading.Lock()
        self._srv: _Server | None = None

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
