"""`sdp-guard probe` over real tailscaled (v1.82.5 and v1.102.5) with a real masquerade.

Station A's tailscaled masquerades A toward B (the control server's SelfNodeV4MasqAddrForThisPeer):
B's tailnet knows A only as A_MASQ. The probe runs as a real process in A's namespace, binds A's
tailnet address (from the real LocalAPI) and calls a strict-SDP SIPp UAS (tests/e2e/probe_peers)
listening on B's tailnet address in B's namespace (one call also to an echo UAS, and one with the
probe as uid 65534, as the daemon's scheduled probes run). Each call sends 3 s of RTP (150 packets).

nftables counters in both namespaces, independent of the probe, count the RTP: what left A toward
B's media port and what came back; what reached B from A_MASQ (the masquerade on the data plane);
what B sent and how much of it went to an address that is no peer in B's tailnet (lost: tailscaled
drops it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.core import manualattrs, rtp
from tests.e2e import netlab, pbxdb, probe_peers
from tests.e2e.probe_peers import SENT, UAS_PORT, Peer, run_probe, sipp_uas

from . import lab as labmod
from .conftest import MEASURED, TailnetLab
from .stations import A_MASQ, TRUNK_TO, A, B, registry_yaml

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]

B_MEDIA = netlab.RTP_PORT["b"]
NOBODY = 65534
HEADERS = 20 + 8  # IPv4 + UDP
PROBE_RTP = 12 + rtp.SAMPLES  # the probe's RTP: header and 20 ms of G.711, one byte per sample
PCAP_RTP = 12 + 240  # the strict peer's: g711a.pcap holds 236 datagrams of 30 ms of PCMA
STALE = "100.64.250.250"  # an address the registry still advertises for B; no node has it


class Lab:
    """The lab after `up` and the masquerade: addresses, namespaces and the probe's counters."""

    def __init__(self, tailnet: TailnetLab, tmp: Path) -> None:
        self.version = tailnet.version
        self.lab = labmod.Lab.load(tailnet.dir)
        self.tmp = tmp
        self.a_self = self.lab.self_ipv4(A)
        self.b_self = self.lab.self_ipv4(B)
        self.socket = self.lab.node(A)["socket"]
        # The masquerade as both tailscaleds report it (else every count below means nothing).
        assert self.lab.masq_of(A, B) == A_MASQ
        assert self.lab.peers_seen(B)[A] == A_MASQ != self.a_self
        seen_by_b = sorted(set(self.lab.peers_seen(B).values()))
        self.nft(
            A,
            f"""
table inet probe {{
    counter to_b {{}}
    counter from_b {{}}
    chain outbound {{
        type filter hook output priority filter; policy accept;
        ip daddr {self.b_self} udp dport {B_MEDIA} counter name to_b
    }}
    chain inbound {{
        type filter hook input priority filter; policy accept;
        ip saddr {self.b_self} udp sport {B_MEDIA} counter name from_b
    }}
}}
""",
        )
        self.nft(
            B,
            f"""
table inet probe {{
    counter from_masq {{}}
    counter to_a {{}}
    counter lost {{}}
    chain inbound {{
        type filter hook input priority filter; policy accept;
        ip saddr {A_MASQ} udp dport {B_MEDIA} counter name from_masq
    }}
    chain outbound {{
        type filter hook output priority filter; policy accept;
        udp sport {B_MEDIA} counter name to_a
        udp sport {B_MEDIA} ip daddr != {{ {", ".join(seen_by_b)} }} counter name lost
    }}
}}
""",
        )
        self.n = 0

    def nft(self, node: str, rules: str) -> None:
        netlab.run(
            ["ip", "netns", "exec", self.lab.node(node)["netns"], "nft", "-f", "-"],
            input_text=rules,
        )

    def counter(self, node: str, name: str, rtp_size: int) -> int:
        """RTP datagrams of RTP_SIZE bytes counted by NAME. tailscaled hands datagrams that arrive
        back to back to the kernel as one UDP GRO packet, which nftables counts once (the probe's
        socket still gets each datagram), so they are taken from the bytes: each counted packet
        has one IPv4 + UDP header (as tests/tailnet/test_one_way_audio_real.py does)."""
        out = self.lab.ns_exec(node, ["nft", "list", "counter", "inet", "probe", name])
        m = re.search(r"packets (\d+) bytes (\d+)", out)
        assert m, out
        packets, size = int(m.group(1)), int(m.group(2))
        datagrams, rest = divmod(size - HEADERS * packets, rtp_size)
        assert rest == 0, (
            f"{name} in {node}: {packets} packets, {size} bytes: not {rtp_size}-byte RTP"
        )
        return datagrams

    def peer(self, port: int = UAS_PORT) -> Peer:
        return Peer(self.lab.node(B)["netns"], self.b_self, port, B_MEDIA)

    def probe(
        self,
        args: list[str],
        peer: Peer | None = None,
        kind: str = "strict",
        uid: int | None = None,
    ) -> tuple[int, dict[str, Any], str, dict[str, int]]:
        """One call to a fresh UAS in B (strict or echo); (rc, JSON, output, counters)."""
        self.n += 1
        for node in (A, B):
            self.lab.ns_exec(node, ["nft", "reset", "counters", "table", "inet", "probe"])
        with sipp_uas(peer or self.peer(), self.tmp, kind, f"uas{self.n}-{kind}"):
            rc, doc, out = run_probe(
                self.lab.node(A)["netns"], [*args, "--tailscale-socket", self.socket], uid=uid
            )
        theirs = PROBE_RTP if kind == "echo" else PCAP_RTP  # an echo returns our own packets
        n = {
            "to_b": self.counter(A, "to_b", PROBE_RTP),
            "from_b": self.counter(A, "from_b", theirs),
        }
        n["from_masq"] = self.counter(B, "from_masq", PROBE_RTP)
        n |= {c: self.counter(B, c, theirs) for c in ("to_a", "lost")}
        r = doc["rtp"]
        shown = " ".join(Path(a).name if "/" in a else a for a in args)
        MEASURED.append(
            f"probe over real tailscaled {self.version}{'' if uid is None else f' (uid {uid})'}: "
            f"{kind} peer, {shown} (c={doc['sdp_address']}, {doc['sdp_address_source']}): "
            f"{doc['verdict']}; sent {r['sent']}, received {r['received']}, echoed {r['echoed']}, "
            f"rtt {r['rtt_ms']} ms; nft: A to B {n['to_b']}, B from "
            f"{A_MASQ} {n['from_masq']}, B sent {n['to_a']} (lost in the tailnet {n['lost']}), "
            f"A from B {n['from_b']}"
        )
        return rc, doc, out, n

    def assert_ours_arrived_masqueraded(self, doc: dict[str, Any], n: dict[str, int]) -> None:
        """All our RTP left A and reached B, from A_MASQ."""
        assert doc["rtp"]["sent"] == SENT == n["to_b"] == n["from_masq"], (doc["rtp"], n)


