"""RTP figures of the probe (core.rtp): counts, loss, jitter, round trip and the verdict."""

from __future__ import annotations

import struct

import pytest

from sdp_guard.core import rtp

OURS = 0x11223344
PEER = 0x5D9E0A17


def arrivals(
    seqs: list[int], ssrc: int, *, start: float = 0.0, step: float = 0.02, ts_step: int = 160
) -> list[rtp.Arrival]:
    return [
        rtp.Arrival(rtp.Header(8, s & 0xFFFF, i * ts_step, ssrc), start + i * step)
        for i, s in enumerate(seqs)
    ]


def test_packet_is_20ms_of_g711_silence_and_parses_back() -> None:
    p = rtp.packet(65535, 2**32 + 5, OURS, 8)
    assert len(p) == 12 + 160 and p[12:] == b"\xd5" * 160
    assert rtp.parse(p) == rtp.Header(8, 65535, 5, OURS)
    assert rtp.packet(1, 0, OURS, 0)[12:] == b"\xff" * 160  # PCMU silence


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x08\x00",  # short
        b"\x40" + b"\x00" * 20,  # version 1
        b"\x80\xc8" + b"\x00" * 26,  # RTCP sender report (PT 200)
        b"\x8f\x08" + b"\x00" * 20,  # 15 CSRCs announced, not there
    ],
)
def test_not_rtp(data: bytes) -> None:
    assert rtp.parse(data) is None


def test_nothing_arrived_is_total_loss_and_one_way() -> None:
    s = rtp.measure(250, [], OURS, {})
    assert (s.sent, s.received, s.loss, s.jitter_ms, s.rtt_ms) == (250, 0, 1.0, None, None)
    assert rtp.verdict(True, s) == "one-way"


def test_echo_gives_round_trip_and_two_way() -> None:
    sent_at = {100 + i: i * 0.02 for i in range(250)}
    # every packet comes back 30 ms later, except 10 lost
    back = [
        rtp.Arrival(rtp.Header(8, 100 + i, i * 160, OURS), i * 0.02 + 0.030)
        for i in range(250)
        if i % 25 != 3
    ]
    s = rtp.measure(250, back, OURS, sent_at)
    assert s.received == 240 and s.echoed == 240
    assert s.rtt_ms == pytest.approx(30.0)
    assert s.loss == pytest.approx(10 / 250, abs=1e-3)  # 4 %, from the sequence numbers
    assert s.jitter_ms == pytest.approx(0.0, abs=1e-6)  # evenly spaced
    assert rtp.verdict(True, s) == "two-way"


def test_peer_stream_with_30ms_packets_counts_as_two_way() -> None:
    # SIPp's g711a.pcap: one packet per 30 ms, so 5 s of ours (250) meet ~166 of theirs
    s = rtp.measure(250, arrivals(list(range(166)), PEER, step=0.03, ts_step=240), OURS, {})
    assert s.received == 166 and s.echoed == 0 and s.rtt_ms is None and s.loss == 0.0
    assert rtp.verdict(True, s) == "two-way"


def test_sequence_wrap_is_not_loss() -> None:
    s = rtp.measure(10, arrivals([65533, 65534, 65535, 0, 1, 2], PEER), OURS, {})
    assert s.loss == 0.0


def test_reordered_late_packet_across_wrap() -> None:
    s = rtp.measure(10, arrivals([65534, 0, 65535, 1], PEER), OURS, {})
    assert s.loss == 0.0


def test_jitter_follows_rfc3550() -> None:
    # transit alternates 0 and +8 ms: D = 64 timestamp units each time
    arr = [
        rtp.Arrival(rtp.Header(8, i, i * 160, PEER), i * 0.02 + (0.008 if i % 2 else 0.0))
        for i in range(200)
    ]
    j = 0.0
    for _ in range(199):
        j += (64 - j) / 16
    s = rtp.measure(200, arr, OURS, {})
    assert s.jitter_ms == pytest.approx(j / 8, rel=1e-3)  # 8 timestamp units per ms
    assert s.jitter_ms is not None
    assert 7.9 < s.jitter_ms <= 8.0  # converges to |D| = 8 ms


@pytest.mark.parametrize(
    ("answered", "sent", "received", "expected"),
    [
        (False, 0, 0, "no-answer"),
        (True, 0, 0, "no-audio"),
        (True, 250, 0, "one-way"),
        (True, 0, 120, "one-way"),
        (True, 250, 20, "one-way"),
        (True, 250, 125, "two-way"),
    ],
)
def test_verdicts(answered: bool, sent: int, received: int, expected: str) -> None:
    s = rtp.Stats(sent, received, 0.0, None, None, 0)
    assert rtp.verdict(answered, s) == expected


def test_header_layout_matches_rfc3550() -> None:
    p = rtp.packet(0x1234, 0xDEADBEEF, OURS, 0)
    v_p_x_cc, m_pt, seq, ts, ssrc = struct.unpack("!BBHII", p[:12])
    assert (v_p_x_cc, m_pt, seq, ts, ssrc) == (0x80, 0, 0x1234, 0xDEADBEEF, OURS)
