"""SIP parsing, digest authentication and SDP of the probe (core.sip), on real-world messages.

The responses are written the way Asterisk's chan_pjsip and SIPp send them (header order, compact
forms, lower-case ``algorithm=md5``, several challenges); the digest vectors are the worked
examples of RFC 2617 §3.5 (MD5) and RFC 7616 §3.9.1 (MD5 and SHA-256, the algorithm RFC 8760
brings to SIP).
"""

from __future__ import annotations

import pytest

from sdp_guard.core import sip

ASTERISK_401 = (
    b"SIP/2.0 401 Unauthorized\r\n"
    b"Via: SIP/2.0/UDP 100.101.1.1:40123;rport=40123;received=100.102.9.9;branch=z9hG4bKabc\r\n"
    b"Call-ID: 5f3c@sdp-guard\r\n"
    b"From: <sip:station-a@100.102.2.2>;tag=a1b2c3\r\n"
    b"To: <sip:186@100.102.2.2:5060>;tag=z9hG4bKabc\r\n"
    b"CSeq: 1 INVITE\r\n"
    b'WWW-Authenticate: Digest realm="asterisk",nonce="1733453042/6d1e0a9c0ad4f5d1c6c5e1b2a",'
    b'opaque="3a1a1ad35d8a6c0c",algorithm=SHA-256,qop="auth"\r\n'
    b'WWW-Authenticate: Digest realm="asterisk",nonce="1733453042/6d1e0a9c0ad4f5d1c6c5e1b2a",'
    b'opaque="3a1a1ad35d8a6c0c",algorithm=md5,qop="auth"\r\n'
    b"Server: Asterisk PBX 20.5.2\r\n"
    b"Content-Length:  0\r\n\r\n"
)

ASTERISK_SDP = (
    b"v=0\r\n"
    b"o=- 1733453042 1733453044 IN IP4 100.102.2.2\r\n"
    b"s=Asterisk\r\n"
    b"c=IN IP4 100.102.2.2\r\n"
    b"t=0 0\r\n"
    b"m=audio 17000 RTP/AVP 8 101\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
    b"a=ptime:20\r\n"
    b"a=maxptime:140\r\n"
    b"a=sendrecv\r\n"
)

ASTERISK_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 100.101.1.1:40123;rport=40123;received=100.102.9.9;branch=z9hG4bKdef\r\n"
    b"Record-Route: <sip:100.102.2.2;lr>\r\n"
    b"Call-ID: 5f3c@sdp-guard\r\n"
    b"From: <sip:station-a@100.102.2.2>;tag=a1b2c3\r\n"
    b"To: <sip:186@100.102.2.2>;tag=7e1f5c2b-9d1a-4c0a\r\n"
    b"CSeq: 2 INVITE\r\n"
    b"Server: Asterisk PBX 20.5.2\r\n"
    b"Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE\r\n"
    b'Contact: "echo" <sip:100.102.2.2:5060>\r\n'
    b"Supported: 100rel, timer, replaces, norefersub\r\n"
    b"Content-Type: application/sdp\r\n"
    + f"Content-Length:   {len(ASTERISK_SDP)}\r\n\r\n".encode()
    + ASTERISK_SDP
)

# SIPp's [last_*] echo of our headers, compact forms from another UA, bare LF line ends.
COMPACT_180 = (
    b"SIP/2.0 180 Ringing\n"
    b"v: SIP/2.0/UDP 100.101.1.1:40123;branch=z9hG4bKxyz\n"
    b"f: <sip:x@h>;tag=1\n"
    b"t: <sip:186@h>;tag=2\n"
    b"i: abc\n"
    b"CSeq: 1 INVITE\n"
    b"l: 0\n\n"
)


def test_parses_an_asterisk_200_with_sdp_and_dialog_state() -> None:
    m = sip.parse(ASTERISK_200)
    assert (m.status, m.reason, m.method) == (200, "OK", "INVITE")
    assert sip.cseq(m) == (2, "INVITE")
    assert m.body == ASTERISK_SDP and m.body.endswith(b"a=sendrecv\r\n")
    d0 = sip.Dialog("5f3c@sdp-guard", "a1b2c3", "sip:a@h", "sip:186@h", "sip:a@x", "x:1")
    d = sip.dialog_from_2xx(d0, m)
    assert d.remote_tag == "7e1f5c2b-9d1a-4c0a"
    assert d.remote_target == "sip:100.102.2.2:5060"
    assert d.route == ("sip:100.102.2.2;lr",)
    ans = sip.parse_answer(m.body)
    assert ans == sip.Answer("100.102.2.2", 17000, 8)


def test_compact_headers_and_bare_lf() -> None:
    m = sip.parse(COMPACT_180)
    assert m.status == 180
    assert m.get("call-id") == "abc"
    assert sip.header_param(m.get("via") or "", "branch") == "z9hG4bKxyz"
    assert sip.header_param(m.get("to") or "", "tag") == "2"


