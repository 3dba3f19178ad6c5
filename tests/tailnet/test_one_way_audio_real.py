"""The one-way-audio proof on the real data plane: SIP and RTP (SIPp, strict SDP, 60 packets each
way, tests/e2e/sipua) between two real tailscaled nodes over their tailnet addresses, with the
masquerade done by station A's own tailscaled toward B.

1. A is masqueraded toward B: the audio B sends to the address in A's SDP (A's own) is lost.
2. `sdp-guard sync --fallback media-address` on A (through the MikoPBX API test server): A's SDP
   toward B carries the address B knows A by; two-way.
3. A is renumbered (`set-ip`; one address everywhere, no masquerade), its owner advertises the new
   address, `sdp-guard sync` on both sides (B's provider host, A's fallback removed); two-way.
Packet counts come from nftables counters in each node's namespace.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import netlab, pbxdb, sipua
from tests.e2e.stations import Result, Station

from . import lab as labmod
from .conftest import MEASURED, TailnetLab
from .stations import A_MASQ, TRUNK_TO, A, B, make, registry_yaml

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]

ROLE = {A: "a", B: "b"}  # tests/e2e/sipua's roles (SIP/RTP ports per role)
A_NEW = "100.101.1.1"  # A's address after the renumber
HEADERS = 20 + 8  # IPv4 + UDP
RTP_DATAGRAM = 12 + sipua.PAYLOAD  # what one RTP packet adds beyond the headers


class RealLab:
    """What tests/e2e/sipua.Sipp needs from a lab, on real tailscaled nodes: namespaces, each
    node's own tailnet address, and nftables counters (RTP in/out per node; "lost": RTP a node
    sent to an address that is no peer in its tailnet view)."""

    def __init__(self, lab: labmod.Lab) -> None:
        self.lab = lab
        self.ns = {ROLE[n]: lab.node(n)["netns"] for n in (A, B)}
        self.self_ip: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read the addresses (after set-ip) and reinstall the counters."""
        self.self_ip = {ROLE[n]: self.lab.self_ipv4(n) for n in (A, B)}
        for n in (A, B):
            seen = sorted(set(self.lab.peers_seen(n).values()))
            port = netlab.RTP_PORT[ROLE[n]]
            rules = f"""
table inet e2e {{
    counter rtp_in {{}}
    counter rtp_out {{}}
    counter lost {{}}
    chain inbound {{
        type filter hook input priority filter; policy accept;
        udp dport {port} counter name rtp_in
    }}
    chain outbound {{
        type filter hook output priority filter; policy accept;
        udp sport {port} counter name rtp_out
        udp sport {port} ip daddr != {{ {", ".join(seen)} }} counter name lost
    }}
}}
"""
            self.lab.ns_exec(n, ["nft", "delete", "table", "inet", "e2e"], check=False)
            netlab.run(
                ["ip", "netns", "exec", self.ns[ROLE[n]], "nft", "-f", "-"], input_text=rules
            )

    def counter(self, role: str, name: str) -> int:
        """RTP datagrams counted by NAME. tailscaled hands datagrams that arrive back to back to
        the kernel as one UDP GRO packet (the TUN's virtio-net header), which nftables counts
        once, so the datagrams are taken from the bytes: every RTP datagram is the same size
        (IP 20 + UDP 8 + RTP 12 + 160), and each counted packet has one IP + UDP header."""
        out = netlab.run(
            ["ip", "netns", "exec", self.ns[role], "nft", "list", "counter", "inet", "e2e", name]
        )
        m = re.search(r"packets (\d+) bytes (\d+)", out)
        assert m, out
        packets, size = int(m.group(1)), int(m.group(2))
        datagrams, rest = divmod(size - HEADERS * packets, RTP_DATAGRAM)
        assert rest == 0, f"{name} in {role}: {packets} packets, {size} bytes are not RTP datagrams"
        return datagrams

    def rtp_in(self, role: str) -> int:
        return self.counter(role, "rtp_in")

    def rtp_out(self, role: str) -> int:
        return self.counter(role, "rtp_out")

    def lost_in_tailnet(self) -> int:
        return sum(self.counter(r, "lost") for r in self.ns)

    def reset_counters(self) -> None:
        for ns in self.ns.values():
            netlab.run(
                ["ip", "netns", "exec", ns, "nft", "reset", "counters", "table", "inet", "e2e"]
            )

    def udp_listening(self, role: str, port: int) -> bool:
        out = netlab.run(
            ["ip", "netns", "exec", self.ns[role], "ss", "-Hlun", f"sport = :{port}"], check=False
        )
        return bool(out.strip())


