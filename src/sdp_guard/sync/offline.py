"""``sync --offline-db``: apply a plan to the SQLite DB of a *stopped* MikoPBX, in one transaction.

MikoPBX does not notice direct SQLite writes (design/mikopbx.md §3): this is for maintenance
windows and DB copies only, and it refuses when the REST API answers. MikoPBX regenerates
pjsip.conf from the DB when it starts. Before writing, the whole DB is copied with SQLite's
online-backup API into the backup directory (mode 0600); a rollback restores the touched rows
from that copy byte for byte (row ids included).
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Callable
from typing import Any

from sdp_guard.core.addresses import TAILNET_V4_TEXT, network_covers, normalize
from sdp_guard.core.plan import EXTRA_HOSTS, HOST, MANUAL, Plan, Value
from sdp_guard.errors import ConflictError, DatabaseError, Error
from sdp_guard.sync.backup import Backup, BackupStore
from sdp_guard.sync.engine import (
    TAILNET_DESCRIPTION,
    TAILNET_RULES,
    WriteOutcome,
    differs,
    signals_deferred,
)


def _connect(path: str) -> sqlite3.Connection:
    if not os.path.exists(path):
        raise DatabaseError(f"MikoPBX database {path} does not exist")
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def _decode(raw: str | None) -> str:
    from sdp_guard.adapters.mikopbx_db import decode_manualattributes

    return decode_manualattributes(raw)


def read_fields(conn: sqlite3.Connection, pid: str) -> dict[str, Value] | None:
    row = conn.execute(
        "SELECT host, manualattributes FROM m_Sip WHERE uniqid = ?", (pid,)
    ).fetchone()
    if row is None:
        return None
    hosts = tuple(
        str(r[0]).strip()
        for r in conn.execute(
            "SELECT address FROM m_SipHosts WHERE provider_id = ? ORDER BY id", (pid,)
        )
        if r[0] is not None and str(r[0]).strip()
    )
    return {
        HOST: str(row["host"] or "").strip(),
        EXTRA_HOSTS: hosts,
        MANUAL: _decode(row["manualattributes"]),
    }


def copy_db(db_path: str, dest: str) -> None:
    """SQLite online backup into a file that is 0600 before the first byte lands."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_hosts(conn: sqlite3.Connection, pid: str, new: tuple[str, ...]) -> None:
    """Change only the rows that must change; unrelated rows keep their id."""
    rows = [
        (r[0], str(r[1] or "").strip())
        for r in conn.execute(
            "SELECT id, address FROM m_SipHosts WHERE provider_id = ? ORDER BY id", (pid,)
        )
    ]
    want = list(new)
    for rid, addr in rows:
        if addr and addr in want:
            want.remove(addr)
            continue
        if want and want[0] not in (a for _, a in rows):
            conn.execute("UPDATE m_SipHosts SET address = ? WHERE id = ?", (want.pop(0), rid))
        else:
            conn.execute("DELETE FROM m_SipHosts WHERE id = ?", (rid,))
    for addr in want:
        conn.execute("INSERT INTO m_SipHosts (provider_id, address) VALUES (?, ?)", (pid, addr))


