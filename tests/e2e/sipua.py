"""Real SIP calls with real RTP between two namespaces, with SIPp (Debian package sip-tester).

Both ends are strict-SDP user agents: each sends its RTP (``play_pcap_audio``, a raw socket, so it
still passes nftables NAT) to the ``c=``/``m=`` of the other side's SDP and never learns the
address from arriving packets. That is how an Asterisk trunk without ``rtp_symmetric`` behaves,
and it is what exposes the fault (a PJSIP callee would hide it: lab.md, pitfalls).

The caller dials its provider's host; each side's SDP carries its provider's ``media_address``
when the provider has one, otherwise the station's own address: what Asterisk would send.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

from . import netlab

PACKETS = 60  # RTP packets each side sends per call
PTIME_MS = 20
PAYLOAD = 160  # 20 ms of PCMA at 8 kHz
CALL_TIMEOUT = 20.0  # seconds, whole call including setup
FAILED_CALL_TIMEOUT = 4.0  # a call whose INVITE is expected to vanish gives up after this


def write_rtp_pcap(path: Path, packets: int = PACKETS) -> None:
    """A pcap of `packets` PCMA RTP packets, one per 20 ms (SIPp replays the UDP payloads)."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
    for i in range(packets):
        rtp = struct.pack("!BBHII", 0x80, 8, i + 1, i * PAYLOAD, 0x5D9E0A17) + bytes(
            [0xD5] * PAYLOAD  # PCMA silence
        )
        udp = struct.pack("!HHHH", 4000, 4002, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            i,
            0,
            64,
            17,
            0,
            bytes([192, 0, 2, 1]),
            bytes([192, 0, 2, 2]),
        )
        frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp
        usec = i * PTIME_MS * 1000
        out += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))


_SDP = """v=0
o=station 1 1 IN IP4 [sdp_ip]
s=-
c=IN IP4 [sdp_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
a=ptime:20
"""

UAC_XML = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="e2e uac">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]e2e[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]e2e[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <nop><action><exec play_pcap_audio="[pcap]"/></action></nop>
  <pause/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]e2e[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""

UAS_XML = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="e2e uas">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]e2e[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
]]></send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec play_pcap_audio="[pcap]"/></action></nop>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""


@dataclasses.dataclass(frozen=True)
class Leg:
    """One side of a call, as its exchange's configuration says."""

    role: str  # a | b | c
    sdp_ip: str  # what goes into c= (provider media_address, else own address)


@dataclasses.dataclass(frozen=True)
class CallResult:
    caller: str
    callee: str
    target: str  # what the caller dialled (its provider host)
    caller_sdp: str
    callee_sdp: str
    sent: dict[str, int]  # role -> RTP packets that left it
    received: dict[str, int]  # role -> RTP packets that arrived at its media port
    lost_in_tailnet: int
    caller_rc: int
    caller_log: str

    def describe(self) -> str:
        c, d = self.caller.upper(), self.callee.upper()
        if self.caller_rc != 0:
            return (
                f"{c} dials {self.target}: no answer (SIPp exit {self.caller_rc}); "
                f"{c} received {self.received[self.caller]}, {d} received "
                f"{self.received[self.callee]} RTP packets, "
                f"{self.lost_in_tailnet} packets lost in the tailnet"
            )
        return (
            f"{c} dials {self.target} ({c} SDP c={self.caller_sdp}, "
            f"{d} SDP c={self.callee_sdp}): "
            f"{c} received {self.received[self.caller]}/{self.sent[self.callee]}, "
            f"{d} received {self.received[self.callee]}/{self.sent[self.caller]}, "
            f"{self.lost_in_tailnet} lost in the tailnet"
        )


class Sipp:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.pcap = workdir / "rtp.pcap"
        write_rtp_pcap(self.pcap)
        (workdir / "uac.xml").write_text(UAC_XML, encoding="ascii")
        (workdir / "uas.xml").write_text(UAS_XML, encoding="ascii")
        self.n = 0

    def _argv(
        self, lab: netlab.Lab, leg: Leg, scenario: str, tag: str, timeout: float = CALL_TIMEOUT
    ) -> list[str]:
        ip = lab.self_ip[leg.role]
        port = netlab.RTP_PORT[leg.role]
        return [
            "timeout", "-s", "KILL", str(int(timeout) + 5),
            "sipp",
            "-sf", str(self.dir / scenario),
            "-i", ip, "-p", str(netlab.SIP_PORT),
            "-mi", ip, "-mp", str(port),
            "-key", "sdp_ip", leg.sdp_ip,
            "-key", "pcap", str(self.pcap),
            "-d", str(PACKETS * PTIME_MS + 1000),  # <pause/>: audio plus a margin
            "-m", "1",
            "-timeout", f"{int(timeout)}s",
            "-timeout_error",
            "-trace_err", "-error_file", str(self.dir / f"{tag}.errors"),
            "-nostdin",
        ]  # fmt: skip

    def call(
        self,
        lab: netlab.Lab,
        caller: Leg,
        callee: Leg,
        target: str,
        port: int,
        timeout: float = CALL_TIMEOUT,
    ) -> CallResult:
        """One call from `caller` to `target:port`; returns what each side measured."""
        self.n += 1
        lab.reset_counters()
        uas_tag, uac_tag = f"call{self.n}-uas-{callee.role}", f"call{self.n}-uac-{caller.role}"
        uas = netlab.spawn(lab.ns[callee.role], self._argv(lab, callee, "uas.xml", uas_tag))
        rc, err = -1, ""
        try:
            netlab.wait_until(
                f"SIPp UAS in {callee.role.upper()} to listen on {netlab.SIP_PORT}",
                lambda: uas.poll() is not None or lab.udp_listening(callee.role, netlab.SIP_PORT),
                timeout=5,
            )
            if uas.poll() is not None:
                raise netlab.LabError(
                    f"SIPp UAS exited early: {netlab.finish(uas, 1)[1]}{self._errors(uas_tag)}"
                )
            uac = netlab.spawn(
                lab.ns[caller.role],
                [*self._argv(lab, caller, "uac.xml", uac_tag, timeout), f"{target}:{port}"],
            )
            rc, err = netlab.finish(uac, timeout + 5)
        finally:
            # The UAS ends by itself after the BYE; if the call never reached it, it is killed.
            netlab.finish(uas, 3 if rc == 0 else 0.2)
        log = (err.strip() + self._errors(uac_tag)).strip()
        roles = (caller.role, callee.role)
        return CallResult(
            caller=caller.role,
            callee=callee.role,
            target=target,
            caller_sdp=caller.sdp_ip,
            callee_sdp=callee.sdp_ip,
            sent={r: lab.rtp_out(r) for r in roles},
            received={r: lab.rtp_in(r) for r in roles},
            lost_in_tailnet=lab.lost_in_tailnet(),
            caller_rc=rc,
            caller_log=log,
        )

    def _errors(self, tag: str) -> str:
        p = self.dir / f"{tag}.errors"
        return f"\n{p.name}: {p.read_text(errors='replace')}" if p.exists() else ""
