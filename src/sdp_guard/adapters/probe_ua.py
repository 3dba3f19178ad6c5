"""The probe's SIP user agent and RTP endpoint over UDP: one call, every wait bounded.

Messages are built and parsed by ``core.sip``; the RTP figures come from ``core.rtp``. This module
only owns the two sockets and the clock. Both sockets bind an ephemeral port (never 5060: the
PBX on this machine owns it).
"""

from __future__ import annotations

import ipaddress
import secrets
import select
import socket
import time
from collections.abc import Callable
from typing import NamedTuple

from sdp_guard.core import rtp, sip

T1 = 0.5  # RFC 3261 §17.1.1.1 retransmission base
T2 = 4.0
NO_RESPONSE_TIMEOUT = 6.0  # INVITE sent 4 times and nothing came back: no answer
RING_TIMEOUT = 20.0  # after a provisional response, how long we let it ring, then CANCEL
CANCEL_TIMEOUT = 4.0
BYE_TIMEOUT = 4.0
ECHO_TAIL = 0.5  # after our last packet, echoes still in flight
MAX_DATAGRAMS = 20_000  # per call, whatever a peer floods us with
SIP_PORT = 5060  # the PBX's: never ours


class Secret:
    """A provider's password. Shows as *** wherever it is printed, logged or repr'd."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class Call(NamedTuple):
    host: str  # IPv4 literal the INVITE goes to
    port: int
    number: str
    bind: str  # local IPv4 to bind both sockets to
    sdp_address: str  # what we put in c=
    seconds: float
    domain: str = ""  # Request-URI host (default: host)
    username: str = ""
    secret: Secret | None = None


class CallOutcome(NamedTuple):
    answered: bool
    sip_status: int  # 0: no response at all
    reason: str  # printable reason phrase of the final response (or why there was none)
    stats: rtp.Stats
    media: str  # peer's media address:port from its answer ("" when none)
    sip_port: int  # the ephemeral ports we bound
    rtp_port: int
    authenticated: bool  # we answered a 401/407 challenge
    peer_hung_up: bool
    notes: tuple[str, ...]


def _branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


class _UA:
    def __init__(self, call: Call, clock: Callable[[], float] = time.monotonic) -> None:
        self.c = call
        self.clock = clock
        self.dest = (call.host, call.port)
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for sock in (self.sip, self.rtp):
                sock.bind((call.bind, 0))
                if sock.getsockname()[1] == SIP_PORT:  # an odd ip_local_port_range: not this one
                    spare = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    spare.bind((call.bind, 0))
                    sock.close()
                    if sock is self.sip:
                        self.sip = spare
                    else:
                        self.rtp = spare
        except OSError:
            self.close()
            raise
        self.sip.setblocking(False)
        self.rtp.setblocking(False)
        self.sip_port = int(self.sip.getsockname()[1])
        self.rtp_port = int(self.rtp.getsockname()[1])
        domain = call.domain or call.host
        user = call.username or "sdp-guard"
        self.dialog = sip.Dialog(
            call_id=f"{secrets.token_hex(12)}@sdp-guard",
            local_tag=secrets.token_hex(6),
            local_uri=f"sip:{user}@{domain}",
            remote_uri=f"sip:{call.number}@{domain}:{call.port}",
            contact=f"sip:{user}@{call.bind}:{self.sip_port}",
            via_host=f"{call.bind}:{self.sip_port}",
        )
        self.arrivals: list[rtp.Arrival] = []
        self.datagrams = 0
        self.ack: bytes | None = None  # the ACK of our 2xx, resent if the 2xx is retransmitted
        self.peer_bye = False
        self.notes: list[str] = []

    def close(self) -> None:
        self.sip.close()
        self.rtp.close()

    # -- receiving -------------------------------------------------------------------------

    def pump(self, until: float, branch: str | None = None, method: str = "") -> sip.Message | None:
        """Read both sockets until ``until``; return the first response to (branch, method).

        RTP is recorded as it arrives; requests from the peer (BYE, OPTIONS) are answered here.
        """
        while True:
            now = self.clock()
            if now >= until:
                return None
            if self.datagrams >= MAX_DATAGRAMS:
                # Flooded: stop reading, but keep the pace (RTP timing, bounded waits).
                time.sleep(until - now)
                return None
            ready, _, _ = select.select([self.sip, self.rtp], [], [], until - now)
            for s in ready:
                try:
                    data, _addr = s.recvfrom(sip.MAX_MESSAGE + 1)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:  # ICMP port unreachable on a connected path, and such
                    self._note(f"receive error: {e.strerror}")
                    continue
                self.datagrams += 1
                if s is self.rtp:
                    h = rtp.parse(data)
                    if h is not None:
                        self.arrivals.append(rtp.Arrival(h, self.clock()))
                    continue
                msg = self._handle(data)
                # Match the method too: a CANCEL shares its INVITE's branch.
                if msg is not None and _branch_of(msg) == branch and msg.method == method:
                    return msg

    def _handle(self, data: bytes) -> sip.Message | None:
        try:
            msg = sip.parse(data)
        except sip.SipError as e:
            self._note(f"ignored a malformed SIP datagram ({e})")
            return None
        if msg.get("call-id") != self.dialog.call_id:
            return None
        if msg.is_response:
            try:
                _, method = sip.cseq(msg)
            except sip.SipError:
                return None
            if method == "INVITE" and msg.status and 200 <= msg.status < 300 and self.ack:
                self.send(self.ack)  # our ACK was lost: the 2xx is retransmitted (§13.2.2.4)
                return None
            return msg
        if msg.reason == "ACK":
            return None
        if msg.reason == "BYE":
            self.peer_bye = True
            self.send(sip.response(msg, 200, "OK"))
        elif msg.reason == "OPTIONS":
            self.send(sip.response(msg, 200, "OK"))
        else:
            self.send(sip.response(msg, 501, "Not Implemented"))
        return None

    def send(self, data: bytes) -> None:
        try:
            self.sip.sendto(data, self.dest)
        except OSError as e:
            self._note(f"cannot send to {self.dest[0]}:{self.dest[1]}: {e.strerror}")

    def _note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < 20:
            self.notes.append(text)

    # -- transactions ----------------------------------------------------------------------

    def transaction(
        self, data: bytes, branch: str, method: str, timeout: float
    ) -> tuple[sip.Message | None, bool]:
        """Send with retransmission; return (final response or None, saw a provisional)."""
        self.send(data)
        start = self.clock()
        deadline = start + timeout
        interval = T1
        next_retx = start + interval
        provisional = False
        invite = method == "INVITE"
        while True:
            now = self.clock()
            if now >= deadline:
                return None, provisional
            wait_until = deadline if provisional and invite else min(deadline, next_retx)
            msg = self.pump(wait_until, branch, method)
            now = self.clock()
            if msg is not None and msg.status is not None:
                if msg.status < 200:
                    if invite and not provisional:
                        provisional = True
                        deadline = now + RING_TIMEOUT
                    elif not invite:
                        interval = T2  # §17.1.2.2: a provisional slows non-INVITE retransmission
                    continue
                return msg, provisional
            if now >= next_retx and not (provisional and invite):
                self.send(data)
                interval = min(interval * 2, T2) if not invite else interval * 2
                next_retx = now + interval

    def invite(
        self, seq: int, extra: list[tuple[str, str]]
    ) -> tuple[sip.Message | None, str, bool]:
        branch = _branch()
        body = sip.offer(self.c.sdp_address, self.rtp_port, int(time.time()))
        data = sip.request(self.dialog, "INVITE", seq, branch, extra=extra, body=body)
        resp, provisional = self.transaction(data, branch, "INVITE", NO_RESPONSE_TIMEOUT)
        if resp is None and provisional:
            self.cancel(seq, branch)
        return resp, branch, provisional

    def ack_error(self, resp: sip.Message, seq: int, branch: str) -> None:
        """The ACK of a non-2xx final response: same transaction, the response's To (§17.1.1.3)."""
        d = self.dialog._replace(remote_tag=sip.header_param(resp.get("to") or "", "tag") or "")
        self.send(sip.request(d, "ACK", seq, branch, uri=self.dialog.remote_uri))

    def cancel(self, seq: int, branch: str) -> None:
        data = sip.request(self.dialog, "CANCEL", seq, branch, uri=self.dialog.remote_uri)
        self.transaction(data, branch, "CANCEL", CANCEL_TIMEOUT)
        # The INVITE then ends with 487, which we acknowledge.
        resp = self.pump(self.clock() + CANCEL_TIMEOUT, branch, "INVITE")
        if resp is not None and resp.status and resp.status >= 300:
            self.ack_error(resp, seq, branch)

    # -- the call --------------------------------------------------------------------------

    def run(self) -> CallOutcome:
        seq = 1
        resp, branch, provisional = self.invite(seq, [])
        authenticated = False
        if resp is not None and resp.status in (401, 407) and self.c.secret:
            self.ack_error(resp, seq, branch)
            header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
            try:
                ch = sip.pick_challenge(resp.get_all(header))
            except sip.SipError as e:
                self._note(f"cannot answer the challenge: {e}")
            else:
                seq += 1
                auth = sip.authorization(
                    ch,
                    username=self.c.username,
                    password=self.c.secret.reveal(),
                    method="INVITE",
                    uri=self.dialog.remote_uri,
                    cnonce=secrets.token_hex(8),
                )
                name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
                authenticated = True
                resp, branch, provisional = self.invite(seq, [(name, auth)])
        if resp is None:
            why = "rang, no answer" if provisional else "no SIP response"
            return self._outcome(
                False, 0, why, rtp.Stats(0, 0, 0.0, None, None, 0), "", authenticated
            )
        status = resp.status or 0
        if status >= 300:
            self.ack_error(resp, seq, branch)
            return self._outcome(
                False, status, resp.reason, rtp.Stats(0, 0, 0.0, None, None, 0), "", authenticated
            )
        # 2xx: the dialog is up. ACK (a new transaction, to the remote target) and talk.
        self.dialog = sip.dialog_from_2xx(self.dialog, resp)
        self.ack = sip.request(self.dialog, "ACK", seq, _branch())
        self.send(self.ack)
        media = ""
        target: tuple[str, int] | None = None
        pt = sip.PCMA
        try:
            ans = sip.parse_answer(resp.body)
            media = f"{ans.address}:{ans.port}"
            if ans.port == 0:
                self._note("the peer rejected the audio stream (m= port 0)")
            elif not _is_v4(ans.address):
                self._note(f"the peer's media address {ans.address} is not an IPv4 literal")
            elif ans.address == "0.0.0.0":
                self._note("the peer put the audio on hold (c=0.0.0.0)")
            else:
                target = (ans.address, ans.port)
                pt = ans.payload_type if ans.payload_type is not None else sip.PCMA
        except sip.SipError as e:
            self._note(f"unusable SDP answer: {e}")
        stats = self.talk(target, pt)
        if not self.peer_bye:
            self.bye(seq + 1)
        return self._outcome(True, status, resp.reason, stats, media, authenticated)

    def talk(self, target: tuple[str, int] | None, pt: int) -> rtp.Stats:
        ssrc = secrets.randbits(32)
        seq0 = secrets.randbelow(0x8000)
        ts0 = secrets.randbits(32)
        sent_at: dict[int, float] = {}
        sent = 0
        start = self.clock()
        packets = int(self.c.seconds * 1000 / rtp.PTIME_MS)
        for i in range(packets):
            self.pump(start + i * rtp.PTIME_MS / 1000)
            if self.peer_bye:
                break
            if target is None:
                continue
            s = (seq0 + i) & 0xFFFF
            try:
                self.rtp.sendto(rtp.packet(s, ts0 + i * rtp.SAMPLES, ssrc, pt), target)
            except OSError as e:
                self._note(f"cannot send RTP to {target[0]}:{target[1]}: {e.strerror}")
                continue
            sent_at[s] = self.clock()
            sent += 1
        if not self.peer_bye:
            self.pump(self.clock() + ECHO_TAIL)
        return rtp.measure(sent, self.arrivals, ssrc, sent_at)

    def bye(self, seq: int) -> None:
        branch = _branch()
        data = sip.request(self.dialog, "BYE", seq, branch)
        resp, _ = self.transaction(data, branch, "BYE", BYE_TIMEOUT)
        if resp is None:
            self._note("the peer did not answer our BYE")

    def _outcome(
        self, answered: bool, status: int, reason: str, stats: rtp.Stats, media: str, auth: bool
    ) -> CallOutcome:
        return CallOutcome(
            answered=answered,
            sip_status=status,
            reason=reason,
            stats=stats,
            media=media,
            sip_port=self.sip_port,
            rtp_port=self.rtp_port,
            authenticated=auth,
            peer_hung_up=self.peer_bye,
            notes=tuple(self.notes),
        )


def _branch_of(msg: sip.Message) -> str | None:
    via = msg.get("via") or ""
    return sip.header_param(via, "branch")


def _is_v4(addr: str) -> bool:
    try:
        ipaddress.IPv4Address(addr)
    except ValueError:
        return False
    return True


def place_call(call: Call) -> CallOutcome:
    """One probe call. Raises OSError when the sockets cannot be bound (a wrong --bind)."""
    ua = _UA(call)
    try:
        return ua.run()
    finally:
        ua.close()


__all__ = ["Call", "CallOutcome", "Secret", "place_call"]
