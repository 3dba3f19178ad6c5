"""From (providers, registry, tailnet view) to findings.

Every lookup goes through a dict built once, so the work grows linearly with the number of
providers, stations and peers (see bench/).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sdp_guard.core.addresses import TAILNET_V4_TEXT, first_label, is_ip, is_tailnet_v4, normalize
from sdp_guard.core.addresses import network_covers as _covers
from sdp_guard.core.findings import Code, Finding, Severity
from sdp_guard.core.model import PbxConfig, Peer, Provider, Station, TailnetView

MATCHED_EXPLICIT = "explicit"
MATCHED_ADDRESS = "address"
MATCHED_MAGICDNS = "magicdns"
MATCHED_DESCRIPTION = "description"


class ProviderMatch(NamedTuple):
    provider: Provider
    station: Station | None
    matched_by: str | None  # one of MATCHED_* or None


class StationView(NamedTuple):
    """Where a registry station's node is in our tailnet (None = not found)."""

    station: Station
    node: Peer | None
    located_by: str | None  # node | ipv6 | address
    is_self: bool = False


class Report(NamedTuple):
    findings: tuple[Finding, ...]
    matches: tuple[ProviderMatch, ...]
    stations: tuple[StationView, ...]
    tailnet: TailnetView

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def count_of(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


class _Index:
    """Lookups over the tailnet view."""

    def __init__(self, view: TailnetView) -> None:
        self.by_v4: dict[str, Peer] = {}
        self.by_v6: dict[str, Peer] = {}
        self.by_name: dict[str, Peer] = {}
        for p in view.peers:
            if p.ipv4:
                self.by_v4.setdefault(normalize(p.ipv4), p)
            if p.ipv6:
                self.by_v6.setdefault(normalize(p.ipv6), p)
            for name in (p.hostname, p.dns_name, first_label(p.dns_name)):
                if name:
                    self.by_name.setdefault(normalize(name), p)

    def peer_by_name(self, name: str) -> Peer | None:
        n = normalize(name)
        return self.by_name.get(n) or self.by_name.get(first_label(n))


def locate_stations(stations: Sequence[Station], view: TailnetView) -> tuple[StationView, ...]:
    idx = _Index(view)
    return tuple(_locate(s, view, idx) for s in stations)


def _locate(s: Station, view: TailnetView, idx: _Index) -> StationView:
    self_names = {normalize(view.self_hostname), first_label(view.self_dns_name)} - {""}
    if s.node and (normalize(s.node) in self_names or first_label(s.node) in self_names):
        return StationView(s, None, None, is_self=True)
    if not s.node and view.self_ipv4 and normalize(s.ipv4) == normalize(view.self_ipv4):
        return StationView(s, None, None, is_self=True)
    if s.node:
        p = idx.peer_by_name(s.node)
        if p is not None:
            return StationView(s, p, "node")
    if s.ipv6:
        p = idx.by_v6.get(normalize(s.ipv6))
        if p is not None:
            return StationView(s, p, "ipv6")
    if not s.node:
        # Without a machine name, whoever holds the advertised address is taken to be the node.
        p = idx.by_v4.get(normalize(s.ipv4))
        if p is not None:
            return StationView(s, p, "address")
    return StationView(s, None, None)


def match_providers(
    providers: Sequence[Provider], located: Sequence[StationView], view: TailnetView
) -> tuple[ProviderMatch, ...]:
    """Explicit ids, then addresses, then MagicDNS names (via the tailnet), then description."""
    idx = _Index(view)
    by_id: dict[str, Station] = {}
    by_addr: dict[str, Station] = {}
    by_name: dict[str, Station] = {}
    by_node: dict[str, Station] = {}
    for sv in located:
        s = sv.station
        if sv.is_self:
            continue
        for pid in s.providers:
            by_id.setdefault(pid, s)
        by_addr.setdefault(normalize(s.ipv4), s)
        if sv.node is not None:
            by_node.setdefault(sv.node.stable_id, s)
            if sv.node.ipv4:
                by_addr.setdefault(normalize(sv.node.ipv4), s)
        by_name.setdefault(s.name.strip().lower(), s)
    out = []
    for p in providers:
        out.append(_match_one(p, by_id, by_addr, by_name, by_node, idx))
    return tuple(out)


def _match_one(
    p: Provider,
    by_id: dict[str, Station],
    by_addr: dict[str, Station],
    by_name: dict[str, Station],
    by_node: dict[str, Station],
    idx: _Index,
) -> ProviderMatch:
    s = by_id.get(p.id)
    if s is not None:
        return ProviderMatch(p, s, MATCHED_EXPLICIT)
    for a in provider_addresses(p):
        s = by_addr.get(a)
        if s is not None:
            return ProviderMatch(p, s, MATCHED_ADDRESS)
    host = normalize(p.host)
    if host and not is_ip(host):
        peer = idx.peer_by_name(host)
        if peer is not None:
            s = by_node.get(peer.stable_id) or by_addr.get(normalize(peer.ipv4))
            if s is not None:
                return ProviderMatch(p, s, MATCHED_MAGICDNS)
    s = by_name.get(p.description.strip().lower()) if p.description.strip() else None
    if s is not None:
        return ProviderMatch(p, s, MATCHED_DESCRIPTION)
    return ProviderMatch(p, None, None)


def provider_addresses(p: Provider) -> list[str]:
    """Host, every m_SipHosts address, then the outbound proxy's host, normalised, without
    duplicates: the addresses MikoPBX puts into the provider's identify ``match``
    (``SIPConf::generateProviderIdentify``, mikopbx/Core @ e26e6b97
    src/Core/Asterisk/Configs/SIPConf.php l.1686-1692; the proxy host is the text before the
    first ``:``)."""
    seen: dict[str, None] = {}
    proxy = p.outbound_proxy.split(":", 1)[0] if p.outbound_proxy else ""
    for a in (p.host, *p.extra_hosts, proxy):
        n = normalize(a)
        if n:
            seen.setdefault(n, None)
    return list(seen)


def stale_addresses(p: Provider, advertised: str, observed: str | None) -> list[str]:
    """The provider's addresses that stand for this peer but are not its advertised address.

    The host (when set) and any m_SipHosts entry equal to the old host or to the peer's current
    tailnet address. Unrelated extra hosts are left alone.
    """
    adv = normalize(advertised)
    host = normalize(p.host)
    old = {host} if host and host != adv else set()
    if observed and normalize(observed) != adv:
        old.add(normalize(observed))
    out: list[str] = []
    if host and host != adv:
        out.append(host)
    for a in p.extra_hosts:
        n = normalize(a)
        if n and n != adv and n in old and n not in out:
            out.append(n)
    return out


def whois_targets(
    providers: Sequence[Provider], stations: Sequence[Station], view: TailnetView
) -> list[str]:
    """Tailnet IPv4s of the peers worth a whois: those providers point to, and registry nodes."""
    idx = _Index(view)
    targets: dict[str, None] = {}
    for p in providers:
        for a in provider_addresses(p):
            peer = idx.by_v4.get(a) if is_ip(a) else idx.peer_by_name(a)
            if peer is not None and peer.ipv4:
                targets.setdefault(normalize(peer.ipv4), None)
    for sv in locate_stations(stations, view):
        if sv.node is not None and sv.node.ipv4:
            targets.setdefault(normalize(sv.node.ipv4), None)
    return list(targets)


def _cap(sev: Severity, providers: Iterable[Provider]) -> Severity:
    """Disabled providers never raise a warning or a critical."""
    ps = list(providers)
    if ps and all(p.disabled for p in ps):
        return Severity.INFO
    return sev


def evaluate(pbx: PbxConfig, stations: Sequence[Station], view: TailnetView) -> Report:
    located = locate_stations(stations, view)
    matches = match_providers(pbx.providers, located, view)
    idx = _Index(view)
    self_v4 = normalize(view.self_ipv4)
    findings: list[Finding] = []

    loc_by_name = {sv.station.name: sv for sv in located}
    providers_of: dict[str, list[Provider]] = {}
    for m in matches:
        if m.station is not None:
            providers_of.setdefault(m.station.name, []).append(m.provider)

    # Station-level facts.
    for sv in located:
        if sv.is_self:
            continue
        s = sv.station
        adv = normalize(s.ipv4)
        ps = providers_of.get(s.name, [])
        first = next((p.id for p in ps if not p.disabled), ps[0].id if ps else None)
        node_name = s.node or (sv.node.hostname if sv.node else "")
        if sv.node is not None and normalize(sv.node.ipv4) != adv:
            findings.append(
                Finding(
                    Code.PEER_ADDRESS_DIFFERS,
                    _cap(Severity.CRITICAL, ps),
                    provider=first,
                    station=s.name,
                    advertised=adv,
                    observed=normalize(sv.node.ipv4) or None,
                    node=node_name or None,
                )
            )
        holder = idx.by_v4.get(adv)
        taken_by = None
        if holder is not None and (sv.node is None or holder.stable_id != sv.node.stable_id):
            if s.node or sv.node is not None:
                taken_by = holder.hostname or first_label(holder.dns_name) or holder.stable_id
        elif self_v4 and adv == self_v4:
            taken_by = view.self_hostname or "this machine"
        if taken_by is not None:
            findings.append(
                Finding(
                    Code.ADVERTISED_TAKEN,
                    _cap(Severity.CRITICAL, ps),
                    provider=first,
                    station=s.name,
                    advertised=adv,
                    observed=normalize(sv.node.ipv4) if sv.node else None,
                    node=node_name or None,
                    params=(("holder", taken_by),),
                )
            )

    # Provider-level facts.
    for m in matches:
        p = m.provider
        if m.station is None:
            tail = [a for a in provider_addresses(p) if is_tailnet_v4(a)]
            if tail:
                findings.append(
                    Finding(
                        Code.PROVIDER_UNMATCHED,
                        Severity.INFO,
                        provider=p.id,
                        configured=tail[0],
                        params=(("description", p.description),),
                    )
                )
            continue
        s = m.station
        sv = loc_by_name[s.name]
        adv = normalize(s.ipv4)
        observed = normalize(sv.node.ipv4) if sv.node is not None else None
        stale = stale_addresses(p, adv, observed)
        if stale:
            ready = observed == adv
            findings.append(
                Finding(
                    Code.HOST_DIFFERS,
                    _cap(Severity.CRITICAL if ready else Severity.WARNING, [p]),
                    provider=p.id,
                    station=s.name,
                    configured=stale[0],
                    advertised=adv,
                    observed=observed or None,
                    node=s.node or (sv.node.hostname if sv.node else None) or None,
                    params=(
                        ("description", p.description),
                        ("ready", "yes" if ready else "no"),
                        ("stale", ", ".join(stale)),
                    ),
                )
            )
        if sv.node is None and adv not in idx.by_v4:
            findings.append(
                Finding(
                    Code.PEER_NOT_IN_TAILNET,
                    _cap(Severity.WARNING, [p]),
                    provider=p.id,
                    station=s.name,
                    advertised=adv,
                    configured=normalize(p.host) or None,
                    node=s.node or None,
                )
            )

    findings.extend(_masquerade_findings(matches, located, view, idx))
    findings.extend(_local_net_findings(pbx, matches))
    findings.sort(key=lambda f: f.sort_key)
    return Report(tuple(findings), matches, located, view)


def _masquerade_findings(
    matches: Sequence[ProviderMatch],
    located: Sequence[StationView],
    view: TailnetView,
    idx: _Index,
) -> list[Finding]:
    self_v4 = normalize(view.self_ipv4)
    station_of_peer = {sv.node.stable_id: sv.station for sv in located if sv.node is not None}
    node_of_station = {sv.station.name: sv.node for sv in located}
    providers_of_peer: dict[str, list[Provider]] = {}
    for m in matches:
        targets: dict[str, None] = {}
        for a in provider_addresses(m.provider):
            peer = idx.by_v4.get(a) if is_ip(a) else idx.peer_by_name(a)
            if peer is not None:
                targets.setdefault(peer.stable_id, None)
        node = node_of_station.get(m.station.name) if m.station is not None else None
        if node is not None:
            targets.setdefault(node.stable_id, None)
        for sid in targets:
            providers_of_peer.setdefault(sid, []).append(m.provider)
    out: list[Finding] = []
    for peer in view.peers:
        masq = normalize(peer.masquerade_v4) if peer.masquerade_v4 else ""
        if not masq or masq == self_v4:
            continue
        st = station_of_peer.get(peer.stable_id)
        ps = providers_of_peer.get(peer.stable_id, [])
        name = peer.hostname or first_label(peer.dns_name) or peer.stable_id
        common = {
            "station": st.name if st else None,
            "observed": self_v4 or None,
            "masquerade": masq,
            "node": name,
        }
        extra = (("peer_ipv4", normalize(peer.ipv4)), ("self_node", view.self_hostname))
        if not ps:
            out.append(
                Finding(Code.MASQUERADED, Severity.CRITICAL, provider=None, params=extra, **common)
            )
        for p in ps:
            out.append(
                Finding(
                    Code.MASQUERADED,
                    _cap(Severity.CRITICAL, [p]),
                    provider=p.id,
                    configured=normalize(p.host) or None,
                    params=(*extra, ("description", p.description)),
                    **common,
                )
            )
    return out


def _local_net_findings(pbx: PbxConfig, matches: Sequence[ProviderMatch]) -> list[Finding]:
    ln = pbx.local_net
    if not ln.known or ln.internet_topology != "private" or not ln.external_address:
        return []
    if any(_covers(n, TAILNET_V4_TEXT) for n in ln.local_networks):
        return []
    tail = [
        m.provider
        for m in matches
        if any(is_tailnet_v4(a) for a in provider_addresses(m.provider)) or m.station is not None
    ]
    if not tail:
        return []
    return [
        Finding(
            Code.NOT_IN_LOCAL_NET,
            _cap(Severity.CRITICAL, tail),
            params=(("external", ln.external_address),),
        )
    ]