@pytest.fixture
def lab(tailnet: TailnetLab, world_dir: Path, sip_tools: None) -> Lab:
    tailnet.up(A, B)
    tailnet.masquerade(A, B, A_MASQ)
    calls = world_dir / "calls"
    calls.mkdir()
    return Lab(tailnet, calls)


def test_host_port_target_one_way_with_own_address_two_way_with_masquerade(lab: Lab) -> None:
    """No DB, no registry: TARGET host:port; bind and own address come from the real LocalAPI."""
    absent = ["--db", str(lab.tmp / "absent.db"), "--registry", str(lab.tmp / "absent.yaml")]
    target = f"{lab.b_self}:{UAS_PORT}"

    rc, doc, out, n = lab.probe([target, *absent])
    assert (doc["bind"], doc["sdp_address"], doc["sdp_address_source"]) == (
        lab.a_self,
        lab.a_self,
        "own",
    ), out
    assert doc["answered"] and doc["sip_status"] == 200, out
    assert doc["peer_media"] == f"{lab.b_self}:{B_MEDIA}", out
    assert doc["verdict"] == "one-way" and rc == 2, out
    lab.assert_ours_arrived_masqueraded(doc, n)
    assert doc["rtp"]["received"] == 0 == n["from_b"], (doc["rtp"], n)
    # B played its audio to our own address, which B's tailnet does not know: all of it lost.
    assert n["to_a"] == n["lost"] >= SENT // 2, n

    # "Would the fallback fix it?": the address B knows us by, given explicitly.
    rc, doc, out, n = lab.probe([target, *absent, "--sdp-address", A_MASQ])
    assert (doc["sdp_address"], doc["sdp_address_source"]) == (A_MASQ, "explicit"), out
    assert doc["verdict"] == "two-way" and rc == 0, out
    lab.assert_ours_arrived_masqueraded(doc, n)
    assert n["lost"] == 0, n
    # B sends one packet per 30 ms; A's tailscaled turns B's packets to A_MASQ back to A.
    probe_peers.assert_received(doc, n["from_b"], SENT // 2)
    assert n["from_b"] == n["to_a"], n  # all of B's audio reached A

    # An echo that answers to the source of our packets (A_MASQ, which A's tailscaled maps back
    # to A) hears us whatever our SDP says: such a peer is not hit by the fault (docs/probe.md).
    rc, doc, out, n = lab.probe([target, *absent], kind="echo")
    assert doc["sdp_address"] == lab.a_self and doc["verdict"] == "two-way" and rc == 0, out
    lab.assert_ours_arrived_masqueraded(doc, n)
    r = doc["rtp"]
    assert r["received"] == r["echoed"] == n["from_b"] == n["to_a"] == n["from_masq"], (r, n)
    assert n["lost"] == 0 and r["rtt_ms"] is not None and 0 < r["rtt_ms"] < 100, (r, n)


def test_station_target_resolved_through_the_real_localapi(lab: Lab) -> None:
    """TARGET a registry station: located by its node name in A's real tailnet status."""
    nodes = {A: {"ipv4": lab.a_self, "hostname": A}, B: {"ipv4": STALE, "hostname": B}}
    registry = lab.tmp / "stations.yaml"
    registry.write_text(registry_yaml(nodes), encoding="utf-8")
    reg = ["--registry", str(registry)]

    # Without a DB: no provider, so the station's node address in our tailnet (not the stale
    # advertised one) on the SIP default port, with our own address in SDP. Run as uid 65534, as
    # the daemon's scheduled probes run: the real LocalAPI gives a non-writer its status.
    rc, doc, out, n = lab.probe(
        ["station-b", *reg, "--db", str(lab.tmp / "absent.db")], lab.peer(5060), uid=NOBODY
    )
    assert (doc["station"], doc["provider"]) == (B, None), out
    assert doc["destination"] == f"{lab.b_self}:5060", out
    assert (doc["sdp_address"], doc["sdp_address_source"]) == (lab.a_self, "own"), out
    assert doc["verdict"] == "one-way" and rc == 2, out
    lab.assert_ours_arrived_masqueraded(doc, n)
    assert doc["rtp"]["received"] == 0 == n["from_b"] and n["lost"] == n["to_a"] > 0, n

    # With MikoPBX's provider toward B: its port; SDP as MikoPBX would send it.
    trunk = TRUNK_TO[B]
    before = pbxdb.create(lab.tmp / "before.db", [pbxdb.Trunk(trunk, B, lab.b_self, port=UAS_PORT)])
    rc, doc, out, n = lab.probe(["station-b", *reg, "--db", str(before)])
    assert (doc["station"], doc["provider"]) == (B, trunk), out
    assert doc["destination"] == f"{lab.b_self}:{UAS_PORT}", out
    assert (doc["sdp_address"], doc["sdp_address_source"]) == (lab.a_self, "own"), out
    assert doc["verdict"] == "one-way" and rc == 2, out
    lab.assert_ours_arrived_masqueraded(doc, n)
    assert doc["rtp"]["received"] == 0 == n["from_b"] and n["lost"] == n["to_a"] > 0, n

    # The provider as `sync --fallback media-address` leaves it: auto now sends A_MASQ.
    manual = manualattrs.set_media_address("", A_MASQ)
    after = pbxdb.create(
        lab.tmp / "after.db", [pbxdb.Trunk(trunk, B, lab.b_self, port=UAS_PORT, manual=manual)]
    )
    rc, doc, out, n = lab.probe(["station-b", *reg, "--db", str(after)])
    assert (doc["sdp_address"], doc["sdp_address_source"]) == (A_MASQ, "media_address"), out
    assert doc["verdict"] == "two-way" and rc == 0, out
    lab.assert_ours_arrived_masqueraded(doc, n)
    assert n["lost"] == 0 and n["from_b"] == n["to_a"], n
    probe_peers.assert_received(doc, n["from_b"], SENT // 2)
