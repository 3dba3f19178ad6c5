"""Scheduled probes of the daemon: which stations, the calls themselves, and the two metrics.

The call test places a real call to a SIPp echo peer on loopback (an ephemeral port, never 5060).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdp_guard.core.diagnose import ProviderMatch, Report
from sdp_guard.core.findings import Code, Finding, Severity
from sdp_guard.core.model import LocalNet, PbxConfig, Peer, Provider, Station, TailnetView
from sdp_guard.core.probe import scheduled_targets
from sdp_guard.daemon.exposition import exposition
from sdp_guard.daemon.probes import Scheduler, jobs
from sdp_guard.daemon.state import ProbeRow, PublishedState

B = Station("b", "100.102.2.2")
C = Station("c", "100.103.3.3")
P_B = Provider("SIP-TRUNK-B", host="100.102.2.2", port=5062)
P_B_OFF = Provider("SIP-TRUNK-B0", host="100.102.2.2", disabled=True)
P_C = Provider("SIP-TRUNK-C", host="c-pbx")  # a MagicDNS name
VIEW = TailnetView(
    self_ipv4="100.101.1.1", peers=(Peer("nC", hostname="c-pbx", ipv4="100.103.3.3"),)
)


def report(*findings: Finding, providers: tuple[Provider, ...] = (P_B_OFF, P_B, P_C)) -> Report:
    station = {"SIP-TRUNK-B": B, "SIP-TRUNK-B0": B, "SIP-TRUNK-C": C}
    matches = tuple(ProviderMatch(p, station.get(p.id), "explicit") for p in providers)
    return Report(tuple(findings), matches, (), VIEW)


def test_targets_are_stations_with_warning_or_critical_findings() -> None:
    r = report(
        Finding(Code.MASQUERADED, Severity.CRITICAL, provider=None, station="b"),
        Finding(Code.PROVIDER_UNMATCHED, Severity.INFO, provider="SIP-TRUNK-C", station="c"),
    )
    # the finding names no provider: the first *enabled* provider of the station
    assert scheduled_targets(r) == [("b", P_B)]
    r = report(
        Finding(Code.PEER_NOT_IN_TAILNET, Severity.WARNING, provider="SIP-TRUNK-C", station="c")
    )
    [job] = jobs(r, PbxConfig(), VIEW, "186")
    # MagicDNS host resolved through the tailnet, default port, our own address in SDP
    assert (job.station, job.host, job.port, job.sdp_address, job.bind, job.number) == (
        "c", "100.103.3.3", 5060, "100.101.1.1", "100.101.1.1", "186",
    )  # fmt: skip
    natted = PbxConfig(local_net=LocalNet((), "private", "203.0.113.7", True))
    assert jobs(r, natted, VIEW, "186")[0].sdp_address == "203.0.113.7"
    assert jobs(r, PbxConfig(), VIEW._replace(self_ipv4=""), "186") == []


def test_probe_metrics() -> None:
    rows = (
        ProbeRow("b", "SIP-TRUNK-B", "one-way", 0.0, 250, 0, 200, "100.101.1.1", 1.7e9),
        ProbeRow("c", "SIP-TRUNK-C", "two-way", 0.992, 250, 248, 200, "100.101.1.1", 1.7e9),
    )
    text = exposition(PublishedState(started_at=0.0, recheck_seconds=60.0, probes=rows)).decode()
    assert 'sdp_guard_probe_rtp_received_ratio{station="b"} 0.0' in text
    assert 'sdp_guard_probe_rtp_received_ratio{station="c"} 0.992' in text
    assert 'sdp_guard_probe_verdict{station="b",verdict="one-way"} 1.0' in text
    assert 'sdp_guard_probe_verdict{station="b",verdict="two-way"} 0.0' in text
    assert 'sdp_guard_probe_verdict{station="c",verdict="two-way"} 1.0' in text
    # no probe yet: no probe series at all (not a misleading 0)
    empty = exposition(PublishedState(started_at=0.0, recheck_seconds=60.0)).decode()
    assert "sdp_guard_probe_" not in empty


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def echo_peer(tmp_path: Path) -> Iterator[int]:
    if shutil.which("sipp") is None or os.geteuid() != 0:
        msg = "needs sipp (Debian package sip-tester) and root"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    port, media = _free_port(), _free_port()
    p = subprocess.Popen(
        ["timeout", "-s", "KILL", "30", "sipp", "-sn", "uas", "-rtp_echo", "-i", "127.0.0.1",
         "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media), "-m", "1", "-nostdin",
         "-trace_err", "-error_file", str(tmp_path / "uas.errors")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["ss", "-Hlun", f"sport = :{port}"], capture_output=True, text=True, timeout=5
            ).stdout
            if out.strip() or p.poll() is not None:
                break
            time.sleep(0.05)
        errors = tmp_path / "uas.errors"
        assert p.poll() is None, errors.read_text() if errors.exists() else "sipp exited"
        yield port
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
        p.wait(timeout=5)


def test_a_due_round_calls_the_station_and_wakes_the_loop(echo_peer: int) -> None:
    woke = threading.Event()
    clock = [1000.0]
    s = Scheduler(woke.set, clock=lambda: clock[0], wall=lambda: 1.7e9)
    view = TailnetView(self_ipv4="127.0.0.1")
    p = Provider("SIP-TRUNK-L", host="127.0.0.1", port=echo_peer)
    r = Report(
        (Finding(Code.MASQUERADED, Severity.CRITICAL, provider=p.id, station="lo"),),
        (ProviderMatch(p, Station("lo", "127.0.0.1"), "explicit"),),
        (),
        view,
    )
    assert not s.consider("off", "186", r, PbxConfig(), view, "/nonexistent.db")
    assert s.consider(15, "186", r, PbxConfig(), view, "/nonexistent.db")
    assert not s.consider(15, "186", r, PbxConfig(), view, "/nonexistent.db")  # running
    assert woke.wait(30), "the probe round never finished"
    [row] = s.rows()
    assert (row.station, row.provider, row.verdict, row.sip_status) == (
        "lo", "SIP-TRUNK-L", "two-way", 200,
    )  # fmt: skip
    assert row.sent == 250 and row.received >= 240 and row.received_ratio >= 0.96
    clock[0] += 60 * 14  # not due again before 15 minutes
    assert not s.consider(15, "186", r, PbxConfig(), view, "/nonexistent.db")
    s.close()
