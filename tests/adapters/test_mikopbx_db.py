"""The DB reader on the real MikoPBX schema (fixtures), and on legacy/foreign/locked DBs."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from sdp_guard.adapters.mikopbx_db import decode_manualattributes, read_pbx
from sdp_guard.errors import DatabaseError


def test_reads_the_three_fixture_trunks(sample_db: Path) -> None:
    pbx = read_pbx(str(sample_db))
    by_id = {p.id: p for p in pbx.providers}
    assert list(by_id) == ["SIP-TRUNK-4F2A9C1E", "SIP-TRUNK-7B3D0E55", "SIP-TRUNK-C81E2D07"]
    shibuya = by_id["SIP-TRUNK-7B3D0E55"]
    assert (shibuya.host, shibuya.port, shibuya.registration_type, shibuya.transport) == (
        "100.88.7.19",
        5060,
        "outbound",
        "udp",
    )
    assert shibuya.extra_hosts == ("100.88.7.19",)
    assert shibuya.manualattributes == "[endpoint]\nmedia_address = 100.70.10.2\n"
    assert shibuya.note == "We register to Shibuya exchange"
    assert by_id["SIP-TRUNK-C81E2D07"].username == "ueno-gw"
    assert "callerid = Kanda Exchange <0300>" in by_id["SIP-TRUNK-4F2A9C1E"].manualattributes
    # local_net: the loopbacks and the fixture's network filter, but no m_LanInterfaces table
    # -> undecidable.
    assert pbx.local_net.local_networks == ("127.0.0.1/32", "::1/128", "100.64.0.0/10")
    assert pbx.local_net.known is False


def test_does_not_write_and_leaves_db_unchanged(sample_db: Path) -> None:
    before = sample_db.read_bytes()
    read_pbx(str(sample_db))
    assert sample_db.read_bytes() == before


def test_legacy_db_with_extra_and_missing_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE m_Providers (id INTEGER PRIMARY KEY, uniqid VARCHAR(0), type VARCHAR(0), sipuid VARCHAR(0));
        CREATE TABLE m_Sip (id INTEGER PRIMARY KEY, uniqid VARCHAR(0), disabled VARCHAR(1), type VARCHAR(0),
            host VARCHAR(0), port INTEGER, noregister VARCHAR(1), receive_calls_without_auth VARCHAR(1),
            description VARCHAR(0));
        INSERT INTO m_Providers VALUES (1, 'SIP-1611151795', 'SIP', 'SIP-1611151795');
        INSERT INTO m_Sip VALUES (1, 'SIP-1611151795', '0', 'friend', '100.101.12.34', 5060, '1', '1', 'old');
        INSERT INTO m_Sip VALUES (2, '201', '0', 'peer', 'dynamic', NULL, '0', '0', 'phone');
        """
    )
    conn.close()
    pbx = read_pbx(str(db))
    [p] = pbx.providers
    assert (p.id, p.host, p.registration_type, p.extra_hosts, p.note) == (
        "SIP-1611151795",
        "100.101.12.34",
        "none",  # derived from noregister='1' when registration_type is absent
        (),
        "",
    )


def test_lan_interfaces_decide_local_net(tmp_path: Path) -> None:
    from sdp_guard import demo

    files = demo.build(str(tmp_path))
    ln = read_pbx(files.db).local_net
    assert ln.known and ln.internet_topology == "private"
    assert ln.external_address == "203.0.113.7"
    assert ln.local_networks == ("127.0.0.1/32", "::1/128", "192.168.10.0/24")


