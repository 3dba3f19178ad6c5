"""Build LocalAPI documents in tailscaled's wire shape (status, whois).

Field names and nesting follow ipn/ipnstate.Status / PeerStatus and apitype.WhoIsResponse at
tailscale/tailscale @ de9ec7ee (the shapes of the captured fixtures in design/tailscale.md). Used
by the demo, the tests' LocalAPI server (which also builds bus Notify messages from these nodes)
and the benchmarks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

VERSION = "1.100.0-t1f2e3d4c5-g6b7a8f9e0"


@dataclass(frozen=True)
class Node:
    hostname: str
    ipv4: str
    ipv6: str = ""
    domain: str = "tail0a0a0a.ts.net"
    node_id: int = 0
    sharee: bool = False
    online: bool = True

    @property
    def stable_id(self) -> str:
        return "n" + hashlib.sha1(self.hostname.encode()).hexdigest()[:10] + "CNTRL"

    @property
    def key(self) -> str:
        return "nodekey:" + hashlib.sha256(self.hostname.encode()).hexdigest()

    @property
    def dns_name(self) -> str:
        return f"{self.hostname}.{self.domain}."

    @property
    def ips(self) -> list[str]:
        return [self.ipv4] + ([self.ipv6] if self.ipv6 else [])

    def peer_status(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "ID": self.stable_id,
            "NodeID": self.node_id,
            "PublicKey": self.key,
            "HostName": self.hostname,
            "DNSName": self.dns_name,
            "OS": "linux",
            "UserID": 6000 + self.node_id,
            "TailscaleIPs": self.ips,
            "AllowedIPs": [f"{self.ipv4}/32"] + ([f"{self.ipv6}/128"] if self.ipv6 else []),
            "Addrs": None,
            "CurAddr": "",
            "Relay": "tok",
            "RxBytes": 0,
            "TxBytes": 0,
            "Created": "2025-05-10T12:00:00Z",
            "LastSeen": "0001-01-01T00:00:00Z",
            "Online": self.online,
            "ExitNode": False,
            "ExitNodeOption": False,
            "Active": True,
            "InNetworkMap": True,
            "InMagicSock": True,
            "InEngine": True,
            "KeyExpiry": "2027-05-10T12:00:00Z",
        }
        if self.sharee:
            d["ShareeNode"] = True
        return d

    def tailcfg_node(self, masq: str | None = None) -> dict[str, Any]:
        addrs = [f"{self.ipv4}/32"] + ([f"{self.ipv6}/128"] if self.ipv6 else [])
        hostinfo: dict[str, Any] = {"OS": "linux", "Hostname": self.hostname}
        if self.sharee:
            hostinfo["ShareeNode"] = True
        d: dict[str, Any] = {
            "ID": self.node_id,
            "StableID": self.stable_id,
            "Name": self.dns_name,
            "User": 6000 + self.node_id,
            "Key": self.key,
            "KeyExpiry": "2027-05-10T12:00:00Z",
            "Addresses": addrs,
            "AllowedIPs": addrs,
            "HomeDERP": 7,
            "Hostinfo": hostinfo,
            "Created": "2025-05-10T12:00:00Z",
            "Online": self.online,
            "MachineAuthorized": True,
        }
        if masq:
            d["SelfNodeV4MasqAddrForThisPeer"] = masq
        return d


def status(self_node: Node, peers: list[Node], backend_state: str = "Running") -> dict[str, Any]:
    return {
        "Version": VERSION,
        "TUN": True,
        "BackendState": backend_state,
        "HaveNodeKey": True,
        "AuthURL": "",
        "TailscaleIPs": self_node.ips,
        "Self": self_node.peer_status(),
        "Health": [],
        "MagicDNSSuffix": self_node.domain,
        "CurrentTailnet": {
            "Name": "example.org",
            "MagicDNSSuffix": self_node.domain,
            "MagicDNSEnabled": True,
        },
        "CertDomains": None,
        "Peer": {p.key: p.peer_status() for p in peers},
        "User": {},
        "ClientVersion": None,
    }


def whois(peer: Node, masq: str | None = None) -> dict[str, Any]:
    return {
        "Node": peer.tailcfg_node(masq),
        "UserProfile": {
            "ID": 6000 + peer.node_id,
            "LoginName": f"{peer.hostname}-ops@example.net",
            "DisplayName": f"{peer.hostname} operator",
        },
        "CapMap": None,
    }
