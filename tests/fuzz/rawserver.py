"""A server that answers every connection with raw bytes the test chose: malformed HTTP (bad
status lines, huge or too many headers, broken chunking, short bodies), then it closes.

    with RawServer.unix(path) as srv:  # or RawServer.tcp()
        srv.reply = b"HTTP/1.1 200 OK\\r\\n..."
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class RawServer:
    def __init__(self, sock: socket.socket, address: Any) -> None:
        self.sock = sock
        self.address = address
        self.reply = b""
        self.replies: dict[bytes, bytes] = {}  # request-line substring -> answer
        self.requests = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @classmethod
    def unix(cls, path: str) -> RawServer:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        return cls(s, path)

    @classmethod
    def tcp(cls) -> RawServer:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        return cls(s, s.getsockname())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.address[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(2)

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                head = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                self.requests += 1
                with contextlib.suppress(OSError):
                    line = head.split(b"\r\n", 1)[0]
                    reply = next((r for k, r in self.replies.items() if k in line), self.reply)
                    conn.sendall(reply)
                    conn.shutdown(socket.SHUT_WR)
