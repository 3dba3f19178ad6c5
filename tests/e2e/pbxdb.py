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

from sdp_guard.demo import pbxdb
from sdp_guard.demo.pbxdb import Trunk

__all__ = ["ProviderView", "Trunk", "create", "media_address", "read"]


def create(path: Path, trunks: list[Trunk]) -> Path:
    """A MikoPBX DB holding these providers behind the tailnet's local-network filter.

    No m_LanInterfaces: the stations' NAT settings are not what these tests are about.
    """
    filtered = [dataclasses.replace(t, network_filter=1) for t in trunks]
    pbxdb.create(path, filtered, local_networks=["100.64.0.0/10"], without=["m_LanInterfaces"])
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
