"""Immutable input records the adapters build and the core reads.

NamedTuples rather than dataclasses: importing ``dataclasses`` (and ``inspect`` behind it) and
creating a dozen dataclasses cost ~15 ms of `check`'s start-up (bench figure 2), and tuples are
also the smallest records for the daemon's last good view (figure 5). Change one with ``_replace``.
"""

from __future__ import annotations

from typing import NamedTuple


class Provider(NamedTuple):
    """A MikoPBX SIP trunk (``m_Sip`` row with ``type='friend'`` joined to ``m_Providers``)."""

    id: str  # uniqid, e.g. SIP-TRUNK-4F2A9C1E
    description: str = ""
    host: str = ""
    port: int | None = None
    transport: str = ""
    registration_type: str = ""
    disabled: bool = False
    extra_hosts: tuple[str, ...] = ()  # m_SipHosts.address, in DB order
    manualattributes: str = ""  # decoded text
    username: str = ""
    note: str = ""
    outbound_proxy: str = ""


class LocalNet(NamedTuple):
    """What decides MikoPBX's ``local_net`` (and whether it rewrites SDP to its external address)."""

    local_networks: tuple[
        str, ...
    ] = ()  # CIDRs: filters with local_network='1' + private LAN subnets
    internet_topology: str | None = None  # 'private' | 'public' | None when unknown
    external_address: str = ""  # extipaddr or exthostname of the internet interface
    known: bool = False  # False when the DB lacks m_LanInterfaces (cannot decide)


class PbxConfig(NamedTuple):
    providers: tuple[Provider, ...] = ()
    local_net: LocalNet = LocalNet()


class Station(NamedTuple):
    """One entry of the registry of advertised addresses (TC25 step 0)."""

    name: str
    ipv4: str  # the address its owner advertises
    node: str = ""  # Tailscale machine name
    identifier: str = ""  # Mantela aboutMe.identifier
    ipv6: str = ""
    providers: tuple[str, ...] = ()  # explicit MikoPBX provider ids
    source: str = "yaml"  # where the entry came from (yaml | mantela)


class Peer(NamedTuple):
    """A node in our tailnet as our tailscaled sees it."""

    stable_id: str
    hostname: str = ""
    dns_name: str = ""
    ipv4: str = ""  # its address in OUR tailnet
    ipv6: str = ""
    online: bool = False
    sharee_node: bool = False
    # From whois: the address this peer knows US by. None = not asked or not answered.
    masquerade_v4: str | None = None
    whois_known: bool = False  # True when whois answered for this peer


class TailnetView(NamedTuple):
    backend_state: str = "Running"
    self_hostname: str = ""
    self_dns_name: str = ""
    self_ipv4: str = ""
    self_ipv6: str = ""
    magicdns_suffix: str = ""
    version: str = ""
    peers: tuple[Peer, ...] = ()
