"""The pure core, from plain data: each finding code, matching order, severities."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdp_guard.core.diagnose import Report, evaluate, whois_targets
from sdp_guard.core.findings import Code, Severity
from sdp_guard.core.model import LocalNet, PbxConfig, Peer, Provider, Station, TailnetView

SELF = dict(
    self_hostname="station-b", self_dns_name="station-b.tail0b.ts.net.", self_ipv4="100.102.2.2"
)


def view(*peers: Peer) -> TailnetView:
    return TailnetView(peers=tuple(peers), **SELF)


def codes(report: Report) -> list[tuple[str, str, str | None]]:
    return sorted((f.code.value, f.severity.label, f.provider) for f in report.findings)


A_PEER = Peer("nA", hostname="station-a", dns_name="station-a.tail0a.ts.net.", ipv4="100.101.1.1")
A = Station(name="a", ipv4="100.101.1.1", node="station-a")
TRUNK_A = Provider(
    id="SIP-TRUNK-A", description="Station A", host="100.101.1.1", extra_hosts=("100.101.1.1",)
)


def test_healthy_network_has_no_findings() -> None:
    r = evaluate(PbxConfig((TRUNK_A,)), [A], view(A_PEER))
    assert r.findings == ()
    assert r.matches[0].station == A
    assert r.matches[0].matched_by == "address"


def test_peer_known_by_other_address_is_critical_with_console_remedy() -> None:
    peer = A_PEER._replace(ipv4="100.102.9.9")
    trunk = TRUNK_A._replace(host="100.102.9.9", extra_hosts=())
    r = evaluate(PbxConfig((trunk,)), [A], view(peer))
    got = {f.code: f for f in r.findings}
    f = got[Code.PEER_ADDRESS_DIFFERS]
    assert (f.severity, f.advertised, f.observed, f.node) == (
        Severity.CRITICAL,
        "100.101.1.1",
        "100.102.9.9",
        "station-a",
    )
    # The provider points at the observed address: it must wait for the renumber (warning).
    h = got[Code.HOST_DIFFERS]
    assert (h.severity, h.configured, h.param("ready")) == (Severity.WARNING, "100.102.9.9", "no")


def test_stale_host_after_renumber_is_critical_and_ready_for_sync() -> None:
    trunk = TRUNK_A._replace(host="100.88.7.19", extra_hosts=("100.88.7.19", "100.90.0.1"))
    r = evaluate(PbxConfig((trunk,)), [A._replace(providers=("SIP-TRUNK-A",))], view(A_PEER))
    [f] = r.findings
    assert f.code is Code.HOST_DIFFERS and f.severity is Severity.CRITICAL
    assert f.configured == "100.88.7.19" and f.advertised == "100.101.1.1"
    # The unrelated extra host 100.90.0.1 is not called stale.
    assert f.param("stale") == "100.88.7.19"
    assert r.matches[0].matched_by == "explicit"


def test_advertised_address_taken_by_another_machine() -> None:
    peer = A_PEER._replace(ipv4="100.102.9.9")
    nas = Peer("nN", hostname="nas", ipv4="100.101.1.1")
    r = evaluate(PbxConfig(()), [A], view(peer, nas))
    taken = [f for f in r.findings if f.code is Code.ADVERTISED_TAKEN]
    assert len(taken) == 1 and taken[0].param("holder") == "nas"
    assert taken[0].severity is Severity.CRITICAL


def test_advertised_address_taken_by_ourselves() -> None:
    st_ = Station(name="x", ipv4="100.102.2.2", node="station-x")
    peer = Peer("nX", hostname="station-x", ipv4="100.99.1.1")
    r = evaluate(PbxConfig(()), [st_], view(peer))
    assert Code.ADVERTISED_TAKEN in {f.code for f in r.findings}


def test_masquerade_toward_peer_names_provider_and_both_addresses() -> None:
    peer = A_PEER._replace(masquerade_v4="100.101.9.9", whois_known=True)
    r = evaluate(PbxConfig((TRUNK_A,)), [A], view(peer))
    [f] = r.findings
    assert f.code is Code.MASQUERADED and f.provider == "SIP-TRUNK-A"
    assert (f.observed, f.masquerade) == ("100.102.2.2", "100.101.9.9")


def test_masquerade_equal_to_own_address_is_fine() -> None:
    peer = A_PEER._replace(masquerade_v4="100.102.2.2", whois_known=True)
    assert evaluate(PbxConfig((TRUNK_A,)), [A], view(peer)).findings == ()


def test_disabled_provider_never_warns() -> None:
    trunk = TRUNK_A._replace(host="100.88.7.19", extra_hosts=(), disabled=True)
    peer = A_PEER._replace(masquerade_v4="100.101.9.9")
    r = evaluate(PbxConfig((trunk,)), [A._replace(providers=("SIP-TRUNK-A",))], view(peer))
    assert r.findings and all(f.severity is Severity.INFO for f in r.findings)
    assert r.worst is Severity.INFO


def test_peer_not_in_tailnet() -> None:
    r = evaluate(PbxConfig((TRUNK_A,)), [A], view())
    assert codes(r) == [("peer-not-in-tailnet", "warning", "SIP-TRUNK-A")]


def test_unmatched_tailnet_provider_is_info_and_phones_are_not_providers() -> None:
    other = Provider(id="SIP-TRUNK-Z", host="100.99.9.9")
    public = Provider(id="SIP-TRUNK-PSTN", host="sip.example.com")
    r = evaluate(PbxConfig((other, public)), [], view())
    assert codes(r) == [("provider-unmatched", "info", "SIP-TRUNK-Z")]


def test_magicdns_host_resolves_through_tailnet_not_dns() -> None:
    trunk = Provider(id="SIP-TRUNK-M", host="Station-A.tail0a.ts.net")
    r = evaluate(PbxConfig((trunk,)), [A], view(A_PEER))
    assert r.matches[0].matched_by == "magicdns"
    # A name is not a literal IP: sync must write the advertised address.
    assert [f.code for f in r.findings] == [Code.HOST_DIFFERS]


def test_description_match_is_last_resort() -> None:
    trunk = Provider(id="SIP-TRUNK-D", description=" A ", host="100.70.0.1")
    r = evaluate(PbxConfig((trunk,)), [A], view(A_PEER))
    assert r.matches[0].matched_by == "description"


def test_explicit_beats_address() -> None:
    b = Station(name="b2", ipv4="100.105.5.5", providers=("SIP-TRUNK-A",))
    r = evaluate(PbxConfig((TRUNK_A,)), [A, b], view(A_PEER))
    assert (r.matches[0].station, r.matches[0].matched_by) == (b, "explicit")


@pytest.mark.parametrize(
    ("topology", "external", "nets", "expect"),
    [
        ("private", "203.0.113.7", (), True),
        ("private", "203.0.113.7", ("100.64.0.0/10",), False),
        ("private", "203.0.113.7", ("100.0.0.0/8",), False),
        ("private", "203.0.113.7", ("100.101.0.0/16",), True),  # only part of the tailnet
        ("public", "203.0.113.7", (), False),
        ("private", "", (), False),
    ],
)
def test_tailnet_not_in_local_net(
    topology: str, external: str, nets: tuple[str, ...], expect: bool
) -> None:
    ln = LocalNet(
        local_networks=nets, internet_topology=topology, external_address=external, known=True
    )
    r = evaluate(PbxConfig((TRUNK_A,), ln), [A], view(A_PEER))
    assert (Code.NOT_IN_LOCAL_NET in {f.code for f in r.findings}) is expect


def test_unknown_local_net_is_not_guessed() -> None:
    ln = LocalNet(internet_topology=None, known=False)
    assert evaluate(PbxConfig((TRUNK_A,), ln), [A], view(A_PEER)).findings == ()


def test_own_station_in_registry_is_skipped() -> None:
    me = Station(name="b", ipv4="100.102.2.2", node="station-b")
    assert evaluate(PbxConfig(()), [me], view()).findings == ()


def test_whois_targets_are_provider_and_station_peers_only() -> None:
    c = Peer("nC", hostname="station-c", ipv4="100.103.3.3")
    unrelated = Peer("nU", hostname="laptop", ipv4="100.110.0.1")
    c_st = Station(name="c", ipv4="100.103.3.3", node="station-c")
    got = whois_targets([TRUNK_A], [c_st], view(A_PEER, c, unrelated))
    assert sorted(got) == ["100.101.1.1", "100.103.3.3"]


# Matching properties: n stations, each with its own node and trunk, in any order.
@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 30),
    st.randoms(use_true_random=False),
    st.sampled_from(["address", "explicit", "magicdns"]),
)
def test_every_trunk_finds_its_station_whatever_the_order(
    n: int, rnd: random.Random, how: str
) -> None:
    stations, peers, trunks = [], [], []
    for i in range(n):
        ip = f"100.{64 + i // 250}.{i % 250}.1"
        node = f"pbx-{i}"
        stations.append(
            Station(
                name=f"s{i}", ipv4=ip, node=node, providers=(f"T{i}",) if how == "explicit" else ()
            )
        )
        peers.append(Peer(f"n{i}", hostname=node, dns_name=f"{node}.tail.ts.net.", ipv4=ip))
        host = {"address": ip, "explicit": "100.127.0.1", "magicdns": f"{node}.tail.ts.net"}[how]
        trunks.append(Provider(id=f"T{i}", host=host))
    rnd.shuffle(stations)
    rnd.shuffle(peers)
    rnd.shuffle(trunks)
    r = evaluate(PbxConfig(tuple(trunks)), stations, view(*peers))
    for m in r.matches:
        assert m.station is not None and m.station.name == "s" + m.provider.id[1:]
        assert m.matched_by == how


def test_the_outbound_proxy_host_is_a_provider_address() -> None:
    """MikoPBX puts the proxy's host into the identify match (SIPConf.php l.1690-1692)."""
    trunk = Provider(id="SIP-TRUNK-P", host="sip.example.jp", outbound_proxy="100.101.1.1:5060")
    r = evaluate(PbxConfig((trunk,)), [A], view(A_PEER))
    assert (r.matches[0].station, r.matches[0].matched_by) == (A, "address")
    assert whois_targets((trunk,), [], view(A_PEER)) == ["100.101.1.1"]
