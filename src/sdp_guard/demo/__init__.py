"""The embedded demo: a small station ("Ochanomizu") with every kind of fault.

- kanda:     healthy.
- shibuya:   already renumbered in our tailnet, but the provider still has the old host
             -> host-differs-from-advertised (critical: sync fixes it now).
- ueno:      knows OUR node by another address -> masqueraded-toward-peer.
- ikebukuro: shows up here at another address, and its advertised address is taken by our NAS
             -> peer-address-differs-from-advertised + advertised-address-taken, and its provider
             waits for the renumber (host-differs-from-advertised, warning).
- MikoPBX sits behind NAT with an external address and no 100.64.0.0/10 local network
             -> tailnet-not-in-local-net.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from sdp_guard.demo import pbxdb, wire

SELF = wire.Node("ochanomizu-pbx", "100.70.10.2", "fd7a:115c:a1e0::a02", node_id=1)
KANDA = wire.Node("kanda-pbx", "100.101.12.34", "fd7a:115c:a1e0::c01", node_id=2, sharee=True)
SHIBUYA = wire.Node("shibuya-pbx", "100.88.201.5", "fd7a:115c:a1e0::c02", node_id=3)
UENO = wire.Node("ueno-gw", "100.120.33.8", "fd7a:115c:a1e0::c03", node_id=4)
IKEBUKURO = wire.Node("ikebukuro-pbx", "100.65.20.20", "fd7a:115c:a1e0::c04", node_id=5)
NAS = wire.Node("nas-tokyo", "100.77.5.5", "fd7a:115c:a1e0::c05", node_id=6)
PEERS = [KANDA, SHIBUYA, UENO, IKEBUKURO, NAS]
MASQ = {UENO.ipv4: "100.99.44.44"}  # ueno knows us as 100.99.44.44

REGISTRY = """\
# Advertised addresses: the IPv4 each station's node has in its OWNER's tailnet (TC25 step 0).
stations:
  - name: kanda
    ipv4: 100.101.12.34
    node: kanda-pbx
  - name: shibuya
    ipv4: 100.88.201.5
    node: shibuya-pbx
    providers: [SIP-TRUNK-7B3D0E55]   # its host is stale, so name the provider explicitly
  - name: ueno
    ipv4: 100.120.33.8
    node: ueno-gw
  - name: ikebukuro
    ipv4: 100.77.5.5
    node: ikebukuro-pbx
    providers: [SIP-TRUNK-2D9E6A10]
"""


PROVIDERS = [
    # uniqid, description, registration, host, manualattributes, note
    (
        "SIP-TRUNK-4F2A9C1E",
        "Kanda exchange",
        "none",
        "100.101.12.34",
        "[endpoint]\ncallerid = Kanda Exchange <0300>\n",
        "Peer trunk to Kanda",
    ),
    (
        "SIP-TRUNK-7B3D0E55",
        "Shibuya exchange",
        "outbound",
        "100.88.7.19",
        "",
        "We register to Shibuya",
    ),
    ("SIP-TRUNK-C81E2D07", "Ueno exchange", "inbound", "100.120.33.8", "", "Ueno registers to us"),
    (
        "SIP-TRUNK-2D9E6A10",
        "Ikebukuro exchange",
        "none",
        "100.65.20.20",
        "",
        "Peer trunk to Ikebukuro",
    ),
]


@dataclass(frozen=True)
class DemoFiles:
    db: str
    registry: str
    snapshot: str


def build(directory: str) -> DemoFiles:
    """Write the demo DB, registry and tailnet snapshot into ``directory``."""
    db = pbxdb.create(
        os.path.join(directory, "mikopbx.db"),
        [
            pbxdb.Trunk(
                uid,
                desc,
                host,
                registration=reg,
                extra_hosts=(host,),
                manual=attrs,
                note=note,
                username=f"ochanomizu{i}",
                secret=f"demo-secret-{i}",
            )
            for i, (uid, desc, reg, host, attrs, note) in enumerate(PROVIDERS, start=1)
        ],
        lan=pbxdb.Lan("192.168.10.5", "203.0.113.7", "ochanomizu", gateway="192.168.10.1"),
        # A phone (type='peer'): never a provider, never reported.
        sql="INSERT INTO m_Sip (uniqid, disabled, extension, type, host, description) "
        "VALUES ('SIP-PHONE-201', '0', '201', 'peer', 'dynamic', 'Front desk phone');",
    )
    registry = os.path.join(directory, "stations.yaml")
    with open(registry, "w", encoding="utf-8") as f:
        f.write(REGISTRY)
    snapshot = os.path.join(directory, "tailnet-snapshot.json")
    doc = {
        "schema_version": 1,
        "captured_at": "2026-11-28T06:00:00Z",
        "tool": "sdp-guard demo",
        "status": wire.status(SELF, PEERS),
        "whois": {p.ipv4: wire.whois(p, MASQ.get(p.ipv4)) for p in PEERS if p is not NAS},
    }
    with open(snapshot, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
    return DemoFiles(db=db, registry=registry, snapshot=snapshot)
