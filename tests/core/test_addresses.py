from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sdp_guard.core.addresses import is_tailnet_v4, network_covers, normalize


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("100.101.1.1", "100.101.1.1"),
        (" 100.101.1.1 ", "100.101.1.1"),
        ("100.101.1.1/32", "100.101.1.1"),
        ("100.101.1.1:5060", "100.101.1.1"),
        ("[fd7a:115c:a1e0::1a01]:5060", "fd7a:115c:a1e0::1a01"),
        ("fd7a:115c:a1e0:0:0:0:0:1a01", "fd7a:115c:a1e0::1a01"),
        ("FD7A:115C:A1E0::1A01/128", "fd7a:115c:a1e0::1a01"),
        ("Station-A.tail0a0a0a.ts.net.", "station-a.tail0a0a0a.ts.net"),
        ("station-a.tail0a0a0a.ts.net:5060", "station-a.tail0a0a0a.ts.net"),
        ("100.64.0.0/10", "100.64.0.0/10"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize(raw: str | None, want: str) -> None:
    assert normalize(raw) == want


def test_tailnet_range_edges() -> None:
    assert is_tailnet_v4("100.64.0.0")
    assert is_tailnet_v4("100.127.255.255")
    assert not is_tailnet_v4("100.128.0.0")
    assert not is_tailnet_v4("100.63.255.255")
    assert not is_tailnet_v4("kanda-pbx")
    assert not is_tailnet_v4("fd7a:115c:a1e0::1")


def test_network_covers() -> None:
    assert network_covers("100.64.0.0/10", "100.64.0.0/10")
    assert network_covers("100.0.0.0/8", "100.64.0.0/10")
    assert not network_covers("100.64.0.0/11", "100.64.0.0/10")
    assert not network_covers("garbage", "100.64.0.0/10")
    assert not network_covers("fd7a::/16", "100.64.0.0/10")


v4 = st.integers(0, 2**32 - 1).map(lambda n: ipaddress.IPv4Address(n))
v6 = st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n))


@given(v4, st.sampled_from(["{}", " {} ", "{}/32", "{}:5060", "[{}]:5060"]))
def test_v4_spellings_normalise_to_one(ip: ipaddress.IPv4Address, shape: str) -> None:
    assert normalize(shape.format(ip)) == str(ip)


@given(v6, st.sampled_from(["{}", "{}/128", "[{}]:5060", "[{}]"]))
def test_v6_spellings_normalise_to_one(ip: ipaddress.IPv6Address, shape: str) -> None:
    assert normalize(shape.format(ip.exploded.upper())) == ip.compressed


@given(st.text(max_size=40))
@example("0 .")  # found by Hypothesis: the trailing dot went before the space did
@example("0::1 .")
def test_normalize_is_idempotent(s: str) -> None:
    assert normalize(normalize(s)) == normalize(s)


@given(v4)
def test_tailnet_membership_matches_ipaddress(ip: ipaddress.IPv4Address) -> None:
    assert is_tailnet_v4(str(ip)) == (ip in ipaddress.IPv4Network("100.64.0.0/10"))
