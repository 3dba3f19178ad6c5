"""RTP packets of the probe and what they say about the call: counts, loss, jitter, round trip, verdict.

RFC 3550: the header (§5.1), loss from sequence numbers (§6.4.1, A.3) and interarrival jitter
(§6.4.1, A.8). Arrival times are given by the caller (the adapter's monotonic clock), so all of
this is pure and testable with exact numbers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import NamedTuple

CLOCK_RATE = 8000  # G.711
PTIME_MS = 20
SAMPLES = CLOCK_RATE * PTIME_MS // 1000  # 160 per packet
SILENCE = {0: 0xFF, 8: 0xD5}  # G.711 silence: PCMU, PCMA

# At least this share of what we sent must come back for "two-way" (the peer may use another
# packet time, e.g. 30 ms: 2/3 of our packet count).
TWO_WAY_RATIO = 0.5


def packet(seq: int, timestamp: int, ssrc: int, payload_type: int) -> bytes:
    """One 20 ms G.711 packet of silence (the echo test returns whatever we send)."""
    header = struct.pack(
        "!BBHII", 0x80, payload_type & 0x7F, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc
    )
    return header + bytes([SILENCE.get(payload_type, 0xD5)]) * SAMPLES


class Header(NamedTuple):
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int


def parse(data: bytes) -> Header | None:
    """The RTP header of a datagram, or None when it is not RTP version 2 (RTCP is not RTP)."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    pt = data[1] & 0x7F
    if 72 <= pt <= 76:  # RTCP packet types 200-204 with the marker bit (RFC 5761 §4)
        return None
    cc = data[0] & 0x0F
    if len(data) < 12 + 4 * cc:
        return None
    _, _, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    return Header(pt, seq, ts, ssrc)


class Arrival(NamedTuple):
    header: Header
    at: float  # seconds, monotonic


class Stats(NamedTuple):
    sent: int
    received: int
    loss: float  # share of the expected packets that did not arrive (1.0 when none arrived)
    jitter_ms: float | None  # RFC 3550 interarrival jitter of the stream we received
    rtt_ms: float | None  # median round trip of our own packets echoed back
    echoed: int  # how many of the received packets were our own (the peer echoes)

    @property
    def received_ratio(self) -> float:
        return min(1.0, self.received / self.sent) if self.sent else 0.0


def _unwrap(seqs: Iterable[int]) -> list[int]:
    """Extended sequence numbers: each is placed within half the 16-bit space of the highest."""
    out: list[int] = []
    top: int | None = None
    for s in seqs:
        if top is None:
            ext = s
        else:
            delta = (s - top) & 0xFFFF
            ext = top + delta if delta < 0x8000 else top - (0x10000 - delta)
        top = ext if top is None else max(top, ext)
        out.append(ext)
    return out


def measure(
    sent: int,
    arrivals: Iterable[Arrival],
    our_ssrc: int,
    sent_at: Mapping[int, float],
) -> Stats:
    """Counts, loss, jitter and round trip from what arrived.

    ``sent_at`` maps the sequence numbers of our packets to their send time: an arriving packet
    with our SSRC and a known sequence number is an echo, and gives a round-trip sample.
    """
    items = list(arrivals)
    if not items:
        return Stats(sent, 0, 1.0 if sent else 0.0, None, None, 0)
    # The stream to judge: the SSRC that sent the most packets (a peer may switch SSRC once).
    by_ssrc: dict[int, list[Arrival]] = {}
    for a in items:
        by_ssrc.setdefault(a.header.ssrc, []).append(a)
    main = max(by_ssrc.values(), key=len)
    ext = _unwrap(a.header.seq for a in main)
    expected = max(ext) - min(ext) + 1
    distinct = len(set(ext))
    loss = max(0.0, (expected - distinct) / expected)
    jitter = _jitter(main)
    rtts = sorted(
        (a.at - sent_at[a.header.seq]) * 1000.0
        for a in items
        if a.header.ssrc == our_ssrc and a.header.seq in sent_at and a.at >= sent_at[a.header.seq]
    )
    rtt = rtts[len(rtts) // 2] if rtts else None
    echoed = sum(1 for a in items if a.header.ssrc == our_ssrc)
    return Stats(sent, len(items), round(loss, 4), jitter, rtt, echoed)


def _jitter(stream: list[Arrival]) -> float | None:
    """RFC 3550 A.8: J += (|D(i-1,i)| - J) / 16, in timestamp units, reported in ms."""
    if len(stream) < 2:
        return None
    j = 0.0
    prev = stream[0]
    for a in stream[1:]:
        transit_prev = prev.at * CLOCK_RATE - prev.header.timestamp
        transit = a.at * CLOCK_RATE - a.header.timestamp
        d = abs(transit - transit_prev)
        j += (d - j) / 16.0
        prev = a
    return round(j * 1000.0 / CLOCK_RATE, 3)


def verdict(answered: bool, stats: Stats) -> str:
    """two-way, one-way, no-audio or no-answer (see TWO_WAY_RATIO)."""
    if not answered:
        return "no-answer"
    if stats.sent == 0 and stats.received == 0:
        return "no-audio"
    if stats.sent and stats.received >= TWO_WAY_RATIO * stats.sent:
        return "two-way"
    return "one-way"  # audio in one direction only, or too little of it to hold a conversation