def call(
    rl: RealLab, sipp: sipua.Sipp, st: dict[str, Station], caller: str, callee: str, what: str
) -> sipua.CallResult:
    """A call the way both exchanges' configuration says (tests/e2e/stations.World.call): the
    caller dials its provider host; the callee matches the source address it sees to a provider;
    each SDP carries that provider's media_address or the station's own address."""
    out = pbxdb.read(st[caller].db, TRUNK_TO[callee])
    inc = pbxdb.read(st[callee].db, TRUNK_TO[caller])
    src = rl.lab.peers_seen(callee)[caller]
    assert src in (inc.host, *inc.extra_hosts), f"{callee} cannot identify a call from {src}"
    r = sipp.call(
        rl,  # type: ignore[arg-type]  # duck-typed netlab.Lab
        sipua.Leg(ROLE[caller], out.sdp_address(rl.self_ip[ROLE[caller]])),
        sipua.Leg(ROLE[callee], inc.sdp_address(rl.self_ip[ROLE[callee]])),
        out.host,
        out.port,
    )
    MEASURED.append(f"real tailnet {rl.lab.state['version']}, {what}: {r.describe()}")
    return r


def assert_one_way_to_a(r: sipua.CallResult) -> None:
    assert r.caller_rc == 0, f"the call itself should work (signalling): {r.caller_log}"
    assert r.sent == {r.caller: sipua.PACKETS, r.callee: sipua.PACKETS}, r.describe()
    assert r.received["a"] == 0, r.describe()
    assert r.received["b"] == sipua.PACKETS, r.describe()
    assert r.lost_in_tailnet == sipua.PACKETS, r.describe()


def assert_two_way(r: sipua.CallResult) -> None:
    assert r.caller_rc == 0, f"call failed: {r.caller_log}"
    assert r.sent == {r.caller: sipua.PACKETS, r.callee: sipua.PACKETS}, r.describe()
    for side, other in ((r.caller, r.callee), (r.callee, r.caller)):
        assert r.received[side] >= 0.9 * r.sent[other], r.describe()
    assert r.lost_in_tailnet == 0, r.describe()


def assert_ok(res: Result, what: str) -> None:
    assert res.rc == 0, f"{what} exited {res.rc}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"


@contextlib.contextmanager
def api_servers(st: dict[str, Station]) -> Iterator[None]:
    from tests.fakes.mikopbx_api import running_server

    with contextlib.ExitStack() as stack:
        for s in st.values():
            s.api_url = stack.enter_context(running_server(s.db)).url
        yield


def test_real_masquerade_one_way_then_fallback_then_renumber(
    tailnet: TailnetLab, world_dir: Path, sip_tools: None
) -> None:
    nodes = tailnet.up(A, B)
    a_self, b_self = nodes[A]["ipv4"], nodes[B]["ipv4"]
    tailnet.masquerade(A, B, A_MASQ)
    st = make(world_dir, nodes, {A: {B: b_self}, B: {A: A_MASQ}})
    calls = world_dir / "sipp"
    calls.mkdir()
    sipp = sipua.Sipp(calls)
    rl = RealLab(labmod.Lab.load(tailnet.dir))
    with api_servers(st):
        # 1. Broken: A's SDP carries its own address, which B's tailnet does not know.
        check_a = st[A].check()
        assert "masqueraded-toward-peer" in check_a.codes(TRUNK_TO[B]), check_a.stdout
        assert_one_way_to_a(call(rl, sipp, st, B, A, "1 masquerade, B calls A"))
        assert_one_way_to_a(call(rl, sipp, st, A, B, "1 masquerade, A calls B"))

        # 2. The media-address fallback: A tells B the address B knows it by.
        assert_ok(st[A].sync("--fallback", "media-address"), "sync --fallback media-address")
        assert pbxdb.media_address(pbxdb.read(st[A].db, TRUNK_TO[B]).manual) == A_MASQ
        r = call(rl, sipp, st, B, A, "2 fallback, B calls A")
        assert r.callee_sdp == A_MASQ
        assert_two_way(r)
        assert_two_way(call(rl, sipp, st, A, B, "2 fallback, A calls B"))

        # 3. Renumber: A gets one address everywhere (no masquerade) and advertises it.
        tailnet.masquerade(A, B, "none")
        tailnet.set_ip(A, A_NEW)
        assert a_self != A_NEW
        nodes = {**nodes, A: {**nodes[A], "ipv4": A_NEW}}
        st[A].registry.write_text(registry_yaml(nodes), encoding="utf-8")
        check_b = st[B].check()
        f = check_b.finding("host-differs-from-advertised")
        assert (f["configured"], f["advertised"], f["severity"]) == (A_MASQ, A_NEW, "critical")
        assert_ok(st[B].sync(), "sync on B")
        assert_ok(st[A].sync(), "sync on A")
        assert pbxdb.read(st[B].db, TRUNK_TO[A]).host == A_NEW
        assert pbxdb.media_address(pbxdb.read(st[A].db, TRUNK_TO[B]).manual) is None
        rl.refresh()
        assert rl.self_ip["a"] == A_NEW
        r = call(rl, sipp, st, B, A, "3 renumbered + sync, B calls A")
        assert (r.target, r.callee_sdp) == (A_NEW, A_NEW)
        assert_two_way(r)
        assert_two_way(call(rl, sipp, st, A, B, "3 renumbered + sync, A calls B"))
