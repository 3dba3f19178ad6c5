"""tailscaled's LocalAPI over its unix socket: status, whois, and the IPN bus.

Wire format: ipn/ipnstate/ipnstate.go (status), client/tailscale/apitype (whois), ipn/backend.go
(Notify), tailscale/tailscale @ de9ec7ee (design/tailscale.md). Unknown fields are ignored; a
missing field we rely on is an error that says which.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sdp_guard.core.addresses import normalize
from sdp_guard.core.model import Peer, TailnetView
from sdp_guard.errors import TailnetError

if TYPE_CHECKING:
    import socket  # imported when connecting: `check --snapshot` never needs it (bench/)

DEFAULT_SOCKET = "/var/run/tailscale/tailscaled.sock"
HOST = "local-tailscaled.sock"  # apitype.LocalAPIHost
# InitialState | InitialNetMap | NoPrivateKeys | PeerChanges = 4122. Old daemons send NetMap on
# change, v1.100+ PeersChanged. NoPrivateKeys (16) is required of a caller without write access up
# to v1.90 (403 otherwise: ipn/localapi/localapi.go l.1284 at v1.82.5) and a no-op since v1.92.
BUS_MASK = 2 | 8 | 16 | 4096


def _need(doc: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise TailnetError(
            f"unexpected LocalAPI answer: {where} has no {key!r}",
            "is this a tailscaled socket? compare with `tailscale status --json`",
        )
    return doc[key]


def _split_ips(ips: Any, where: str = "TailscaleIPs") -> tuple[str, str]:
    if ips is None:
        ips = ()
    if not isinstance(ips, list | tuple):
        raise TailnetError(f"unexpected LocalAPI answer: {where} is not a list of addresses")
    v4 = v6 = ""
    for ip in ips:
        n = normalize(str(ip))
        if ":" in n:
            v6 = v6 or n
        elif n:
            v4 = v4 or n
    return v4, v6


def parse_status(doc: Any) -> TailnetView:
    """``GET /localapi/v0/status`` -> TailnetView (without masquerade data)."""
    if not isinstance(doc, Mapping):
        raise TailnetError("unexpected LocalAPI answer: status is not a JSON object")
    state = str(_need(doc, "BackendState", "status"))
    if state != "Running":
        raise TailnetError(
            f"tailscale is not running (BackendState {state})",
            "check `tailscale status`; log in or run `tailscale up`",
        )
    self_doc = _need(doc, "Self", "status")
    if not isinstance(self_doc, Mapping):
        raise TailnetError("unexpected LocalAPI answer: status.Self is not an object")
    self_v4, self_v6 = _split_ips(
        _need(self_doc, "TailscaleIPs", "status.Self"), "status.Self.TailscaleIPs"
    )
    peers = []
    peer_docs = doc.get("Peer") or {}
    if not isinstance(peer_docs, Mapping):
        raise TailnetError("unexpected LocalAPI answer: status.Peer is not an object")
    for key, p in peer_docs.items():
        if not isinstance(p, Mapping):
            raise TailnetError(f"unexpected LocalAPI answer: status.Peer[{key}] is not an object")
        where = f"status.Peer[{key}]"
        v4, v6 = _split_ips(_need(p, "TailscaleIPs", where), f"{where}.TailscaleIPs")
        peers.append(
            Peer(
                stable_id=str(p.get("ID") or key),
                hostname=str(p.get("HostName") or ""),
                dns_name=str(p.get("DNSName") or ""),
                ipv4=v4,
                ipv6=v6,
                online=bool(p.get("Online")),
                sharee_node=bool(p.get("ShareeNode")),
            )
        )
    peers.sort(key=lambda x: (x.hostname, x.stable_id))
    return TailnetView(
        backend_state=state,
        self_hostname=str(self_doc.get("HostName") or ""),
        self_dns_name=str(self_doc.get("DNSName") or ""),
        self_ipv4=self_v4,
        self_ipv6=self_v6,
        magicdns_suffix=str(doc.get("MagicDNSSuffix") or ""),
        version=str(doc.get("Version") or ""),
        peers=tuple(peers),
    )


def parse_whois(doc: Any) -> tuple[str, str | None]:
    """``GET /localapi/v0/whois`` -> (the peer's tailnet IPv4, the address it knows us by or None)."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("Node"), Mapping):
        raise TailnetError("unexpected LocalAPI answer: whois has no Node object")
    node = doc["Node"]
    addrs = _need(node, "Addresses", "whois.Node") or ()
    if not isinstance(addrs, list | tuple):
        raise TailnetError("unexpected LocalAPI answer: whois.Node.Addresses is not a list")
    v4, _ = _split_ips([str(a).split("/", 1)[0] for a in addrs], "whois.Node.Addresses")
    masq = node.get("SelfNodeV4MasqAddrForThisPeer")
    return v4, normalize(str(masq)) if masq else None


def apply_whois(view: TailnetView, answers: Mapping[str, Any]) -> TailnetView:
    """Attach whois answers (keyed by the address asked; None = 404) to the peers they name."""
    masq: dict[str, str | None] = {}
    for addr, doc in answers.items():
        if doc is None:
            continue
        v4, m = parse_whois(doc)
        masq[v4 or normalize(addr)] = m
    peers = tuple(
        p._replace(masquerade_v4=masq[p.ipv4], whois_known=True) if p.ipv4 in masq else p
        for p in view.peers
    )
    return view._replace(peers=peers)


class LocalAPI:
    """Minimal LocalAPI client. Read permission suffices for everything here."""

    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def _connect(self, timeout: float | None) -> socket.socket:
        import socket

        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.socket_path)
        except FileNotFoundError:
            s.close()
            raise TailnetError(
                f"tailscaled socket {self.socket_path} does not exist",
                "is tailscaled running? check `systemctl status tailscaled`, or pass "
                "--tailscale-socket PATH (or --snapshot FILE to work offline)",
            ) from None
        except OSError as e:
            s.close()
            raise TailnetError(
                f"cannot connect to tailscaled at {self.socket_path}: {e.strerror or e}",
                "check `systemctl status tailscaled` and `tailscale status`",
            ) from None
        return s

    def _request(self, path: str, timeout: float) -> tuple[Any, Any]:
        import http.client

        from sdp_guard.adapters.bounded import Deadline, DeadlineSocket

        # One deadline for connect, request, status line, headers and body together.
        deadline = Deadline(timeout)
        sock = self._connect(timeout)
        conn = http.client.HTTPConnection(HOST, timeout=timeout)
        conn.sock = DeadlineSocket(sock, deadline)
        try:
            conn.request("GET", path, headers={"Host": HOST})
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException, ValueError) as e:
            conn.close()
            raise TailnetError(f"LocalAPI request {path} failed: {_why(e)}") from e

    def get_json(self, path: str, *, allow_404: bool = False) -> Any:
        import http.client

        from sdp_guard.adapters.bounded import MAX_JSON_BYTES, loads_json, read_body

        conn, resp = self._request(path, self.timeout)
        try:
            body = read_body(resp, MAX_JSON_BYTES, f"LocalAPI {path}")
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise TailnetError(f"LocalAPI request {path} failed: {_why(e)}") from e
        finally:
            conn.close()
        if resp.status == 404 and allow_404:
            return None
        if resp.status != 200:
            from sdp_guard.core.text import sanitize_text

            text = sanitize_text(body.decode("utf-8", "replace").strip(), 200)
            raise TailnetError(f"LocalAPI {path} answered HTTP {resp.status}: {text}")
        try:
            return loads_json(body, f"LocalAPI {path}")
        except ValueError as e:
            raise TailnetError(
                f"{e}",
                "is this a tailscaled socket? compare with `tailscale status --json`",
            ) from e

    def status(self) -> Any:
        return self.get_json("/localapi/v0/status")

    def whois(self, addr: str) -> Any:
        """The whois document, or None when tailscaled knows no such peer (HTTP 404)."""
        return self.get_json(f"/localapi/v0/whois?addr={normalize(addr)}", allow_404=True)


MAX_BUS_LINE = 16 * 1024 * 1024  # a NetMap of a large tailnet is a few MB


def bus_lines(fp: Any, limit: int = MAX_BUS_LINE) -> Iterator[bytes]:
    """Non-empty lines of a bus stream; a line longer than ``limit`` is read past and skipped."""
    while True:
        line = fp.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # drop the rest of it, bounded per read
                line = fp.readline(limit)
            continue
        line = line.strip()
        if line:
            yield line


def _why(e: BaseException) -> str:
    from sdp_guard.core.text import sanitize_text

    text = str(e) or type(e).__name__
    return sanitize_text(text, 200)