def test_missing_db_names_both_default_paths(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as e:
        read_pbx(str(tmp_path / "nope.db"))
    assert "does not exist" in str(e.value)
    assert "/var/spool/mikopbx/cf/conf/mikopbx.db" in str(e.value)


def test_foreign_db_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(DatabaseError, match="not a MikoPBX configuration DB"):
        read_pbx(str(db))


def test_not_sqlite_at_all(tmp_path: Path) -> None:
    f = tmp_path / "text.db"
    f.write_text("hello, this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="not a readable SQLite database"):
        read_pbx(str(f))


def test_exclusively_locked_db_fails_after_bounded_retries(sample_db: Path) -> None:
    # Leave WAL for a rollback journal and hold an EXCLUSIVE lock: readers get "locked".
    conn = sqlite3.connect(sample_db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError, match="locked"):
            read_pbx(str(sample_db))
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_brief_lock_is_waited_out(sample_db: Path) -> None:
    conn = sqlite3.connect(sample_db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("BEGIN EXCLUSIVE")
    t = threading.Timer(0.5, lambda: conn.execute("ROLLBACK"))
    t.start()
    try:
        assert len(read_pbx(str(sample_db)).providers) == 3
    finally:
        t.join()
        conn.close()


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("W2VuZHBvaW50XQo=", "[endpoint]\n"),
        (
            "[endpoint]\nmedia_address = 1.2.3.4",
            "[endpoint]\nmedia_address = 1.2.3.4",
        ),  # plain text
        ("", ""),
        ("abc", "abc"),  # not canonical base64
    ],
)
def test_manualattributes_decoding_follows_mikopbx(raw: str, want: str) -> None:
    assert decode_manualattributes(raw) == want


# ---- issue 13 item 8: as SIPConf reads the DB (mikopbx/Core @ e26e6b97) ----------------------


def _lan_db(tmp_path: Path, lan_sql: str) -> str:
    from sdp_guard import demo

    files = demo.build(str(tmp_path))
    conn = sqlite3.connect(files.db)
    conn.execute("DELETE FROM m_LanInterfaces")
    conn.executescript(lan_sql)
    conn.commit()
    conn.close()
    return files.db


LAN = (
    "INSERT INTO m_LanInterfaces (name, interface, vlanid, subnet, ipaddr, gateway, topology,"
    " extipaddr, exthostname, hostname, domain, dhcp, internet, disabled) VALUES"
)


def test_a_dhcp_interface_contributes_its_live_address(tmp_path: Path) -> None:
    """The DB has no address for a DHCP interface; SIPConf uses the interface's live one."""
    db = _lan_db(
        tmp_path,
        f"{LAN} ('WAN', 'eth9', '0', '', '', '', 'private', '203.0.113.7', '', 'h', '', '1', '1', '0');"
        f"{LAN} ('LO', 'lo', '0', '', '', '', 'private', '', '', 'h', '', '1', '0', '0');",
    )
    ln = read_pbx(db).local_net  # the real loopback interface: 127.0.0.1/8
    assert "127.0.0.0/8" in ln.local_networks
    ln = read_pbx(db, live=lambda name: {"eth9": ["10.20.30.40/16"]}.get(name, [])).local_net
    assert ln.local_networks == ("127.0.0.1/32", "::1/128", "10.20.0.0/16")


def test_exthostname_wins_when_it_resolves(tmp_path: Path) -> None:
    db = _lan_db(
        tmp_path,
        f"{LAN} ('WAN', 'eth0', '0', '24', '192.168.10.5', '', 'private', '203.0.113.7',"
        " 'pbx.example.jp', 'h', '', '0', '1', '0');",
    )
    assert read_pbx(db, resolves=lambda n: True).local_net.external_address == "pbx.example.jp"
    assert read_pbx(db, resolves=lambda n: False).local_net.external_address == "203.0.113.7"


def test_host_resolves_is_bounded_and_real() -> None:
    from sdp_guard.adapters.mikopbx_db import host_resolves

    assert host_resolves("localhost")
    assert not host_resolves("no-such-host.invalid")


def test_friend_rows_without_a_providers_row_are_providers_and_noregister_decides(
    tmp_path: Path,
) -> None:
    from tests.fakes.mikopbx_api import make_db

    db = make_db(
        tmp_path / "m.db",
        sample=False,
        extra_sql="""
        INSERT INTO m_Sip (uniqid, disabled, type, registration_type, host, noregister)
            VALUES ('SIP-TRUNK-ORPHAN1', '0', 'friend', '', '100.101.12.34', '0');
        INSERT INTO m_Sip (uniqid, disabled, type, registration_type, host, noregister)
            VALUES ('SIP-TRUNK-ORPHAN2', '0', 'friend', '', '100.101.12.35', NULL);
        """,
    )
    got = {p.id: p.registration_type for p in read_pbx(db).providers}
    assert got == {"SIP-TRUNK-ORPHAN1": "outbound", "SIP-TRUNK-ORPHAN2": "none"}
