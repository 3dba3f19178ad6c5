"""The probe's user agent against peers that misbehave, over real UDP on loopback.

SIPp cannot be told to answer with garbage, hang up mid-call or put the call on hold, so these
peers are scripted: a thread that reads our INVITE from a socket and answers with raw bytes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sdp_guard.adapters.probe_ua import Call, CallOutcome, place_call
from sdp_guard.core import rtp, sip


def _answer(invite: sip.Message, status: str, body: bytes = b"", tag: str = "peer1") -> bytes:
    lines = [f"SIP/2.0 {status}"]
    lines += [f"Via: {v}" for v in invite.get_all("via")]
    lines += [
        f"From: {invite.get('from')}",
        f"To: {invite.get('to')};tag={tag}",
        f"Call-ID: {invite.get('call-id')}",
        f"CSeq: {invite.get('cseq')}",
        "Contact: <sip:echo@127.0.0.1>",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _sdp(addr: str, port: int) -> bytes:
    return f"v=0\r\nc=IN IP4 {addr}\r\nt=0 0\r\nm=audio {port} RTP/AVP 8\r\n".encode()


Script = Callable[[socket.socket, socket.socket, sip.Message, tuple[str, int]], None]


@pytest.fixture
def peer() -> Iterator[Callable[[Script], int]]:
    socks: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(script: Script) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        media.bind(("127.0.0.1", 0))
        s.settimeout(5)
        socks.extend([s, media])

        def run() -> None:
            try:
                data, addr = s.recvfrom(65535)
                script(s, media, sip.parse(data), addr)
            except OSError:
                pass

        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)
        return int(s.getsockname()[1])

    yield start
    for t in threads:
        t.join(timeout=10)
    for s in socks:
        s.close()


def call(port: int, seconds: float = 1.0) -> tuple[str, CallOutcome]:
    out = place_call(Call("127.0.0.1", port, "186", "127.0.0.1", "127.0.0.1", seconds))
    return rtp.verdict(out.answered, out.stats), out


def test_hold_address_is_never_sent_to(peer: Callable[[Script], int]) -> None:
    def script(s: socket.socket, m: socket.socket, inv: sip.Message, addr: tuple[str, int]) -> None:
        s.sendto(_answer(inv, "180 Ringing"), addr)
        s.sendto(_answer(inv, "200 OK", _sdp("0.0.0.0", 4000)), addr)
        s.recvfrom(65535)  # ACK
        bye = sip.parse(s.recvfrom(65535)[0])
        s.sendto(_answer(bye, "200 OK"), addr)

    verdict, out = call(peer(script))
    assert verdict == "no-audio"
    assert "the peer put the audio on hold (c=0.0.0.0)" in out.notes
    assert out.stats.sent == 0


def test_garbage_then_answer_then_peer_hangs_up(peer: Callable[[Script], int]) -> None:
    got_200_for_bye = threading.Event()

    def script(s: socket.socket, m: socket.socket, inv: sip.Message, addr: tuple[str, int]) -> None:
        for junk in (b"\x00" * 40, b"SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n", b"\x1b[2J" * 100):
            s.sendto(junk, addr)
        s.sendto(_answer(inv, "200 OK", _sdp("127.0.0.1", m.getsockname()[1])), addr)
        s.recvfrom(65535)  # ACK
        time.sleep(0.3)
        bye = (
            f"BYE sip:probe@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKp\r\n"
            f"From: {inv.get('to')};tag=peer1\r\nTo: {inv.get('from')}\r\n"
            f"Call-ID: {inv.get('call-id')}\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        s.sendto(bye, addr)
        resp = sip.parse(s.recvfrom(65535)[0])
        if resp.status == 200 and sip.cseq(resp) == (7, "BYE"):
            got_200_for_bye.set()

    t0 = time.monotonic()
    verdict, out = call(peer(script), seconds=3.0)
    assert out.answered and out.peer_hung_up
    assert got_200_for_bye.wait(5)
    assert time.monotonic() - t0 < 2.5  # stopped at the peer's BYE, not after 3 s of RTP
    assert 5 <= out.stats.sent < 100
    assert verdict == "one-way"  # the peer never sent audio


def test_retransmitted_200_gets_another_ack(peer: Callable[[Script], int]) -> None:
    acks = []

    def script(s: socket.socket, m: socket.socket, inv: sip.Message, addr: tuple[str, int]) -> None:
        ok = _answer(inv, "200 OK", _sdp("127.0.0.1", m.getsockname()[1]))
        s.sendto(ok, addr)
        acks.append(sip.parse(s.recvfrom(65535)[0]).reason)
        s.sendto(ok, addr)  # as if our ACK was lost (RFC 3261 §13.3.1.4)
        acks.append(sip.parse(s.recvfrom(65535)[0]).reason)
        bye = sip.parse(s.recvfrom(65535)[0])
        s.sendto(_answer(bye, "200 OK"), addr)

    verdict, out = call(peer(script))
    assert acks == ["ACK", "ACK"]
    assert verdict == "one-way" and out.stats.sent == 50