def test_prefers_sha256_among_asterisk_challenges() -> None:
    m = sip.parse(ASTERISK_401)
    ch = sip.pick_challenge(m.get_all("www-authenticate"))
    assert ch.algorithm == "SHA-256"
    assert ch.realm == "asterisk" and ch.qop == ("auth",) and ch.opaque == "3a1a1ad35d8a6c0c"
    md5 = sip.parse_challenge(m.get_all("www-authenticate")[1])
    assert md5.algorithm == "MD5"  # Asterisk writes it lower case


def test_rfc2617_md5_vector() -> None:
    ch = sip.Challenge("testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "MD5", ("auth",))
    r = sip.digest_response(
        ch,
        username="Mufasa",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce="0a4f113b",
        qop="auth",
    )
    assert r == "6629fae49393a05397450978507c4ef1"


RFC7616 = {
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


@pytest.mark.parametrize(
    ("alg", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(alg: str, expected: str) -> None:
    ch = sip.Challenge(RFC7616["realm"], RFC7616["nonce"], alg, ("auth", "auth-int"))
    header = sip.authorization(
        ch,
        username="Mufasa",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce=RFC7616["cnonce"],
    )
    assert f'response="{expected}"' in header
    assert "qop=auth," in header and "nc=00000001" in header and f"algorithm={alg}" in header


def test_no_qop_challenge_uses_the_rfc2069_form() -> None:
    # RFC 2617 §3.2.2.1 without qop: KD(H(A1), nonce ":" H(A2)). Same vector inputs, no qop.
    ch = sip.Challenge("testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093")
    header = sip.authorization(
        ch, username="Mufasa", password="Circle Of Life", method="GET", uri="/dir/index.html",
        cnonce="0a4f113b",
    )  # fmt: skip
    assert "qop=" not in header and "cnonce" not in header
    # HA1 = 939e7578ed9e3c518a452acee763bce9, HA2 = 39aff3a2bab6126f332b942af96d3366 (RFC 2617 §3.5)
    assert 'response="670fd8c2df070c60b045671b8b24ff02"' in header


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage\r\n\r\n",
        b"SIP/2.0 99 Weird\r\n\r\n",
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n",
        b"SIP/2.0 200 OK\r\nContent-Length: 50\r\n\r\nshort",
        b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"SIP/2.0 200 OK\r\n" + b"X-A: 1\r\n" * 500 + b"\r\n",
        b"X" * 70_000,
    ],
)
def test_hostile_datagrams_raise_sip_error(data: bytes) -> None:
    with pytest.raises(sip.SipError):
        sip.parse(data)


def test_reason_phrase_is_made_printable() -> None:
    m = sip.parse(b"SIP/2.0 486 Busy\x1b[2J\x07Here\r\nCSeq: 1 INVITE\r\n\r\n")
    assert m.status == 486 and "\x1b" not in m.reason and "\x07" not in m.reason


@pytest.mark.parametrize(
    "value",
    [
        "Basic realm=x",
        'Digest nonce="n"',
        'Digest realm="r",nonce="n",algorithm=SHA-512-256',
        'Digest realm="r",nonce="n",,,=',
    ],
)
def test_unusable_challenges(value: str) -> None:
    with pytest.raises(sip.SipError):
        sip.parse_challenge(value)


def test_invite_is_well_formed_and_parses_back() -> None:
    d = sip.Dialog(
        "cid@x", "ltag", "sip:probe@100.101.1.1", "sip:186@100.102.2.2:5060",
        "sip:probe@100.101.1.1:40000", "100.101.1.1:40000",
    )  # fmt: skip
    body = sip.offer("100.102.9.9", 40002, 7)
    raw = sip.request(d, "INVITE", 1, "z9hG4bKq", body=body, extra=[("Authorization", "Digest x")])
    m = sip.parse(raw)
    assert m.start == "INVITE sip:186@100.102.2.2:5060 SIP/2.0"
    assert m.get("authorization") == "Digest x"
    assert int(m.get("content-length") or 0) == len(body)
    assert b"c=IN IP4 100.102.9.9\r\n" in m.body and b"m=audio 40002 RTP/AVP 8 0\r\n" in m.body


def test_response_to_a_peer_bye_copies_the_transaction_headers() -> None:
    bye = sip.parse(
        b"BYE sip:probe@100.101.1.1:40000 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 100.102.2.2:5060;branch=z9hG4bK1\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0\r\n"
        b"From: <sip:186@h>;tag=r\r\nTo: <sip:probe@h>;tag=l\r\nCall-ID: c\r\nCSeq: 5 BYE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    r = sip.parse(sip.response(bye, 200, "OK"))
    assert r.status == 200 and r.get_all("via") == bye.get_all("via")
    assert sip.cseq(r) == (5, "BYE") and r.get("call-id") == "c"


def test_answer_with_rejected_stream_or_no_audio() -> None:
    assert sip.parse_answer(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 8\r\n").port == 0
    with pytest.raises(sip.SipError):
        sip.parse_answer(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n")
    with pytest.raises(sip.SipError):
        sip.parse_answer(b"v=0\r\nm=audio 5000 RTP/AVP 8\r\n")
    # media-level c= wins over session-level
    a = sip.parse_answer(b"c=IN IP4 1.1.1.1\r\nm=audio 5 RTP/AVP 0\r\nc=IN IP4 2.2.2.2\r\n")
    assert a == sip.Answer("2.2.2.2", 5, 0)
