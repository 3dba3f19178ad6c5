"""Generated station networks for the scaling and memory benchmarks.

``build(directory, n)`` writes a MikoPBX DB (real schema) with ``n`` providers, a registry of
``n`` stations and a tailnet snapshot with ``n`` peers (+ a few unrelated nodes), all in the real
wire shape (``sdp_guard.demo.wire``). Every tenth station repeats the same mix of faults and
matching paths, so the work per provider is the same at every size:

    i % 10   provider matched by        tailnet / registry state
    0..3     address (host)             healthy
    4        address                    healthy, two m_SipHosts rows
    5        explicit providers: [id]   renumbered here, host stale  -> host-differs (critical)
    6        address                    the peer masquerades us      -> masqueraded-toward-peer
    7        MagicDNS name              healthy
    8        description (no host)      peer has another IPv4 here   -> peer-address-differs
    9        address                    node not shared with us      -> peer-not-in-tailnet
    plus n // 100 disabled providers at unknown tailnet hosts     -> provider-unmatched (info)
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass

from sdp_guard.demo import pbxdb, wire

BASE = int(ipaddress.IPv4Address("100.64.0.0"))
SELF = wire.Node("bench-self", "100.127.255.1", "fd7a:115c:a1e0::1", node_id=1)


def _v4(n: int) -> str:
    return str(ipaddress.IPv4Address(BASE + n))


@dataclass(frozen=True)
class NetworkFiles:
    db: str
    registry: str
    snapshot: str
    n: int

    def check_argv(self) -> list[str]:
        return [
            "check",
            "--db",
            self.db,
            "--registry",
            self.registry,
            "--snapshot",
            self.snapshot,
        ]


@dataclass(frozen=True)
class Station:
    i: int
    kind: int  # the row of the table above
    name: str
    node: wire.Node  # as our tailnet sees it
    advertised: str
    old: str  # stale provider host (kind 5)
    masq: str | None


def stations(n: int, kind: int | None = None) -> list[Station]:
    """``n`` stations in the mix above, or all of one ``kind`` (5: every provider stale)."""
    out = []
    for i in range(n):
        k = i % 10 if kind is None else kind
        adv = _v4(1024 + 4 * i)
        old = _v4(1024 + 4 * i + 1)
        observed = old if k == 8 else adv
        node = wire.Node(f"st{i:05d}-pbx", observed, f"fd7a:115c:a1e0::{i + 16:x}", node_id=100 + i)
        masq = _v4(1024 + 4 * i + 2) if k == 6 else None
        out.append(Station(i, k, f"st{i:05d}", node, adv, old, masq))
    return out


def registry_yaml(sts: list[Station]) -> str:
    lines = ["stations:"]
    for s in sts:
        lines.append(f"  - name: {s.name}")
        lines.append(f"    ipv4: {s.advertised}")
        lines.append(f"    node: {s.node.hostname}")
        if s.kind == 5:
            lines.append(f"    providers: [SIP-TRUNK-B{s.i:07d}]")
    return "\n".join(lines) + "\n"


Row = tuple[str, str, str, str, str, list[str]]


def _provider_row(s: Station) -> Row:
    """(uniqid, description, registration_type, host, disabled, m_SipHosts)"""
    kind = s.kind
    uid = f"SIP-TRUNK-B{s.i:07d}"
    desc = f"Exchange {s.i}"
    reg = "inbound" if kind == 8 else "none"
    host, disabled, extra = s.advertised, "0", [s.advertised]
    if kind == 4:
        extra = [s.advertised, f"192.168.{s.i % 250}.{s.i % 200 + 2}"]
    elif kind == 5:
        host, extra = s.old, [s.old]
    elif kind == 7:
        host, extra = s.node.hostname, []
    elif kind == 8:
        host, desc, extra = "", s.name, []
    return uid, desc, reg, host, disabled, extra


def provider_rows(sts: list[Station]) -> list[Row]:
    rows = [_provider_row(s) for s in sts]
    for k in range(len(sts) // 100):
        addr = _v4(1_000_000 + k)
        rows.append((f"SIP-TRUNK-X{k:07d}", f"Old trunk {k}", "none", addr, "1", [addr]))
    return rows


def write_db(path: str, sts: list[Station]) -> None:
    if os.path.exists(path):
        os.unlink(path)
    trunks = [
        pbxdb.Trunk(
            uid,
            desc,
            host,
            registration=reg,
            extra_hosts=tuple(extra),
            note=f"trunk {i}",
            disabled=disabled == "1",
            username=f"u{i}",
            secret=f"secret-{i}",
        )
        for i, (uid, desc, reg, host, disabled, extra) in enumerate(provider_rows(sts))
    ]
    lan = pbxdb.Lan("192.168.10.5", "203.0.113.7", "bench", gateway="192.168.10.1")
    pbxdb.create(path, trunks, local_networks=["100.64.0.0/10"], lan=lan)


def shared(sts: list[Station]) -> list[Station]:
    """The stations whose node is a peer in our tailnet (all but kind 9)."""
    return [s for s in sts if s.kind != 9]


def peers(sts: list[Station]) -> list[wire.Node]:
    """``len(sts)`` peers: the shared stations' nodes plus unrelated machines."""
    nodes = [s.node for s in shared(sts)]
    k = len(sts) - len(nodes)
    return nodes + [wire.Node(f"laptop-{j}", _v4(16 + j), node_id=10**6 + j) for j in range(k)]


def status_doc(sts: list[Station]) -> dict[str, object]:
    return wire.status(SELF, peers(sts))


def whois_docs(sts: list[Station]) -> dict[str, object]:
    return {s.node.ipv4: wire.whois(s.node, s.masq) for s in shared(sts)}


def build(directory: str, n: int, kind: int | None = None) -> NetworkFiles:
    os.makedirs(directory, exist_ok=True)
    sts = stations(n, kind)
    db = os.path.join(directory, "mikopbx.db")
    write_db(db, sts)
    registry = os.path.join(directory, "stations.yaml")
    with open(registry, "w", encoding="utf-8") as f:
        f.write(registry_yaml(sts))
    snapshot = os.path.join(directory, "tailnet-snapshot.json")
    doc = {
        "schema_version": 1,
        "captured_at": "2026-11-28T06:00:00Z",
        "tool": "bench/_network.py",
        "status": status_doc(sts),
        "whois": whois_docs(sts),
    }
    with open(snapshot, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return NetworkFiles(db, registry, snapshot, n)
