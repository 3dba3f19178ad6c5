"""Read MikoPBX providers and what decides ``local_net`` from its SQLite DB, read-only.

Columns are selected by name, because real DBs carry legacy columns or lack newer ones
(tables are built from model annotations at boot, not by migrations: design/mikopbx.md §1).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from sdp_guard.core.model import LocalNet, PbxConfig, Provider
from sdp_guard.errors import DatabaseError


def _log() -> Any:
    import logging  # lazily: `check` start-up time is measured

    return logging.getLogger(__name__)


LOCK_RETRIES = 3
BUSY_TIMEOUT_MS = 2000


def decode_manualattributes(raw: str | None) -> str:
    """As MikoPBX's ``Util::parseIniSettings``: decode only canonical base64, else it is plain text."""
    if not raw:
        return ""
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw
    if base64.b64encode(data).decode("ascii") != raw:
        return raw
    return data.decode("utf-8", errors="replace")


def connect_ro(path: str) -> sqlite3.Connection:
    """Open read-only, WAL-safe (no ``immutable=1``: that returns stale data on a live DB)."""
    if not os.path.exists(path):
        raise DatabaseError(
            f"MikoPBX database {path} does not exist",
            "on the appliance it is /cf/conf/mikopbx.db; on a Docker host "
            "/var/spool/mikopbx/cf/conf/mikopbx.db; pass --db PATH",
        )
    if not os.access(path, os.R_OK):
        raise DatabaseError(
            f"no permission to read {path}",
            "run as a user in the group that owns the DB (the WAL files next to it must be readable)",
        )
    # SQLite URI filenames need only %, ? and # escaped (sqlite.org/uri.html).
    quoted = os.path.abspath(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    uri = "file:" + quoted + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as e:
        raise DatabaseError(f"cannot open {path}: {e}") from None
    conn.row_factory = sqlite3.Row
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')}


def _select(
    conn: sqlite3.Connection, table: str, wanted: Sequence[str], where: str = ""
) -> list[dict[str, object]]:
    have = _columns(conn, table)
    cols = [c for c in wanted if c in have]
    if not cols:
        return []
    sql = f'SELECT {", ".join(f"`{c}`" for c in cols)} FROM "{table}" {where}'
    rows = []
    for r in conn.execute(sql):
        d = {c: r[c] for c in cols}
        for c in wanted:
            d.setdefault(c, None)
        rows.append(d)
    return rows


def _s(v: object) -> str:
    return "" if v is None else str(v)


SIP_COLUMNS = (
    "uniqid",
    "type",
    "disabled",
    "host",
    "port",
    "transport",
    "registration_type",
    "noregister",
    "manualattributes",
    "description",
    "username",
    "outbound_proxy",
)
LAN_COLUMNS = ("subnet", "ipaddr", "topology", "extipaddr", "exthostname", "internet", "disabled")


Resolver = Callable[[str], bool]
LiveAddresses = Callable[[str], list[str]]


def read_pbx(
    path: str, *, resolves: Resolver | None = None, live: LiveAddresses | None = None
) -> PbxConfig:
    """Providers (``m_Sip.type='friend'``), their extra hosts and the local_net inputs.

    ``resolves(name)``: does a host name resolve (default: the system resolver, 1 s at most, as
    MikoPBX's ``timeout 1 getent hosts``); ``live(interface)``: its IPv4 ``addr/prefix`` now
    (default: netlink). Both only matter for the local_net inputs.
    """
    last: Exception | None = None
    for attempt in range(LOCK_RETRIES):
        conn = connect_ro(path)
        try:
            return _read(conn, path, resolves or host_resolves, live or live_ipv4)
        except sqlite3.OperationalError as e:
            last = e
            if "locked" in str(e) or "busy" in str(e):
                _log().info(
                    "database %s is locked (attempt %d/%d)", path, attempt + 1, LOCK_RETRIES
                )
                time.sleep(0.2 * (attempt + 1))
                continue
            raise DatabaseError(f"cannot read {path}: {e}") from None
        except sqlite3.DatabaseError as e:
            raise DatabaseError(
                f"{path} is not a readable SQLite database: {e}", "check the path: pass --db PATH"
            ) from None
        finally:
            conn.close()
    raise DatabaseError(
        f"{path} stayed locked after {LOCK_RETRIES} attempts ({last})",
        "MikoPBX may be writing a large change; try again in a few seconds",
    )


def _read(
    conn: sqlite3.Connection, path: str, resolves: Resolver, live: LiveAddresses
) -> PbxConfig:
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = {"m_Sip", "m_Providers"} - tables
    if missing:
        raise DatabaseError(
            f"{path} is not a MikoPBX configuration DB (no table {', '.join(sorted(missing))})",
            "pass the MikoPBX DB with --db (/cf/conf/mikopbx.db, or on a Docker host "
            "/var/spool/mikopbx/cf/conf/mikopbx.db)",
        )
    provider_rows = _select(conn, "m_Providers", ("uniqid", "type", "sipuid", "note"))
    notes: dict[str, str] = {}
    for r in provider_rows:
        if _s(r["type"]).upper() not in ("", "SIP"):
            continue
        notes[_s(r["sipuid"]) or _s(r["uniqid"])] = _s(r["note"])
    extra: dict[str, list[str]] = {}
    if "m_SipHosts" in tables:
        for r in _select(conn, "m_SipHosts", ("provider_id", "address", "id"), "ORDER BY id"):
            if _s(r["address"]).strip():
                extra.setdefault(_s(r["provider_id"]), []).append(_s(r["address"]).strip())
    providers = []
    for r in _select(conn, "m_Sip", SIP_COLUMNS, "ORDER BY id"):
        if _s(r["type"]) != "friend":
            continue
        # Every friend row is a provider, with or without an m_Providers row: SIPConf reads
        # Sip::find("type = 'friend' ...") (mikopbx/Core @ e26e6b97 SIPConf.php l.521).
        uid = _s(r["uniqid"])
        reg = _s(r["registration_type"])
        if not reg:  # SIPConf.php l.536-542: noregister '0' means outbound, anything else none
            reg = "outbound" if _s(r["noregister"]) == "0" else "none"
        port = r["port"]
        providers.append(
            Provider(
                id=uid,
                description=_s(r["description"]),
                host=_s(r["host"]).strip(),
                port=int(_s(port)) if _s(port).isdigit() else None,
                transport=_s(r["transport"]),
                registration_type=reg,
                disabled=_s(r["disabled"]) == "1",
                extra_hosts=tuple(extra.get(uid, ())),
                manualattributes=decode_manualattributes(_s(r["manualattributes"])),
                username=_s(r["username"]),
                note=notes.get(uid, ""),
                outbound_proxy=_s(r["outbound_proxy"]),
            )
        )
    return PbxConfig(providers=tuple(providers), local_net=_local_net(conn, tables, resolves, live))


# Always in local_net (SIPConf::getTopologyData, mikopbx/Core @ e26e6b97 SIPConf.php l.226;
# mikopbx/Core#265).
LOOPBACK_NETS = ("127.0.0.1/32", "::1/128")


def _local_net(
    conn: sqlite3.Connection, tables: set[str], resolves: Resolver, live: LiveAddresses
) -> LocalNet:
    """``local_net`` as ``SIPConf::getTopologyData`` computes it (SIPConf.php l.217-276): the
    loopbacks, the subnet of every enabled private interface (its live address when the DB has
    none, e.g. DHCP), then every filter with ``local_network='1'``; the external address is the
    internet interface's ``exthostname`` when it resolves, else its ``extipaddr``
    (``generateNatConfiguration``, l.1161-1182; both without a ``:port``)."""
    nets: list[str] = list(LOOPBACK_NETS)
    filters: list[str] = []
    if "m_NetworkFilters" in tables:
        for r in _select(conn, "m_NetworkFilters", ("permit", "local_network")):
            if _s(r["local_network"]) == "1" and _s(r["permit"]).strip():
                filters.append(_s(r["permit"]).strip())
    if "m_LanInterfaces" not in tables:
        return LocalNet(local_networks=tuple(nets + filters), known=False)
    topology: str | None = None
    external = ""
    for r in _select(conn, "m_LanInterfaces", (*LAN_COLUMNS, "interface")):
        if _s(r["disabled"]) == "1":
            continue
        if _s(r["topology"]) == "private":
            if _s(r["ipaddr"]).strip():
                addrs = [f"{_s(r['ipaddr']).strip()}/{_s(r['subnet']).strip() or '32'}"]
            else:
                addrs = live(_s(r["interface"]).strip()) if _s(r["interface"]).strip() else []
            for a in addrs:
                try:
                    net = str(ipaddress.ip_network(a, strict=False))
                except ValueError:
                    _log().warning("ignoring LAN interface with bad address %s", a)
                    continue
                if net not in nets:
                    nets.append(net)
        if _s(r["internet"]) == "1":
            topology = _s(r["topology"]) or None
            host = _s(r["exthostname"]).strip()
            external = (
                host.split(":", 1)[0]
                if host and resolves(host)
                else _s(r["extipaddr"]).strip().split(":", 1)[0]
            )
    for f in filters:
        if f not in nets:
            nets.append(f)
    return LocalNet(
        local_networks=tuple(nets),
        internet_topology=topology,
        external_address=external,
        known=True,
    )


def host_resolves(name: str, timeout: float = 1.0) -> bool:
    """Whether ``name`` resolves within ``timeout`` s (MikoPBX: ``timeout 1 getent hosts``)."""
    import socket
    import threading

    got: list[bool] = []

    def look() -> None:
        try:
            socket.getaddrinfo(name.split(":", 1)[0], None)
            got.append(True)
        except (OSError, UnicodeError):
            got.append(False)

    t = threading.Thread(target=look, name="resolve", daemon=True)
    t.start()
    t.join(timeout)
    return bool(got and got[0])


def live_ipv4(interface: str) -> list[str]:
    """The IPv4 ``addr/prefix`` of a network interface now (empty when it has none or is absent)."""
    try:
        from pyroute2 import IPRoute
    except ImportError:
        return []
    try:
        with IPRoute() as ipr:
            idx = ipr.link_lookup(ifname=interface)
            if not idx:
                return []
            out = []
            for m in ipr.get_addr(index=idx[0], family=2):
                addr = m.get_attr("IFA_ADDRESS")
                if addr:
                    out.append(f"{addr}/{m['prefixlen']}")
            return out
    except Exception as e:  # netlink refused (sandbox, namespace): fall back to the DB alone
        _log().debug("live addresses of %s: %s", interface, e)
        return []


def read_provider_secret(path: str, uniqid: str) -> str:
    """``m_Sip.secret`` of one provider, for the probe's digest answer only (never logged).

    Kept out of ``Provider`` so the secret cannot reach findings, snapshots, backups or logs.
    """
    conn = connect_ro(path)
    try:
        if "secret" not in _columns(conn, "m_Sip"):
            return ""
        row = conn.execute(
            "SELECT secret FROM m_Sip WHERE uniqid = ? AND type = 'friend'", (uniqid,)
        ).fetchone()
    except sqlite3.Error as e:
        raise DatabaseError(f"cannot read {path}: {e}") from None
    finally:
        conn.close()
    return _s(row[0]) if row is not None else ""
