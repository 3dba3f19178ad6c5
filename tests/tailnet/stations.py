"""Stations on real tailscaled nodes: each node gets a MikoPBX DB (the real schema, tests/e2e/pbxdb)
and an sdp-guard configuration pointing at the node's real LocalAPI socket; they share one registry
of advertised addresses. Reuses tests/e2e's Station (sdp-guard as a real process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e import pbxdb
from tests.e2e.stations import Station, _config_yaml

# Station names (registry and node host names) and provider ids toward each peer.
A, B = "station-a", "station-b"
TRUNK_TO = {A: "SIP-TRUNK-A1A1A1A1", B: "SIP-TRUNK-B2B2B2B2"}
A_MASQ = "100.102.9.9"  # the address B's tailnet knows A by while A is masqueraded toward B


def registry_yaml(nodes: dict[str, dict[str, Any]]) -> str:
    lines = ["stations:"]
    for name, n in nodes.items():
        lines += [
            f"  - name: {name}",
            f"    ipv4: {n['ipv4']}",
            f"    node: {n['hostname']}",
            f"    providers: [{TRUNK_TO[name]}]",
        ]
    return "\n".join(lines) + "\n"


def make(
    root: Path,
    nodes: dict[str, dict[str, Any]],
    hosts: dict[str, dict[str, str]],
    api_url: dict[str, str] | None = None,
) -> dict[str, Station]:
    """One station per node; hosts[station][peer] is the provider host station uses toward peer."""
    registry = root / "stations.yaml"
    registry.write_text(registry_yaml(nodes), encoding="utf-8")
    registry.chmod(0o644)
    out: dict[str, Station] = {}
    for name, n in nodes.items():
        d = root / name
        d.mkdir(mode=0o755, exist_ok=True)
        d.chmod(0o755)
        trunks = [
            pbxdb.Trunk(TRUNK_TO[peer], peer, host, extra_hosts=(host,))
            for peer, host in hosts[name].items()
        ]
        db = pbxdb.create(d / "mikopbx.db", trunks)
        db.chmod(0o644)
        st = Station(name, d, db, registry, d / "config.yaml", Path(n["socket"]))
        st.api_url = (api_url or {}).get(name)
        st.config.write_text(_config_yaml(st), encoding="utf-8")
        st.config.chmod(0o644)
        out[name] = st
    return out


def rewrite_host(st: Station, peer: str, host: str) -> None:
    """The operator edits the provider toward PEER (as if in the admin console)."""
    import sqlite3

    con = sqlite3.connect(st.db)
    try:
        uid = TRUNK_TO[peer]
        con.execute("UPDATE m_Sip SET host = ? WHERE uniqid = ?", (host, uid))
        con.execute("UPDATE m_SipHosts SET address = ? WHERE provider_id = ?", (host, uid))
        con.commit()
    finally:
        con.close()
