"""One long-lived ``watch-ipn-bus`` stream, re-subscribed with backoff (a thread).

Mask 4122 = NotifyInitialState | NotifyInitialNetMap | NotifyNoPrivateKeys | NotifyPeerChanges:
tailscaled up to v1.98 sends a NetMap on every change, v1.100+ sends PeersChanged/PeersRemoved
instead (design/tailscale.md §5). Without NoPrivateKeys, v1.80-v1.90 answer 403 to a caller that
has no write access (our unprivileged daemon), so the bit stays although it is a no-op since v1.92.

The watcher does not interpret peers: any Notify that carries one of the cue fields tells the loop
to ask ``status``/``whois`` again.

The socket is owned here (not by :class:`~sdp_guard.adapters.localapi.LocalAPI`) so that
``stop()`` can shut it down from another thread and end a read that has no timeout.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sdp_guard.adapters.bounded import Deadline, DeadlineSocket, loads_json
from sdp_guard.adapters.localapi import BUS_MASK, HOST, bus_lines

log = logging.getLogger(__name__)

CUES = ("NetMap", "PeersChanged", "PeersRemoved", "SelfChange", "State")
BACKOFF_START = 0.2
BACKOFF_MAX = 5.0


def is_cue(notify: Any) -> bool:
    """Pure: should this Notify make us re-read the tailnet view?"""
    return isinstance(notify, Mapping) and any(notify.get(k) is not None for k in CUES)


def next_backoff(delay: float, start: float = BACKOFF_START, ceiling: float = BACKOFF_MAX) -> float:
    return start if delay <= 0 else min(delay * 2, ceiling)


class BusWatcher:
    """Calls ``on_event(kind)`` with kind ``connected``, ``cue`` or ``closed``."""

    def __init__(
        self,
        socket_path: str,
        on_event: Callable[[str], None],
        mask: int = BUS_MASK,
        connect_timeout: float = 5.0,
    ) -> None:
        self.socket_path = socket_path
        self.on_event = on_event
        self.mask = mask
        self.connect_timeout = connect_timeout
        self.connected = False
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._last_refusal = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ipn-bus", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._lock:
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.is_set():
            try:
                got_any = self._stream()
            except OSError as e:
                got_any = False
                log.debug("watch-ipn-bus: %s", e)
            except Exception as e:  # whatever the stream sends, the watcher lives on
                got_any = False
                log.warning("watch-ipn-bus: unexpected %s; reconnecting", type(e).__name__)
            if self._stop.is_set():
                break
            if self.connected:
                self.connected = False
                self.on_event("closed")
            delay = BACKOFF_START if got_any else next_backoff(delay)
            self._stop.wait(delay)

    def _stream(self) -> bool:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        with self._lock:
            if self._stop.is_set():
                s.close()
                return False
            self._sock = s
        try:
            # Connect, request and the answer's head share one deadline; then the stream is
            # quiet between changes and has none.
            deadline = Deadline(self.connect_timeout)
            s.settimeout(self.connect_timeout)
            s.connect(self.socket_path)
            ds = DeadlineSocket(s, deadline)
            ds.sendall(
                f"GET /localapi/v0/watch-ipn-bus?mask={self.mask} HTTP/1.1\r\n"
                f"Host: {HOST}\r\nAccept: application/json\r\n\r\n".encode("ascii")
            )
            resp = http.client.HTTPResponse(ds)  # type: ignore[arg-type]
            resp.begin()
            if resp.status != 200:
                # Said once per status, not per retry: a refusal means changes are seen only at
                # the periodic re-check until it is fixed.
                if resp.status != self._last_refusal:
                    self._last_refusal = resp.status
                    log.warning(
                        "tailscaled refused watch-ipn-bus (HTTP %s): changes are noticed only at "
                        "the periodic re-check",
                        resp.status,
                    )
                return False
            self._last_refusal = 0
            deadline.lift()
            got_any = False
            for line in bus_lines(resp):
                if self._stop.is_set():
                    break
                try:
                    doc = loads_json(line, "watch-ipn-bus")
                except ValueError as e:  # not JSON, or nested too deeply: skip this line only
                    log.debug("%s", e)
                    continue
                if not got_any:
                    got_any = True
                    self.connected = True
                    self.on_event("connected")
                elif is_cue(doc):
                    self.on_event("cue")
            return got_any
        except (http.client.HTTPException, ValueError) as e:
            log.debug("watch-ipn-bus: %s", e)
            return False
        finally:
            with self._lock:
                self._sock = None
            s.close()
