"""The one builder of MikoPBX configuration DBs: the demo, the tests and the benchmarks use it.

The schema is the package's ``demo/schema.sql`` (MikoPBX's real tables and columns, see its
header). Rows carry the values MikoPBX's REST save writes for a SIP provider
(src/PBXCoreREST/Lib/Providers/SaveRecordAction.php: type='friend', nat='auto_force',
noregister='0', extension=''), so a built DB reads like one MikoPBX wrote.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Trunk:
    """One SIP provider: an m_Providers row, its m_Sip row and its m_SipHosts rows."""

    uniqid: str
    description: str  # the name check matches against the registry
    host: str
    registration: str = "none"  # m_Sip.registration_type: none | outbound | inbound
    port: int = 5060
    extra_hosts: tuple[str, ...] = ()  # m_SipHosts addresses (accepted hosts)
    manual: str = ""  # plain ini text; stored base64 as MikoPBX does
    note: str = ""
    disabled: bool = False
    username: str = ""
    secret: str = ""
    network_filter: int | None = None  # m_Sip.networkfilterid


@dataclass(frozen=True)
class Lan:
    """The internet interface of m_LanInterfaces (MikoPBX's NAT settings come from it)."""

    ipaddr: str
    extipaddr: str = ""
    hostname: str = "mikopbx"
    gateway: str = ""
    subnet: str = "24"


def schema() -> str:
    """The SQL that creates the tables (the package's demo/schema.sql)."""
    return resources.files("sdp_guard.demo").joinpath("schema.sql").read_text(encoding="utf-8")


def create(
    path: str | os.PathLike[str],
    trunks: Sequence[Trunk] = (),
    *,
    local_networks: Sequence[str] = (),
    lan: Lan | None = None,
    sql: str = "",
    wal: bool = False,
    without: Sequence[str] = (),
) -> str:
    """Write a MikoPBX DB at ``path``: the schema, then filters, trunks, LAN and extra ``sql``.

    ``local_networks`` become m_NetworkFilters rows marked local network (ids 1, 2, … in order);
    ``sql`` runs last (fixtures such as tests/fixtures/mikopbx/sample-stations.sql); ``wal``
    switches the DB to WAL mode as on a live PBX. ``without`` leaves tables out, e.g.
    ``["m_LanInterfaces"]`` for a DB whose NAT settings cannot be read (local_net undecidable).
    """
    conn = sqlite3.connect(path)
    try:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(schema())
        for table in without:
            conn.execute(f'DROP TABLE "{table}"')
        for net in local_networks:
            conn.execute(
                "INSERT INTO m_NetworkFilters (permit, deny, newer_block_ip, local_network,"
                " description) VALUES (?, '0.0.0.0/0', '0', '1', 'Tailscale tailnet')",
                (net,),
            )
        for t in trunks:
            _insert_trunk(conn, t)
        if lan is not None:
            conn.execute(
                "INSERT INTO m_LanInterfaces (name, interface, vlanid, subnet, ipaddr, gateway,"
                " topology, extipaddr, exthostname, hostname, domain, dhcp, internet, disabled)"
                " VALUES ('LAN', 'eth0', '0', ?, ?, ?, 'private', ?, '', ?, '', '0', '1', '0')",
                (lan.subnet, lan.ipaddr, lan.gateway, lan.extipaddr, lan.hostname),
            )
        if sql:
            conn.executescript(sql)
        conn.commit()
    finally:
        conn.close()
    return str(path)


def _insert_trunk(conn: sqlite3.Connection, t: Trunk) -> None:
    conn.execute(
        "INSERT INTO m_Providers (uniqid, type, sipuid, iaxuid, note) VALUES (?, 'SIP', ?, '', ?)",
        (t.uniqid, t.uniqid, t.note),
    )
    conn.execute(
        "INSERT INTO m_Sip (uniqid, disabled, extension, type, registration_type, host, port,"
        " username, secret, transport, outbound_proxy, fromuser, fromdomain, nat, dtmfmode,"
        " qualifyfreq, qualify, networkfilterid, manualattributes, disablefromuser, noregister,"
        " description) VALUES (?, ?, '', 'friend', ?, ?, ?, ?, ?, 'udp', '', '', '',"
        " 'auto_force', 'auto', 60, '1', ?, ?, '0', '0', ?)",
        (
            t.uniqid,
            "1" if t.disabled else "0",
            t.registration,
            t.host,
            t.port,
            t.username,
            t.secret,
            t.network_filter,
            base64.b64encode(t.manual.encode()).decode() if t.manual else "",
            t.description,
        ),
    )
    for addr in t.extra_hosts:
        conn.execute(
            "INSERT INTO m_SipHosts (provider_id, address) VALUES (?, ?)", (t.uniqid, addr)
        )