def apply_offline(
    db_path: str, store: BackupStore, plan: Plan, progress: Callable[[str], None] = lambda s: None
) -> WriteOutcome:
    out = WriteOutcome()
    backup = store.create("offline-db", db_path, plan.to_dict())
    copy_db(db_path, backup.db_copy)
    for pid in plan.provider_ids:
        cs = plan.changes_for(pid)
        backup.doc["providers"][pid] = {
            "fields": [c.field for c in cs],
            "after": {c.field: list(c.new) if isinstance(c.new, tuple) else c.new for c in cs},
            "state": "planned",
        }
    if plan.local_net_change is not None:
        backup.doc["local_net"] = {"state": "planned"}
    backup.set_status("applying")
    out.backup_id = backup.id
    progress(f"backup {backup.db_copy}")
    conn = _connect(db_path)
    try:
        with signals_deferred() as got:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for pid in plan.provider_ids:
                    cs = plan.changes_for(pid)
                    cur = read_fields(conn, pid)
                    bad = ["missing"] if cur is None else differs(cur, {c.field: c.old for c in cs})
                    if bad:
                        out.skipped.append((pid, f"changed since planning ({', '.join(bad)})"))
                        backup.doc["providers"][pid]["state"] = "skipped"
                        continue
                    for c in cs:
                        if c.field == HOST:
                            conn.execute("UPDATE m_Sip SET host = ? WHERE uniqid = ?", (c.new, pid))
                        elif c.field == MANUAL:
                            enc = base64.b64encode(str(c.new or "").encode()).decode("ascii")
                            conn.execute(
                                "UPDATE m_Sip SET manualattributes = ? WHERE uniqid = ?", (enc, pid)
                            )
                        elif c.field == EXTRA_HOSTS:
                            _write_hosts(conn, pid, tuple(c.new or ()))
                    out.written.append(pid)
                    backup.doc["providers"][pid]["state"] = "written"
                if plan.local_net_change is not None:
                    out.local_net = _local_net(conn)
                    backup.doc["local_net"] = {"state": "written", "action": out.local_net}
                if got:
                    raise Error("interrupted before commit; nothing was written")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                out.written.clear()
                backup.set_status("rolled_back")
                raise
        backup.set_status("applied")
        for pid in out.written:
            cur = read_fields(conn, pid)
            entry = backup.doc["providers"][pid]
            exp: dict[str, Value] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in entry["after"].items()
            }
            if cur is None or differs(cur, exp):
                raise Error(f"{pid} does not read back as written")
            entry["state"] = "verified"
            out.verified.append(pid)
        backup.set_status("committed")
    finally:
        conn.close()
    return out


# The port rules of each firewall category and the m_PbxSettings keys of their ports
# (mikopbx/Core @ e26e6b97 src/Common/Models/FirewallRules.php l.110-236), with the default port
# values (src/Common/Models/PBXSettings/PbxSettingsDefaultValuesTrait.php l.39-72).
FIREWALL_TEMPLATE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "SIP": (
        ("udp", "SIPPort", "SIPPort"),
        ("tcp", "SIPPort", "SIPPort"),
        ("tcp", "TLS_PORT", "TLS_PORT"),
        ("udp", "RTPPortFrom", "RTPPortTo"),
    ),
    "IAX": (("udp", "IAXPort", "IAXPort"),),
    "WEB": (("tcp", "WEBPort", "WEBPort"), ("tcp", "WEBHTTPSPort", "WEBHTTPSPort")),
    "SSH": (("tcp", "SSHPort", "SSHPort"),),
    "AMI": (("tcp", "AMIPort", "AMIPort"),),
    "AJAM": (("tcp", "AJAMPort", "AJAMPort"), ("tcp", "AJAMPortTLS", "AJAMPortTLS")),
    "ICMP": (("icmp", "", ""),),
}
DEFAULT_PORTS = {
    "SIPPort": "5060",
    "TLS_PORT": "5061",
    "RTPPortFrom": "10000",
    "RTPPortTo": "10200",
    "IAXPort": "4569",
    "AMIPort": "5038",
    "AJAMPort": "8088",
    "AJAMPortTLS": "8089",
    "SSHPort": "22",
    "WEBPort": "80",
    "WEBHTTPSPort": "443",
}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')}


