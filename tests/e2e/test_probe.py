"""`sdp-guard probe` across the emulated masquerade: real SIPp peers in B, the probe in A.

A (own address 100.101.1.1) is known in B's tailnet as 100.102.9.9; the router NATs A's packets
toward B and drops B's packets to 100.101.1.1 (netlab). The probe runs inside namespace A as a
real process and calls B's SIPp on an ephemeral-range port (never 5060). Independent nftables
counters in A count the RTP between A and B's media port, and the probe's own counts must
match them.

Peers (tests/e2e/probe_peers): a strict-SDP UAS (plays to the c= of our SDP), an echo UAS
(``-rtp_echo``, gives round-trip times) and an authenticating UAS (401, SIPp's ``verifyauth``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.core import manualattrs

from . import netlab, pbxdb, probe_peers, tailnet_docs
from .netlab import A_MASQ, A_SELF, B_SELF, Tailnet
from .probe_peers import (
    G711A_PCAP,
    SECRET,
    SENT,
    UAS_PORT,
    USERNAME,
    Peer,
    run_probe,
    sipp_uas,
)
from .stations import MEASURED

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.netns,
    pytest.mark.root,
    pytest.mark.slow,
    pytest.mark.usefixtures("prerequisites"),
]

B_MEDIA = netlab.RTP_PORT["b"]
TRUNK = "SIP-TRUNK-B2B2B2B2"
PEER_B = Peer(ns="", addr=B_SELF, port=UAS_PORT, media_port=B_MEDIA)  # ns: the lab's B

# Counters in A, independent of the probe: RTP between A and B's media port, either direction.
A_COUNTERS = f"""
table inet probe {{
    counter from_b {{}}
    counter to_b {{}}
    chain inbound {{
        type filter hook input priority filter; policy accept;
        ip saddr {B_SELF} udp sport {B_MEDIA} counter name from_b
    }}
    chain outbound {{
        type filter hook output priority filter; policy accept;
        ip daddr {B_SELF} udp dport {B_MEDIA} counter name to_b
    }}
}}
"""


def sipp_peer(
    lab: netlab.Lab, tmp: Path, kind: str, tag: str
) -> contextlib.AbstractContextManager[None]:
    """One SIPp UAS in B for one call (tests/e2e/probe_peers)."""
    return sipp_uas(dataclasses.replace(PEER_B, ns=lab.ns["b"]), tmp, kind, tag)


class Probe:
    def __init__(self, lab: netlab.Lab, tmp: Path, socket: Path) -> None:
        self.lab, self.tmp, self.socket = lab, tmp, socket
        self.db = tmp / "mikopbx.db"
        pbxdb.create(self.db, [pbxdb.Trunk(TRUNK, "station-b", B_SELF, port=UAS_PORT)])
        self.n = 0

    def set_provider(self, *, media_address: str | None = None, auth: bool = False) -> None:
        manual = manualattrs.set_media_address("", media_address) if media_address else ""
        import base64

        con = sqlite3.connect(self.db)
        try:
            con.execute(
                "UPDATE m_Sip SET manualattributes = ?, username = ?, secret = ? WHERE uniqid = ?",
                (
                    base64.b64encode(manual.encode()).decode() if manual else "",
                    USERNAME if auth else "",
                    SECRET if auth else "",
                    TRUNK,
                ),
            )
            con.commit()
        finally:
            con.close()

    def peer(self, kind: str) -> contextlib.AbstractContextManager[None]:
        self.n += 1
        return sipp_peer(self.lab, self.tmp, kind, f"uas{self.n}-{kind}")

    def run(self, *args: str) -> tuple[int, dict[str, Any], str, dict[str, int]]:
        """The probe as a real process inside A; returns (rc, JSON, stderr, A's counters)."""
        self.lab.exec("a", ["nft", "reset", "counters", "table", "inet", "probe"])
        self.lab.exec("r", ["nft", "reset", "counters", "table", "inet", "e2e"])
        rc, doc, out = run_probe(
            self.lab.ns["a"],
            [
                *args,
                "--db", str(self.db), "--registry", str(self.tmp / "none.yaml"),
                "--tailscale-socket", str(self.socket),
            ],
        )  # fmt: skip
        counts = {
            "from_b": self.lab.counter("a", "from_b", table="probe"),
            "to_b": self.lab.counter("a", "to_b", table="probe"),
            "lost": self.lab.lost_in_tailnet(),
        }
        r = doc["rtp"]
        MEASURED.append(
            f"probe {' '.join(args)} (c={doc['sdp_address']}): {doc['verdict']}; sent "
            f"{r['sent']}, received {r['received']}, echoed {r['echoed']}, rtt {r['rtt_ms']} ms; "
            f"nft in A: to B {counts['to_b']}, from B {counts['from_b']}; "
            f"lost in the tailnet {counts['lost']}"
        )
        return rc, doc, out, counts


def assert_received(doc: dict[str, Any], n: dict[str, int], at_least: float) -> None:
    probe_peers.assert_received(doc, n["from_b"], at_least)


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    from tests.fakes.localapi import LocalAPIServer

    assert G711A_PCAP.exists(), f"{G711A_PCAP} missing (Debian package sip-tester)"
    net = Tailnet(masquerade=True)
    sock = tmp_path / "tailscaled.sock"
    with (
        LocalAPIServer(str(sock), tailnet_docs.status("a", net), tailnet_docs.whois("a", net)),
        netlab.build(net) as lab,
    ):
        lab.nft("a", A_COUNTERS)
        yield Probe(lab, tmp_path, sock)


def test_strict_peer_one_way_with_own_address_two_way_with_masquerade(probe: Probe) -> None:
    """The fault and its fix, proven with one call each, before anything is changed."""
    probe.set_provider()  # no media_address: MikoPBX would send our own address
    with probe.peer("strict"):
        rc, doc, out, n = probe.run(TRUNK)
    assert doc["sdp_address"] == A_SELF and doc["sdp_address_source"] == "own", out
    assert doc["bind"] == A_SELF and doc["answered"] and doc["sip_status"] == 200, out
    assert doc["peer_media"] == f"{B_SELF}:{B_MEDIA}"
    assert doc["verdict"] == "one-way" and rc == 2, out
    assert doc["rtp"]["sent"] == SENT == n["to_b"], (doc["rtp"], n)  # ours all left A
    assert doc["rtp"]["received"] == 0 == n["from_b"], (doc["rtp"], n)
    assert n["lost"] > 0, n  # B's audio to 100.101.1.1 vanished in the tailnet

    # "Would the fallback fix it?": the address B knows us by, given explicitly.
    with probe.peer("strict"):
        rc, doc, out, n = probe.run(TRUNK, "--sdp-address", A_MASQ)
    assert doc["sdp_address"] == A_MASQ and doc["sdp_address_source"] == "explicit", out
    assert doc["verdict"] == "two-way" and rc == 0, out
    assert doc["rtp"]["sent"] == SENT == n["to_b"], (doc["rtp"], n)
    assert_received(doc, n, SENT // 2)  # B plays one packet per 30 ms
    assert doc["rtp"]["echoed"] == 0 and doc["rtp"]["rtt_ms"] is None
    assert n["lost"] == 0, n

    # After `sync --fallback media-address` the provider carries the block: auto follows it.
    probe.set_provider(media_address=A_MASQ)
    with probe.peer("strict"):
        rc, doc, out, n = probe.run(TRUNK)
    assert doc["sdp_address"] == A_MASQ and doc["sdp_address_source"] == "media_address", out
    assert doc["verdict"] == "two-way" and rc == 0, out
    assert_received(doc, n, SENT // 2)


def test_station_name_target_calls_through_its_provider(probe: Probe) -> None:
    """TARGET may be a registry station: its provider (matched as check matches it) is used."""
    (probe.tmp / "none.yaml").write_text(tailnet_docs.REGISTRY_YAML, encoding="utf-8")
    probe.set_provider()
    with probe.peer("strict"):
        rc, doc, out, n = probe.run("station-b")
    assert (doc["station"], doc["provider"]) == ("station-b", TRUNK), out
    assert doc["destination"] == f"{B_SELF}:{UAS_PORT}"
    assert doc["verdict"] == "one-way" and rc == 2, out
    assert doc["rtp"]["sent"] == SENT == n["to_b"] and doc["rtp"]["received"] == 0


def test_echo_peer_returns_our_packets_with_round_trip(probe: Probe) -> None:
    """An echo test that answers to the packets' source hears us whatever the SDP says."""
    probe.set_provider()
    with probe.peer("echo"):
        rc, doc, out, n = probe.run(f"{B_SELF}:{UAS_PORT}", "--sdp-address", A_MASQ)
    assert doc["verdict"] == "two-way" and rc == 0, out
    assert doc["provider"] is None and doc["bind"] == A_SELF
    r = doc["rtp"]
    assert r["sent"] == SENT == n["to_b"], (r, n)
    assert r["received"] == r["echoed"] == n["from_b"] >= 0.95 * SENT, (r, n)
    assert r["rtt_ms"] is not None and 0 < r["rtt_ms"] < 100 and r["loss"] < 0.05, r

    # With our own address in SDP a symmetric echo still answers to the source (the NATed
    # address), so the call is two-way: such a peer is not hit by the fault, and the probe says so.
    with probe.peer("echo"):
        rc, doc, out, n = probe.run(f"{B_SELF}:{UAS_PORT}", "--sdp-address", A_SELF)
    assert doc["verdict"] == "two-way" and rc == 0, out
    assert doc["rtp"]["echoed"] == n["from_b"] >= 0.95 * SENT, (doc["rtp"], n)


def test_digest_auth_with_the_providers_credentials_secret_never_shown(probe: Probe) -> None:
    probe.set_provider(media_address=A_MASQ, auth=True)
    with probe.peer("auth"):
        rc, doc, out, n = probe.run(TRUNK)
    assert doc["authenticated"] is True and doc["sip_status"] == 200, out
    assert doc["verdict"] == "two-way" and rc == 0, out
    assert doc["rtp"]["echoed"] == n["from_b"] >= 0.95 * SENT, (doc["rtp"], n)
    assert SECRET not in out  # stdout (JSON) and stderr at -vv

    # A wrong secret: SIPp's verifyauth refuses it, the probe reports no-answer with 403.
    con = sqlite3.connect(probe.db)
    con.execute("UPDATE m_Sip SET secret = 'wrong' WHERE uniqid = ?", (TRUNK,))
    con.commit()
    con.close()
    with probe.peer("auth"):
        rc, doc, out, _ = probe.run(TRUNK)
    assert doc["verdict"] == "no-answer" and doc["sip_status"] == 403 and rc == 2, out
    assert "wrong" not in out


def test_no_sip_answer_is_bounded(probe: Probe) -> None:
    """Nobody listens: the INVITE and its retransmissions go unanswered; the probe gives up."""
    import time

    t0 = time.monotonic()
    rc, doc, out, n = probe.run(f"{B_SELF}:{UAS_PORT}", "--sdp-address", A_MASQ)
    assert doc["verdict"] == "no-answer" and doc["answered"] is False and rc == 2, out
    assert doc["rtp"]["sent"] == 0 == n["to_b"]
    assert time.monotonic() - t0 < 15


def _scrape(lab: netlab.Lab, url: str) -> str:
    """GET inside namespace A (the daemon listens on A's own loopback)."""
    code = (
        "import sys, urllib.request;"
        "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"
    )
    return lab.exec("a", [sys.executable, "-c", code, url], check=False)


def test_daemon_probes_the_station_with_a_finding_on_schedule(tmp_path: Path) -> None:
    """The daemon in A sees masqueraded-toward-peer for station-b, calls B's strict peer itself
    and exports the one-way verdict; the module's /findings document carries the same row."""
    from .stations import TRUNK_TO, world

    with world(tmp_path, Tailnet(masquerade=True), name="probe daemon") as w:
        a = w.st["a"]
        con = sqlite3.connect(a.db)
        con.execute("UPDATE m_Sip SET port = ? WHERE uniqid = ?", (UAS_PORT, TRUNK_TO["b"]))
        con.commit()
        con.close()
        listen = "127.0.0.1:18796"  # A's own loopback, inside its namespace
        with a.config.open("a", encoding="utf-8") as f:
            f.write("probe:\n  schedule_minutes: 1\n")
        w.lab.nft("a", A_COUNTERS)
        with sipp_peer(w.lab, tmp_path, "strict", "uas-daemon"):
            daemon = netlab.spawn(
                w.lab.ns["a"],
                [sys.executable, "-m", "sdp_guard", "daemon", "--config", str(a.config),
                 "--listen", listen, "--recheck-seconds", "5"],
            )  # fmt: skip
            try:
                metrics = ""

                def probed() -> bool:
                    nonlocal metrics
                    metrics = _scrape(w.lab, f"http://{listen}/metrics")
                    return "sdp_guard_probe_verdict{" in metrics

                netlab.wait_until("the daemon's first probe call", probed, timeout=40, step=0.5)
                findings = json.loads(_scrape(w.lab, f"http://{listen}/findings"))
            finally:
                netlab.finish(daemon, 0.1)
        to_b = w.lab.counter("a", "to_b", table="probe")
    assert 'sdp_guard_probe_verdict{station="station-b",verdict="one-way"} 1.0' in metrics
    assert 'sdp_guard_probe_verdict{station="station-b",verdict="two-way"} 0.0' in metrics
    assert 'sdp_guard_probe_rtp_received_ratio{station="station-b"} 0.0' in metrics
    probe_lines = [ln for ln in metrics.splitlines() if ln.startswith("sdp_guard_probe_")]
    assert not [ln for ln in probe_lines if "station-c" in ln]  # no finding toward C: no call
    [row] = findings["probes"]
    assert (row["station"], row["provider"], row["verdict"]) == (
        "station-b",
        TRUNK_TO["b"],
        "one-way",
    )
    assert row["sent"] == 250 == to_b and row["received"] == 0, (row, to_b)
    assert row["sdp_address"] == A_SELF
    MEASURED.append(
        f"daemon probe toward station-b (c={row['sdp_address']}): {row['verdict']}; sent "
        f"{row['sent']} (nft: {to_b}), received {row['received']}"
    )
