"""Each station's MikoPBX configuration DB (the real schema), and what its SIP stack takes from it.

The DB is what sdp-guard reads (check) and changes through the MikoPBX API (sync). The user
agents of a call read their settings from it the way Asterisk's generated pjsip.conf would:
the caller dials the provider's ``host:port``; each side's SDP carries the provider's
``[endpoint] media_address`` from the manual attributes when present, else the station's own
address (design/mikopbx.md §2).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import sqlite3
from pathlib import Path

from tests.fixtures import fixture


@dataclasses.dataclass(frozen=True)
class Trunk:
    uniqid: str
    description: str  # the registry station name: how check matches the provider
    host: str
    port: int = 5060
    manual: str = ""  # plain ini text; stored base64 as MikoPBX does
    extra_hosts: tuple[str, ...] = ()
    note: str = ""


def schema_path() -> Path:
    """The real schema (tests/fixtures/mikopbx)."""
    return fixture("mikopbx", "schema.sql")


def create(path: Path, trunks: list[Trunk]) -> Path:
    """A MikoPBX DB holding these providers, with the values MikoPBX's REST save writes."""
    con = sqlite3.connect(path)
    try:
        con.executescript(schema_path().read_text(encoding="utf-8"))
        con.execute(
            "INSERT INTO m_NetworkFilters"
            " (permit, deny, newer_block_ip, local_network, description)"
            " VALUES ('100.64.0.0/10', '0.0.0.0/0', '0', '1', 'Tailscale tailnet')"
        )
        for t in trunks:
            con.execute(
                "INSERT INTO m_Providers (uniqid, type, sipuid, iaxuid, note)"
                " VALUES (?, 'SIP', ?, '', ?)",
                (t.uniqid, t.uniqid, t.note),
            )
            con.execute(
                "INSERT INTO m_Sip (uniqid, disabled, extension, type, registration_type, host,"
                " port, username, secret, transport, outbound_proxy, fromuser, fromdomain, nat,"
                " dtmfmode, qualifyfreq, qualify, networkfilterid, manualattributes,"
                " disablefromuser, noregister, description)"
                " VALUES (?, '0', '', 'friend', 'none', ?, ?, '', '', 'udp', '', '', '',"
                " 'auto_force', 'auto', 60, '1', 1, ?, '0', '0', ?)",
                (
                    t.uniqid,
                    t.host,
                    t.port,
                    base64.b64encode(t.manual.encode()).decode() if t.manual else "",
                    t.description,
                ),
            )
            for addr in t.extra_hosts:
                con.execute(
                    "INSERT INTO m_SipHosts (provider_id, address) VALUES (?, ?)", (t.uniqid, addr)
                )
        con.commit()
    finally:
        con.close()
    return path


def _decode_manual(raw: str) -> str:
    """Util::parseIniSettings: decode only canonical base64, else take the text as it is."""
    if not raw:
        return ""
    try:
        dec = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw
    if base64.b64encode(dec).decode() != raw.strip():
        return raw
    return dec.decode("utf-8", errors="replace")


def media_address(manual_text: str) -> str | None:
    """The last `media_address` in the [endpoint] section (later keys win), or None."""
    found: str | None = None
    section = ""
    for raw in manual_text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep and section == "endpoint" and key.strip() == "media_address" and value.strip():
            found = value.strip()
    return found


@dataclasses.dataclass(frozen=True)
class ProviderView:
    uniqid: str
    host: str
    port: int
    manual: str
    extra_hosts: tuple[str, ...]
    note: str

    def sdp_address(self, own: str) -> str:
        return media_address(self.manual) or own


def read(path: Path, uniqid: str) -> ProviderView:
    """A provider as the PBX would apply it now (read-only, WAL-safe)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT s.host, s.port, s.manualattributes, p.note FROM m_Sip s"
            " LEFT JOIN m_Providers p ON p.sipuid = s.uniqid"
            " WHERE s.uniqid = ? AND s.type = 'friend'",
            (uniqid,),
        ).fetchone()
        if row is None:
            raise LookupError(f"{path}: no provider {uniqid}")
        hosts = tuple(
            r[0]
            for r in con.execute(
                "SELECT address FROM m_SipHosts WHERE provider_id = ? ORDER BY id", (uniqid,)
            )
        )
    finally:
        con.close()
    return ProviderView(
        uniqid=uniqid,
        host=str(row[0] or ""),
        port=int(row[1] or 5060),
        manual=_decode_manual(str(row[2] or "")),
        extra_hosts=hosts,
        note=str(row[3] or ""),
    )
