"""The SIP of the probe call, as pure functions: build requests, parse responses, digest auth, SDP.

Only what one outgoing INVITE dialog over UDP needs (RFC 3261 §8.1, §12, §13, §17.1.1, §22;
RFC 4566/3264 for the SDP). Everything parsed comes from the network, so it is bounded: a
message of at most MAX_MESSAGE bytes, MAX_HEADERS header lines, and text shown to an operator
goes through ``printable`` first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

MAX_MESSAGE = 65_535  # one UDP datagram
MAX_HEADERS = 200
MAX_SHOWN = 200  # characters of outside text shown to an operator

# Compact header forms (RFC 3261 §7.3.3 and §20).
_COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
}

_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str, limit: int = MAX_SHOWN) -> str:
    """Outside text made safe for a terminal or log: control characters replaced, length capped."""
    s = _CTRL.sub("?", text)
    return s if len(s) <= limit else s[:limit] + "…"


class SipError(ValueError):
    """A datagram that is not a SIP message we can use."""


class Message(NamedTuple):
    """A parsed SIP message. ``headers`` keeps order; names are lower-case full forms."""

    start: str  # the start line as received
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: int | None  # a response's status code; None for a request
    reason: str  # a response's reason phrase (printable); a request's method

    def get(self, name: str) -> str | None:
        n = name.lower()
        for k, v in self.headers:
            if k == n:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self.headers if k == n]

    @property
    def is_response(self) -> bool:
        return self.status is not None

    @property
    def method(self) -> str:
        """The request's method, or the method of the CSeq a response answers."""
        if self.status is None:
            return self.reason
        return cseq(self)[1]


