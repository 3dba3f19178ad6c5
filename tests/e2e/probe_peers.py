"""SIPp peers for `sdp-guard probe`, and the probe as a real process inside a namespace.

Shared by tests/e2e/test_probe.py (emulated tailnet) and tests/tailnet/test_probe_real.py (real
tailscaled): only the namespace and the peer's address differ.

Peers (one SIPp UAS per call):
* strict: plays /usr/share/sip-tester/g711a.pcap to the c=/m= of our SDP, never to the source
  of our packets (Asterisk without rtp_symmetric);
* echo: SIPp's built-in ``uas`` with ``-rtp_echo``: returns every packet to its source (a
  symmetric peer), which gives round-trip times;
* auth: answers the first INVITE with 401 (MD5 digest, no qop, as chan_sip does), checks the
  retried INVITE with SIPp's own ``verifyauth`` and echoes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import netlab
from .sipua import UAS_XML

UAS_PORT = 35060  # the peer's SIP port in these tests (inside its own namespace)
SECONDS = 3.0  # RTP per probe call
SENT = int(SECONDS * 50)  # 20 ms packets
G711A_PCAP = Path("/usr/share/sip-tester/g711a.pcap")  # 236 PCMA packets, one per 30 ms
USERNAME, SECRET = "station-a", "s3cr3t-Tr0mb0ne"

AUTH_UAS_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="probe auth uas">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]auth[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="station-b", nonce="[pid]n[call_number]5f3c"
Content-Length: 0

]]></send>
  <recv request="ACK"/>
  <recv request="INVITE" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="[user]" password="[secret]"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good"/>
  <send next="end"><![CDATA[
SIP/2.0 403 Forbidden
[last_Via:]
[last_From:]
[last_To:];tag=[pid]auth[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="good"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]auth[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:echo@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=station 1 1 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
]]></send>
  <recv request="ACK"/>
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
  <label id="end"/>
</scenario>
"""


@dataclasses.dataclass(frozen=True)
class Peer:
    """Where the SIPp UAS runs: its namespace, the address it listens on, SIP and media ports."""

    ns: str
    addr: str
    port: int = UAS_PORT
    media_port: int = netlab.RTP_PORT["b"]


def _listening(ns: str, port: int) -> bool:
    out = netlab.run(["ip", "netns", "exec", ns, "ss", "-Hlun", f"sport = :{port}"], check=False)
    return bool(out.strip())


@contextlib.contextmanager
def sipp_uas(peer: Peer, tmp: Path, kind: str, tag: str) -> Iterator[None]:
    """One SIPp UAS for one call: strict (plays to our c=), echo, or auth (echo)."""
    assert G711A_PCAP.exists(), f"{G711A_PCAP} missing (Debian package sip-tester)"
    argv = [
        "timeout", "-s", "KILL", "40", "sipp",
        "-i", peer.addr, "-p", str(peer.port), "-mi", peer.addr, "-mp", str(peer.media_port),
        "-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin",
        "-trace_err", "-error_file", str(tmp / f"{tag}.errors"),
    ]  # fmt: skip
    if kind == "strict":
        (tmp / "strict.xml").write_text(UAS_XML, encoding="ascii")
        argv += ["-sf", str(tmp / "strict.xml"), "-key", "sdp_ip", peer.addr]
        argv += ["-key", "pcap", str(G711A_PCAP)]
    elif kind == "echo":
        argv += ["-sn", "uas", "-rtp_echo"]
    else:
        (tmp / "auth.xml").write_text(AUTH_UAS_XML, encoding="ascii")
        argv += ["-sf", str(tmp / "auth.xml"), "-rtp_echo"]
        argv += ["-key", "user", USERNAME, "-key", "secret", SECRET]
    uas = netlab.spawn(peer.ns, argv)
    try:
        netlab.wait_until(
            f"SIPp UAS to listen on {peer.addr}:{peer.port}",
            lambda: uas.poll() is not None or _listening(peer.ns, peer.port),
            timeout=5,
        )
        assert uas.poll() is None, netlab.finish(uas, 1)[1]
        yield
    finally:
        netlab.finish(uas, 5)


def run_probe(
    ns: str, args: Sequence[str], seconds: float = SECONDS, uid: int | None = None
) -> tuple[int, dict[str, Any], str]:
    """`sdp-guard -vv probe ARGS --json` as a real process inside NS (as UID and its own group,
    without supplementary groups, when given): (rc, JSON, stdout+stderr)."""
    import subprocess

    env = {**os.environ, "NO_COLOR": "1", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    drop: list[str] = []
    if uid is not None:
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "NO_COLOR": "1", "HOME": "/nonexistent"}
    argv = [
        "ip", "netns", "exec", ns, *drop,
        sys.executable, "-m", "sdp_guard", "-vv", "probe", *args,
        "--seconds", str(seconds), "--json",
    ]  # fmt: skip
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)
    try:
        doc: dict[str, Any] = json.loads(cp.stdout)
    except ValueError as e:
        raise AssertionError(f"not JSON ({e}): {cp.stdout}\n{cp.stderr}") from e
    return cp.returncode, doc, cp.stdout + cp.stderr


def assert_received(doc: dict[str, Any], counted: int, at_least: float) -> None:
    """The probe counted what nftables saw arrive from the peer's media port, and enough of it.

    A playing peer stops at our BYE: the odd packet still under way then arrives after the probe
    closed its socket, so nftables may count up to 3 more than the probe did.
    """
    got = doc["rtp"]["received"]
    assert counted - 3 <= got <= counted, (doc["rtp"], counted)
    assert got >= at_least, (doc["rtp"], counted)
