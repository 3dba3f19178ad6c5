"""The daemon in-process against a real SQLite DB, a real registry file and the LocalAPI server.

Each test changes one input the way the real world does (a MikoPBX write, a bus Notify, a file
edit, tailscaled going away) and asserts on what an operator sees: scraped metrics, /findings and
the transition lines.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from .harness import (
    SHIBUYA_OLD,
    SHIBUYA_PROVIDER,
    Station,
    http_get,
    problem,
    scrape,
    value,
    wait_until,
)

HOST = "host-differs-from-advertised"
PEER = "peer-address-differs-from-advertised"
KANDA_PROVIDER = "SIP-TRUNK-4F2A9C1E"


def test_first_evaluation_exports_every_series_and_the_demo_findings(start_daemon: Any) -> None:
    d = start_daemon()
    m = scrape(d.url)
    assert value(m, "sdp_guard_view_complete") == 1
    for source in ("tailscale", "mikopbx", "registry"):
        assert value(m, "sdp_guard_source_up", source=source) == 1
    assert problem(m, SHIBUYA_PROVIDER, HOST) == 1
    assert problem(m, KANDA_PROVIDER, HOST) == 0  # healthy, but the series exists
    assert value(m, "sdp_guard_findings", code="provider-unmatched", severity="critical") == 0
    assert value(m, "sdp_guard_findings", code=HOST, severity="critical") == 1
    # No label value anywhere is an IP address.
    for (_name, labels), _v in m.items():
        for _k, v in labels:
            assert not v.startswith("100."), labels
    assert value(m, "sdp_guard_last_evaluation_timestamp_seconds") > time.time() - 60  # type: ignore[operator]
    assert d.wait_line("finding appeared: critical host-differs-from-advertised", SHIBUYA_PROVIDER)


def test_findings_document_and_landing_page(start_daemon: Any) -> None:
    d = start_daemon()
    status, ctype, body = http_get(d.url, "/findings")
    doc = json.loads(body)
    assert status == 200 and ctype.startswith("application/json")
    assert doc["schema_version"] == 1 and doc["status"] == "critical"
    assert {f["code"] for f in doc["findings"]} >= {HOST, PEER}
    assert doc["daemon"]["evaluations"] >= 1
    status, ctype, body = http_get(d.url, "/")
    assert status == 200 and b"/metrics" in body and ctype.startswith("text/html")
    assert http_get(d.url, "/nope")[0] == 404


def test_db_fix_clears_within_the_second_and_a_regression_reappears(
    st: Station, start_daemon: Any
) -> None:
    d = start_daemon()
    t0 = time.monotonic()
    st.set_provider_host(SHIBUYA_PROVIDER, "100.88.201.5")  # the operator fixes the trunk
    wait_until(lambda: problem(scrape(d.url), SHIBUYA_PROVIDER, HOST) == 0, 1.0)
    assert time.monotonic() - t0 < 1.0
    d.wait_line("finding cleared:", HOST, SHIBUYA_PROVIDER)
    st.set_provider_host(SHIBUYA_PROVIDER, SHIBUYA_OLD)  # and someone restores the old host
    wait_until(lambda: problem(scrape(d.url), SHIBUYA_PROVIDER, HOST) == 1, 1.0)


def test_bus_renumber_appears_within_the_second(st: Station, start_daemon: Any) -> None:
    d = start_daemon()
    n = len(d.lines())
    t0 = time.monotonic()
    st.renumber("kanda-pbx", "100.101.99.99")  # PeersChanged on the bus (v1.100 style)
    wait_until(lambda: problem(scrape(d.url), KANDA_PROVIDER, PEER) == 1, 1.0)
    assert time.monotonic() - t0 < 1.0
    line = d.wait_line("finding appeared", PEER, after=n)
    assert "station=kanda" in line and "observed=100.101.99.99" in line
    assert "advertised=100.101.12.34" in line
    st.renumber("kanda-pbx", "100.101.12.34")
    wait_until(lambda: problem(scrape(d.url), KANDA_PROVIDER, PEER) == 0, 1.0)
    d.wait_line("finding cleared", PEER, "station=kanda", after=n)


def test_quiet_inputs_mean_no_evaluations(st: Station, start_daemon: Any) -> None:
    d = start_daemon()
    before = d.daemon.snapshot.evaluations
    time.sleep(1.0)
    assert d.daemon.snapshot.evaluations == before  # our own reads do not wake us


def test_a_burst_of_db_writes_is_one_or_two_evaluations(st: Station, start_daemon: Any) -> None:
    d = start_daemon()
    before = d.daemon.snapshot.evaluations
    conn = sqlite3.connect(st.db)
    for i in range(50):
        conn.execute("UPDATE m_Sip SET description=? WHERE uniqid=?", (f"d{i}", KANDA_PROVIDER))
        conn.commit()
    conn.close()
    time.sleep(0.6)
    assert 1 <= d.daemon.snapshot.evaluations - before <= 3


def test_tailscaled_restart_marks_down_keeps_findings_and_recovers(
    st: Station, start_daemon: Any
) -> None:
    d = start_daemon()
    n = len(d.lines())
    st.api.stop()  # closes the bus stream and removes the socket, as a stopped tailscaled does
    wait_until(lambda: value(scrape(d.url), "sdp_guard_source_up", source="tailscale") == 0, 2.0)
    d.wait_line("source tailscale down", after=n)
    m = scrape(d.url)
    assert problem(m, SHIBUYA_PROVIDER, HOST) == 1  # not "cleared" because of the outage
    doc = json.loads(http_get(d.url, "/findings")[2])
    assert doc["sources"]["tailscale"]["up"] is False and doc["sources"]["tailscale"]["since"]
    assert any(f["code"] == HOST for f in doc["findings"])  # the last good view still speaks
    assert not any("finding cleared" in x or "finding appeared" in x for x in d.lines()[n:])
    st.api.start()  # tailscaled is back: the watcher re-subscribes on its own
    wait_until(lambda: value(scrape(d.url), "sdp_guard_source_up", source="tailscale") == 1, 6.0)
    d.wait_line("source tailscale up again", after=n)
    assert len(st.api.masks) >= 2 and set(st.api.masks) == {4122}


def test_locked_db_is_down_then_up_without_clearing(st: Station, start_daemon: Any) -> None:
    d = start_daemon(eval_timeout=1.0)
    n = len(d.lines())
    w = sqlite3.connect(st.db, isolation_level=None)
    w.execute("PRAGMA locking_mode=EXCLUSIVE")
    w.execute("PRAGMA cache_size=8")
    w.execute("BEGIN EXCLUSIVE")
    # A large write (pages spill into the WAL while the lock is held): inotify wakes the daemon.
    w.execute("CREATE TABLE big_change (x BLOB)")
    w.execute("INSERT INTO big_change VALUES (zeroblob(2000000))")
    try:
        d.wait_line("source mikopbx down", after=n, timeout=5)
        m = scrape(d.url)
        assert value(m, "sdp_guard_source_up", source="mikopbx") == 0
        assert problem(m, SHIBUYA_PROVIDER, HOST) == 1
    finally:
        w.execute("COMMIT")
        w.close()
    d.wait_line("source mikopbx up again", after=n, timeout=10)
    assert not any("finding cleared" in x for x in d.lines()[n:])


def test_broken_registry_edit_keeps_the_last_good_one(st: Station, start_daemon: Any) -> None:
    d = start_daemon()
    n = len(d.lines())
    with open(st.registry, encoding="utf-8") as f:
        good = f.read()
    with open(st.registry, "w", encoding="utf-8") as f:
        f.write(good.replace("ipv4: 100.88.201.5", "ipv4: 10.0.0.1"))  # outside 100.64/10
    line = d.wait_line("source registry down", after=n)
    assert "stations.yaml" in line

    # The line is logged just before the new snapshot is swapped in: wait for the snapshot.
    def registry_down() -> Any:
        s = scrape(d.url)
        return s if value(s, "sdp_guard_source_up", source="registry") == 0 else None

    m = wait_until(registry_down)
    assert problem(m, SHIBUYA_PROVIDER, HOST) == 1
    assert value(m, "sdp_guard_registry_stations") == 4
    with open(st.registry, "w", encoding="utf-8") as f:
        f.write(good)
    d.wait_line("source registry up again", after=n)
    assert not any("finding" in x for x in d.lines()[n:])


def test_reload_picks_up_a_new_configuration(st: Station, start_daemon: Any) -> None:
    path = st.config()
    d = start_daemon(path)
    n = len(d.lines())
    with open(path, "a", encoding="utf-8") as f:
        f.write("daemon:\n  recheck_seconds: 7\n")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("lang: en", "lang: ja"))
    d.daemon.request_reload()
    d.wait_line("設定を再読み込みしました", after=n)  # already in the new language
    wait_until(lambda: value(scrape(d.url), "sdp_guard_recheck_interval_seconds") == 7)
    with open(path, "w", encoding="utf-8") as f:
        f.write("daemon: [unclosed\n")
    d.daemon.request_reload()
    line = d.wait_line("設定を再読み込みできません", after=n)  # the lang is ja by now
    assert "config.yaml" in line
    assert value(scrape(d.url), "sdp_guard_recheck_interval_seconds") == 7


def test_safety_recheck_catches_a_missed_change(st: Station, start_daemon: Any) -> None:
    d = start_daemon(st.config(daemon__recheck_seconds=1))
    st.renumber("kanda-pbx", "100.101.99.99", bus=False)  # no bus message: the event is "missed"
    wait_until(lambda: problem(scrape(d.url), KANDA_PROVIDER, PEER) == 1, 3.0)
    m = scrape(d.url)
    assert value(m, "sdp_guard_wakeups_total", reason="recheck") >= 1  # type: ignore[operator]


def test_the_loop_sleeps_between_events(st: Station, start_daemon: Any) -> None:
    """A re-check every second for 3.5 s: a handful of wake-ups, not a spinning loop."""
    d = start_daemon(st.config(daemon__recheck_seconds=1))
    n0, e0 = d.daemon.iterations, d.daemon.snapshot.evaluations
    time.sleep(3.5)
    assert 3 <= d.daemon.snapshot.evaluations - e0 <= 4
    assert d.daemon.iterations - n0 <= 5 * 4