def parse(data: bytes) -> Message:
    """Parse one datagram. Raises SipError on anything that is not a well-formed message."""
    if len(data) > MAX_MESSAGE:
        raise SipError("message too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")  # tolerate bare LF (RFC 3261 §7.5 says SHOULD)
        if not sep:
            raise SipError("no end of headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":  # folded continuation (RFC 3261 §7.3.1)
            if not headers:
                raise SipError("continuation line before any header")
            k, v = headers[-1]
            headers[-1] = (k, v + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipError("malformed header line")
        n = name.strip().lower()
        headers.append((_COMPACT.get(n, n), value.strip()))
        if len(headers) > MAX_HEADERS:
            raise SipError("too many header lines")
    status: int | None = None
    if start.startswith("SIP/2.0 "):
        parts = start.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
            raise SipError("malformed status line")
        status = int(parts[1])
        if not 100 <= status <= 699:
            raise SipError("status code out of range")
        reason = printable(parts[2] if len(parts) > 2 else "")
    else:
        parts = start.split(" ")
        if len(parts) != 3 or parts[2] != "SIP/2.0" or not parts[0].isalpha():
            raise SipError("not a SIP start line")
        reason = parts[0].upper()
    msg = Message(start, tuple(headers), b"", status, reason)
    clen = msg.get("content-length")
    if clen is not None:
        if not clen.isdigit():
            raise SipError("malformed Content-Length")
        size = int(clen)
        if size > len(body):
            raise SipError("body shorter than Content-Length")
        body = body[:size]
    return msg._replace(body=body)


def cseq(msg: Message) -> tuple[int, str]:
    v = msg.get("cseq") or ""
    num, _, method = v.partition(" ")
    if not num.isdigit() or not method.strip():
        raise SipError("malformed CSeq")
    return int(num), method.strip().upper()


def header_param(value: str, name: str) -> str | None:
    """A ``;name=value`` parameter of a header (outside any <...> URI)."""
    tail = value.rsplit(">", 1)[-1] if "<" in value else value
    for part in tail.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == name:
            return v.strip().strip('"')
    return None


def uri_of(value: str) -> str:
    """The URI in a name-addr (``"x" <sip:a@b>;tag=1``) or addr-spec header value."""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0].strip()
    return value.split(";", 1)[0].strip()


# ---------------------------------------------------------------------------------------------
# Digest authentication (RFC 3261 §22.4 with RFC 2617; SHA-256 per RFC 8760 / RFC 7616).


class Challenge(NamedTuple):
    realm: str
    nonce: str
    algorithm: str = "MD5"  # MD5, MD5-sess, SHA-256, SHA-256-sess (upper case)
    qop: tuple[str, ...] = ()  # offered qop values, lower case
    opaque: str | None = None
    stale: bool = False


_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


def parse_challenge(value: str) -> Challenge:
    """A WWW-Authenticate / Proxy-Authenticate ``Digest`` challenge."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipError(f"unsupported authentication scheme {printable(scheme, 20)!r}")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            raise SipError("malformed Digest challenge")
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        params[m.group(1).lower()] = v
        pos = m.end()
    if "nonce" not in params or "realm" not in params:
        raise SipError("Digest challenge without realm or nonce")
    alg = params.get("algorithm", "MD5").upper()
    if alg.removesuffix("-SESS") not in ("MD5", "SHA-256"):
        raise SipError(f"unsupported Digest algorithm {printable(alg, 20)!r}")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=alg,
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def pick_challenge(values: Sequence[str]) -> Challenge:
    """The strongest usable challenge among several (RFC 8760 §2.4: prefer SHA-256 to MD5)."""
    usable: list[Challenge] = []
    errors: list[str] = []
    for v in values:
        try:
            usable.append(parse_challenge(v))
        except SipError as e:
            errors.append(str(e))
    if not usable:
        raise SipError("; ".join(errors) or "no challenge")
    return max(usable, key=lambda c: c.algorithm.startswith("SHA-256"))


def _h(alg: str, s: str) -> str:
    name = alg.upper().removesuffix("-SESS")
    fn = hashlib.sha256 if name == "SHA-256" else hashlib.md5
    return fn(s.encode("utf-8")).hexdigest()


def digest_response(
    ch: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str,
    nc: int = 1,
    qop: str | None = None,
) -> str:
    """The ``response`` value (RFC 2617 §3.2.2.1; RFC 7616 §3.4.1 for SHA-256)."""
    alg = ch.algorithm
    ha1 = _h(alg, f"{username}:{ch.realm}:{password}")
    if alg.endswith("-SESS"):
        ha1 = _h(alg, f"{ha1}:{ch.nonce}:{cnonce}")
    ha2 = _h(alg, f"{method}:{uri}")
    if qop:
        return _h(alg, f"{ha1}:{ch.nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")
    return _h(alg, f"{ha1}:{ch.nonce}:{ha2}")


def authorization(
    ch: Challenge, *, username: str, password: str, method: str, uri: str, cnonce: str, nc: int = 1
) -> str:
    """The Authorization / Proxy-Authorization header value answering ``ch``."""
    qop = "auth" if "auth" in ch.qop else None
    resp = digest_response(
        ch,
        username=username,
        password=password,
        method=method,
        uri=uri,
        cnonce=cnonce,
        nc=nc,
        qop=qop,
    )
    parts = [
        f'username="{_quote(username)}"',
        f'realm="{_quote(ch.realm)}"',
        f'nonce="{_quote(ch.nonce)}"',
        f'uri="{_quote(uri)}"',
        f'response="{resp}"',
        f"algorithm={ch.algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc:08x}", f'cnonce="{_quote(cnonce)}"']
    if ch.opaque is not None:
        parts.append(f'opaque="{_quote(ch.opaque)}"')
    return "Digest " + ", ".join(parts)


def _quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


# ---------------------------------------------------------------------------------------------
# Requests.


class Dialog(NamedTuple):
    """What the requests of one call share."""

    call_id: str
    local_tag: str
    local_uri: str  # From
    remote_uri: str  # To (and the INVITE's Request-URI)
    contact: str  # our Contact URI
    via_host: str  # our address:port as in Via
    remote_tag: str = ""
    remote_target: str = ""  # the peer's Contact URI (in-dialog Request-URI)
    route: tuple[str, ...] = ()  # the route set (Record-Route of the 2xx, reversed)


def request(
    d: Dialog,
    method: str,
    seq: int,
    branch: str,
    *,
    uri: str | None = None,
    extra: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str = "application/sdp",
    user_agent: str = "sdp-guard probe",
) -> bytes:
    """One request. ``uri`` defaults to the remote target (in a dialog) or the remote URI."""
    ruri = uri or d.remote_target or d.remote_uri
    to = f"<{d.remote_uri}>" + (f";tag={d.remote_tag}" if d.remote_tag else "")
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {d.via_host};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <{d.local_uri}>;tag={d.local_tag}",
        f"To: {to}",
        f"Call-ID: {d.call_id}",
        f"CSeq: {seq} {method}",
    ]
    lines += [f"Route: <{r}>" for r in d.route]
    if method in ("INVITE",):
        lines.append(f"Contact: <{d.contact}>")
        lines.append("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS")
    lines.append(f"User-Agent: {user_agent}")
    items = extra.items() if isinstance(extra, Mapping) else extra
    lines += [f"{k}: {v}" for k, v in items]
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def response(req: Message, status: int, reason: str, *, to_tag: str = "") -> bytes:
    """A body-less response to a request the peer sent us (BYE, OPTIONS, …), RFC 3261 §8.2.6."""
    lines = [f"SIP/2.0 {status} {reason}"]
    for v in req.get_all("via"):
        lines.append(f"Via: {v}")
    for name, shown in (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq")):
        v = req.get(name) or ""
        if name == "to" and to_tag and header_param(v, "tag") is None:
            v += f";tag={to_tag}"
        lines.append(f"{shown}: {v}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def dialog_from_2xx(d: Dialog, resp: Message) -> Dialog:
    """Dialog state from the 2xx to our INVITE (RFC 3261 §12.1.2)."""
    to = resp.get("to") or ""
    contact = resp.get("contact")
    rr: list[str] = []
    for v in resp.get_all("record-route"):
        rr += [uri_of(x) for x in _split_commas(v)]
    return d._replace(
        remote_tag=header_param(to, "tag") or "",
        remote_target=uri_of(contact) if contact else d.remote_uri,
        route=tuple(reversed(rr)),
    )


def _split_commas(v: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in v:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth <= 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


# ---------------------------------------------------------------------------------------------
# SDP (RFC 4566 offer, RFC 3264 answer).

PCMU, PCMA = 0, 8
CODECS = {PCMU: "PCMU/8000", PCMA: "PCMA/8000"}


def offer(address: str, port: int, session_id: int) -> bytes:
    """Our offer: G.711 (PCMA preferred, as MikoPBX's default codec order), 20 ms, sendrecv."""
    lines = [
        "v=0",
        f"o=sdp-guard {session_id} {session_id} IN IP4 {address}",
        "s=sdp-guard probe",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {PCMA} {PCMU}",
        f"a=rtpmap:{PCMA} {CODECS[PCMA]}",
        f"a=rtpmap:{PCMU} {CODECS[PCMU]}",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


class Answer(NamedTuple):
    address: str  # the c= that applies to the audio stream
    port: int  # 0: the stream was rejected
    payload_type: int | None  # the first G.711 type the answer kept, or None


def parse_answer(body: bytes) -> Answer:
    """The audio stream of an SDP answer. Raises SipError when there is none usable."""
    text = body[:MAX_MESSAGE].decode("utf-8", errors="replace")
    session_c = ""
    media_c = ""
    port: int | None = None
    pts: list[int] = []
    in_audio = False
    seen_audio = False
    for raw in text.splitlines()[:500]:
        line = raw.strip()
        if line.startswith("m="):
            if seen_audio:
                in_audio = False
                break
            fields = line[2:].split()
            in_audio = len(fields) >= 4 and fields[0] == "audio"
            if in_audio:
                seen_audio = True
                if not fields[1].split("/")[0].isdigit():
                    raise SipError("malformed m= port")
                port = int(fields[1].split("/")[0])
                pts = [int(f) for f in fields[3:] if f.isdigit()]
        elif line.startswith("c="):
            parts = line[2:].split()
            if len(parts) >= 3 and parts[0] == "IN":
                addr = parts[2].split("/")[0]
                if in_audio:
                    media_c = addr
                elif not seen_audio:
                    session_c = addr
    if port is None:
        raise SipError("the answer has no audio stream")
    addr = media_c or session_c
    if not addr:
        raise SipError("the answer has no connection address")
    pt = next((p for p in pts if p in CODECS), None)
    return Answer(printable(addr, 64), port if 0 <= port <= 65535 else 0, pt)
