"""LocalAPI answers (status, whois) for each station, derived from the same `netlab.Tailnet` the
router emulates, in the shape of the recorded fixtures (design/tailscale.md §3-4).

* A's status lists B at 100.102.2.2 (a sharee node) and C; A's whois of B carries
  ``SelfNodeV4MasqAddrForThisPeer = 100.102.9.9`` while A is masqueraded toward B.
* B's status lists A at the address B's tailnet knows it by (100.102.9.9, or 100.101.1.1 after
  renumbering), C, and, when the advertised address is taken, the node that holds it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.fixtures import fixture

from . import netlab


def _fixture(name: str) -> Any:
    path = fixture("tailscale", name)
    return json.loads(path.read_text(encoding="utf-8"))


_NODES = {
    # name: (stable id, node id, user id, key byte, ipv6)
    "station-a": ("nA1a1a1a1CNTRL", 1001, 5002, "a1", "fd7a:115c:a1e0::1a01"),
    "station-b": ("nB2b2b2b2CNTRL", 2002, 6001, "b2", "fd7a:115c:a1e0::2b02"),
    "station-c": ("nC3c3c3c3CNTRL", 3003, 7001, "c3", "fd7a:115c:a1e0::3c03"),
    "station-x": ("nX9x9x9x9CNTRL", 9009, 6001, "e9", "fd7a:115c:a1e0::9e09"),
}
_SUFFIX = {"a": "tail0a0a0a.ts.net", "b": "tail0b0b0b.ts.net", "c": "tail0c0c0c.ts.net"}
_HOME_SUFFIX = {
    "station-a": "tail0a0a0a.ts.net",
    "station-b": "tail0b0b0b.ts.net",
    "station-c": "tail0c0c0c.ts.net",
    "station-x": "tail0b0b0b.ts.net",
}


def _peer_status(template: dict[str, Any], name: str, ipv4: str, **extra: Any) -> dict[str, Any]:
    sid, nid, uid, kb, v6 = _NODES[name]
    p = copy.deepcopy(template)
    p.pop("ShareeNode", None)
    p.update(
        ID=sid,
        NodeID=nid,
        PublicKey=f"nodekey:{kb * 32}",
        HostName=name,
        DNSName=f"{name}.{_HOME_SUFFIX[name]}.",
        UserID=uid,
        TailscaleIPs=[ipv4, v6],
        AllowedIPs=[f"{ipv4}/32", f"{v6}/128"],
        PeerAPIURL=[f"http://{ipv4}:41112"],
    )
    p.update(extra)
    return p


def status(role: str, net: netlab.Tailnet) -> dict[str, Any]:
    """`/localapi/v0/status` as seen on station `role`."""
    doc: dict[str, Any] = _fixture("status-sharer.json")
    peer_template = next(iter(doc["Peer"].values()))
    me = f"station-{role}"
    sid, nid, uid, kb, v6 = _NODES[me]
    own = {"a": netlab.A_SELF, "b": netlab.B_SELF, "c": netlab.C_SELF}[role]
    doc["TailscaleIPs"] = [own, v6]
    doc["MagicDNSSuffix"] = _SUFFIX[role]
    doc["CurrentTailnet"]["MagicDNSSuffix"] = _SUFFIX[role]
    doc["Self"].update(
        ID=sid,
        NodeID=nid,
        PublicKey=f"nodekey:{kb * 32}",
        HostName=me,
        DNSName=f"{me}.{_SUFFIX[role]}.",
        UserID=uid,
        TailscaleIPs=[own, v6],
    )
    peers: list[dict[str, Any]] = []
    if role == "a":
        peers.append(_peer_status(peer_template, "station-b", netlab.B_SELF, ShareeNode=True))
        peers.append(_peer_status(peer_template, "station-c", netlab.C_SELF))
    elif role == "b":
        peers.append(
            _peer_status(peer_template, "station-a", net.a_seen_by_b, AltSharerUserID=5001)
        )
        peers.append(_peer_status(peer_template, "station-c", netlab.C_SELF))
        if net.taken_by:
            peers.append(_peer_status(peer_template, net.taken_by, netlab.A_SELF))
    else:
        peers.append(_peer_status(peer_template, "station-a", netlab.A_SELF))
        peers.append(_peer_status(peer_template, "station-b", netlab.B_SELF))
    doc["Peer"] = {p["PublicKey"]: p for p in peers}
    return doc


def whois(role: str, net: netlab.Tailnet) -> dict[str, Any]:
    """`/localapi/v0/whois?addr=IP` answers on station `role`, keyed by peer IPv4."""
    masq_t = _fixture("whois-masqueraded.json")
    plain_t = _fixture("whois-plain.json")
    out: dict[str, Any] = {}
    for p in status(role, net)["Peer"].values():
        ipv4 = p["TailscaleIPs"][0]
        name = p["HostName"]
        masq = role == "a" and name == "station-b" and net.masquerade
        doc = copy.deepcopy(masq_t if masq else plain_t)
        node = doc["Node"]
        sid, nid, uid, kb, v6 = _NODES[name]
        node.update(
            ID=nid,
            StableID=sid,
            Name=p["DNSName"],
            User=uid,
            Key=f"nodekey:{kb * 32}",
            Addresses=[f"{ipv4}/32", f"{v6}/128"],
            AllowedIPs=[f"{ipv4}/32", f"{v6}/128"],
        )
        node["Hostinfo"]["Hostname"] = name
        if p.get("ShareeNode"):
            node["Hostinfo"]["ShareeNode"] = True
        else:
            node["Hostinfo"].pop("ShareeNode", None)
        if masq:
            node["SelfNodeV4MasqAddrForThisPeer"] = netlab.A_MASQ
        else:
            node.pop("SelfNodeV4MasqAddrForThisPeer", None)
        doc["UserProfile"]["ID"] = uid
        out[ipv4] = doc
    return out


REGISTRY_YAML = f"""\
# Advertised addresses (each node's IPv4 in its owner's tailnet), as the network publishes them.
stations:
  - name: station-a
    node: station-a
    ipv4: {netlab.A_SELF}
  - name: station-b
    node: station-b
    ipv4: {netlab.B_SELF}
  - name: station-c
    node: station-c
    ipv4: {netlab.C_SELF}
"""
