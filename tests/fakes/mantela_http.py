"""A loopback HTTP server (127.0.0.1 only) that serves Mantela files the way web hosts do.

Each path maps to a :class:`Route`: status, body, ETag / Last-Modified (answering conditional
requests with 304 as GitHub Pages does), a delay before the answer, a slow drip of the body, or a
redirect. Requests are recorded (path and headers) so tests can see what the client sent.

    with MantelaServer() as srv:
        srv.route("/.well-known/mantela.json", Route(body=json.dumps(doc), etag='"v1"'))
        url = srv.url("/.well-known/mantela.json")
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast


@dataclass
class Route:
    body: str | bytes = b""
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0  # before the status line
    drip: float = 0.0  # seconds between single bytes of the body
    location: str = ""  # for 3xx
    send_length: bool = True
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append((self.path, dict(self.headers.items())))
        route = owner.routes.get(self.path)
        if route is None:
            self._plain(404, b'{"message": "Not Found"}')
            return
        if route.delay:
            time.sleep(route.delay)
        if 300 <= route.status < 400:
            self.send_response(route.status)
            self.send_header("Location", route.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.status == 200 and self._not_modified(route):
            self.send_response(304)
            self._validators(route)
            self.end_headers()
            return
        body = route.body.encode() if isinstance(route.body, str) else route.body
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if route.send_length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self._validators(route)
        for k, v in route.headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            if route.drip:
                for b in body:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(route.drip)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not route.send_length:
            self.close_connection = True

    def _not_modified(self, route: Route) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm and route.etag:
            return inm == route.etag
        ims = self.headers.get("If-Modified-Since")
        return bool(ims and route.last_modified and ims == route.last_modified)

    def _validators(self, route: Route) -> None:
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)

    def _plain(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MantelaServer


class MantelaServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._srv = _Server(("127.0.0.1", 0), _Handler)
        self._srv.owner = self
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = cast(tuple[str, int], self._srv.server_address[:2])
        return f"http://{host}:{port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def __enter__(self) -> MantelaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._srv.shutdown()
        self._srv.server_close()