def _local_net(conn: sqlite3.Connection) -> str:
    rows = conn.execute("SELECT id, permit, local_network FROM m_NetworkFilters").fetchall()
    if any(str(r[2]) == "1" and network_covers(str(r[1] or ""), TAILNET_V4_TEXT) for r in rows):
        return "skipped: already a local network"
    for r in rows:
        if normalize(str(r[1] or "")) == TAILNET_V4_TEXT:
            conn.execute("UPDATE m_NetworkFilters SET local_network = '1' WHERE id = ?", (r[0],))
            return "enabled"
    tables = _tables(conn)
    if "m_FirewallRules" not in tables:
        # A filter without rule rows is "allow everything" in MikoPBX's UI: never make one.
        raise DatabaseError(
            "this MikoPBX DB has no m_FirewallRules table, so the tailnet filter cannot be "
            "restricted to SIP/RTP and ICMP",
            "add 100.64.0.0/10 as a local network in MikoPBX's firewall page instead",
        )
    cols = {
        "permit": TAILNET_V4_TEXT,
        "deny": "0.0.0.0/0",
        "newer_block_ip": "0",
        "local_network": "1",
        "description": TAILNET_DESCRIPTION,
    }
    if "priority" in _columns(conn, "m_NetworkFilters"):
        # As MikoPBX's save: after the last regular filter, catch-alls bumped behind it
        # (src/PBXCoreREST/Lib/Firewall/SaveRecordAction.php l.345-374).
        top, catch_all = 0, []
        for r in conn.execute(
            "SELECT id, permit, priority FROM m_NetworkFilters ORDER BY CAST(priority AS INTEGER)"
        ):
            if str(r[1] or "").strip() in ("0.0.0.0/0", "::/0"):
                catch_all.append(r[0])
            else:
                top = max(top, int(str(r[2] or "0")) if str(r[2] or "0").isdigit() else 0)
        for i, fid in enumerate(catch_all):
            conn.execute(
                "UPDATE m_NetworkFilters SET priority = ? WHERE id = ?", (str(top + 2 + i), fid)
            )
        cols["priority"] = str(top + 1)
    cur = conn.execute(
        f"INSERT INTO m_NetworkFilters ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(cols.values()),
    )
    fid = cur.lastrowid
    ports = dict(DEFAULT_PORTS)
    if "m_PbxSettings" in tables:
        for k, v in conn.execute("SELECT key, value FROM m_PbxSettings"):
            if k in ports and v:
                ports[str(k)] = str(v)
    # The rows MikoPBX's own save creates (createFirewallRules, SaveRecordAction.php l.383-416):
    # one per port rule of every category; only SIP/RTP and ICMP allowed.
    for category, rules in FIREWALL_TEMPLATE.items():
        action = "allow" if TAILNET_RULES.get(category) else "block"
        for proto, a, b in rules:
            conn.execute(
                "INSERT INTO m_FirewallRules (protocol, portfrom, portto, networkfilterid, action,"
                " category, portFromKey, portToKey, description) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    proto,
                    ports.get(a, "0"),
                    ports.get(b, "0"),
                    fid,
                    action,
                    category,
                    a,
                    b,
                    f"{action} connection for {category}",
                ),
            )
    return "added"


TABLES = (("m_Providers", "uniqid"), ("m_Sip", "uniqid"), ("m_SipHosts", "provider_id"))


def rollback_offline(db_path: str, backup: Backup, out: WriteOutcome) -> WriteOutcome:
    """Restore the touched rows from the backup copy (CAS: only rows still as sync wrote them)."""
    copy = backup.db_copy
    if not os.path.exists(copy):
        raise Error(f"backup copy {copy} is missing")
    conn = _connect(db_path)
    try:
        conn.execute("ATTACH DATABASE ? AS bk", (f"file:{copy}?mode=ro",))
    except sqlite3.Error:
        conn.execute("ATTACH DATABASE ? AS bk", (copy,))
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for pid, entry in backup.doc["providers"].items():
                if entry.get("state") not in ("written", "verified"):
                    continue
                cur = read_fields(conn, pid)
                exp = {k: tuple(v) if isinstance(v, list) else v for k, v in entry["after"].items()}
                if cur is None or differs(cur, exp):
                    out.rollback_failed.append((pid, "changed by someone else since sync"))
                    out.rollback_conflicts.append(pid)
                    continue
                for table, key in TABLES:
                    conn.execute(f'DELETE FROM main."{table}" WHERE {key} = ?', (pid,))
                    conn.execute(
                        f'INSERT INTO main."{table}" SELECT * FROM bk."{table}" WHERE {key} = ?',
                        (pid,),
                    )
                entry["state"] = "rolled_back"
                out.rolled_back.append(pid)
            ln: dict[str, Any] | None = backup.doc.get("local_net")
            if ln and ln.get("state") == "written":
                for table in ("m_NetworkFilters", "m_FirewallRules"):
                    if table in _tables(conn):
                        conn.execute(f'DELETE FROM main."{table}"')
                        conn.execute(f'INSERT INTO main."{table}" SELECT * FROM bk."{table}"')
                ln["state"] = "rolled_back"
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    backup.set_status("rollback_incomplete" if out.rollback_failed else "rolled_back")
    if out.rollback_failed:
        raise ConflictError(
            "some providers changed since sync and were left alone: "
            + ", ".join(p for p, _ in out.rollback_failed)
        )
    return out
