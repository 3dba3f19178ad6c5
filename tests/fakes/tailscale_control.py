"""A loopback (127.0.0.1) stand-in for Tailscale's control API, following its documented shapes.

Sources: tailscale/tailscale publicapi/{readme,device,tailnet}.md @ afec2d41 and
tailscale/tailscale-client-go tailscale/client.go @ 0c48e46:

- auth: the key as Bearer token, or as the Basic user with an empty password;
- ``GET /api/v2/tailnet/{tailnet}/devices`` -> ``{"devices": [...]}`` (``-`` = the key's tailnet);
- ``POST /api/v2/device/{deviceID}/ip`` with ``{"ipv4": ...}`` -> 200 ``{}``; ``deviceID`` is the
  ``nodeId`` or the legacy numeric ``id``;
- errors: an HTTP status and ``{"message": "..."}``.

Which status the service uses for "address already in use" is not documented; ``taken_status``
picks 409 or 400 so both mappings are exercised. ``force_status`` makes every call fail (403...).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast


def device(
    node_id: str, legacy_id: str, hostname: str, ipv4: str, ipv6: str, *, external: bool = False
) -> dict[str, Any]:
    """A device object shaped like publicapi/device.md (fields=default)."""
    return {
        "addresses": [ipv4, ipv6],
        "id": legacy_id,
        "nodeId": node_id,
        "user": "b-operator@example.net" if not external else "a-ops@example.org",
        "name": f"{hostname}.tail0b0b0b.ts.net",
        "hostname": hostname,
        "clientVersion": "" if external else "1.100.0",
        "updateAvailable": False,
        "os": "linux",
        "created": "" if external else "2025-05-10T12:00:00Z",
        "lastSeen": "2026-11-28T05:52:30Z",
        "keyExpiryDisabled": True,
        "expires": "2027-05-10T12:00:00Z",
        "authorized": True,
        "isExternal": external,
        "machineKey": "" if external else "mkey:b2b2",
        "nodeKey": f"nodekey:{node_id.lower()}",
        "blocksIncomingConnections": False,
        "tailnetLockKey": "",
        "tailnetLockError": "",
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, code: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        fake = self.server.owner
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:] == fake.api_key
        if auth.startswith("Basic "):
            user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            return user == fake.api_key
        return False

    def _common(self) -> bool:
        fake = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake.requests.append((self.command, self.path, dict(self.headers.items()), body))
        if not self._authorized():
            self._json(401, {"message": "API token invalid"})
            return False
        if fake.force_status:
            self._json(fake.force_status, {"message": fake.force_message})
            return False
        return True

    def do_GET(self) -> None:
        if not self._common():
            return
        m = re.fullmatch(r"/api/v2/tailnet/([^/?]+)/devices(\?.*)?", self.path)
        if not m or m.group(1) not in ("-", self.server.owner.tailnet):
            self._json(404, {"message": "not found"})
            return
        self._json(200, {"devices": self.server.owner.devices})

    def do_POST(self) -> None:
        if not self._common():
            return
        fake = self.server.owner
        m = re.fullmatch(r"/api/v2/device/([^/]+)/ip", self.path)
        if not m:
            self._json(404, {"message": "not found"})
            return
        dev = next((d for d in fake.devices if m.group(1) in (d["nodeId"], d["id"])), None)
        if dev is None:
            self._json(404, {"message": "device not found"})
            return
        try:
            doc = json.loads(fake.requests[-1][3] or b"{}")
        except ValueError:
            self._json(400, {"message": "invalid JSON body"})
            return
        ipv4 = doc.get("ipv4") if isinstance(doc, dict) else None
        if not isinstance(ipv4, str) or not ipv4.startswith("100."):
            self._json(400, {"message": "invalid IPv4 address"})
            return
        if (
            any(ipv4 in d["addresses"] for d in fake.devices if d is not dev)
            or ipv4 in fake.reserved
        ):
            self._json(fake.taken_status, {"message": "address already in use"})
            return
        dev["addresses"][0] = ipv4
        self._json(200, {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeControl


class FakeControl:
    def __init__(self, api_key: str, devices: list[dict[str, Any]], tailnet: str = "example.net"):
        self.api_key = api_key
        self.devices = devices
        self.tailnet = tailnet
        self.taken_status = 409
        self.reserved: set[str] = set()  # taken by something the device list does not show
        self.force_status = 0
        self.force_message = ""
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._srv = _Server(("127.0.0.1", 0), _Handler)
        self._srv.owner = self
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = cast(tuple[str, int], self._srv.server_address[:2])
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeControl:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._srv.shutdown()
        self._srv.server_close()
