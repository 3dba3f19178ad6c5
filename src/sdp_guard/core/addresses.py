"""One place that decides what an address "is", so every comparison agrees.

Never resolves DNS: a name stays a (lower-cased) name.
"""

from __future__ import annotations

import ipaddress

TAILNET_V4 = ipaddress.IPv4Network("100.64.0.0/10")
TAILNET_V4_TEXT = "100.64.0.0/10"


def normalize(text: str | None) -> str:
    """Canonical text of an address or host name.

    Strips spaces, IPv6 brackets, a port, a ``/32`` or ``/128`` prefix length and a trailing dot;
    compresses IPv6 and lower-cases names. Returns "" for empty input.
    """
    if text is None:
        return ""
    s = text.strip()
    if not s:
        return ""
    if s.startswith("["):
        end = s.find("]")
        if end > 0:
            s = s[1:end]
    elif s.count(":") == 1:
        # host:port (an IPv6 literal has at least two colons)
        s = s.split(":", 1)[0].strip()
    if "/" in s:
        base, _, plen = s.partition("/")
        ip = _parse_ip(base)
        if ip is not None and plen == str(ip.max_prefixlen):
            return ip.compressed
        return s.lower()
    ip = _parse_ip(s)
    if ip is not None:
        return ip.compressed
    trimmed = s.rstrip(".").strip()
    if trimmed != s:
        # "0 ." -> "0 " -> "0": trim again until stable, so normalize(normalize(x)) == normalize(x)
        return normalize(trimmed)
    return s.lower()


def _parse_ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(s.split("%", 1)[0])
    except ValueError:
        return None


def is_ip(text: str) -> bool:
    return _parse_ip(text) is not None


def is_tailnet_v4(text: str) -> bool:
    """True for an IPv4 literal inside Tailscale's CGNAT range 100.64.0.0/10."""
    ip = _parse_ip(normalize(text))
    return isinstance(ip, ipaddress.IPv4Address) and ip in TAILNET_V4


def network_covers(cidr: str, inner: str) -> bool:
    """True when network ``cidr`` contains the whole of ``inner`` (a network or an address)."""
    try:
        outer = ipaddress.ip_network(cidr.strip(), strict=False)
        sub = ipaddress.ip_network(inner.strip(), strict=False)
    except ValueError:
        return False
    if outer.version != sub.version:
        return False
    return sub.subnet_of(outer)  # type: ignore[arg-type]


def first_label(name: str) -> str:
    """``station-a.tail0a0a0a.ts.net.`` -> ``station-a``."""
    return normalize(name).split(".", 1)[0]
