"""The pure parts of the daemon, from plain data: diffs, coalescing, event classification."""

from __future__ import annotations

import itertools
import json
import struct
from typing import Any

import pytest

from sdp_guard.adapters import inotify
from sdp_guard.adapters.metrics import parse_listen
from sdp_guard.adapters.netlink import NetMessage, is_relevant
from sdp_guard.core.findings import Code, Finding, Severity
from sdp_guard.daemon import logtext
from sdp_guard.daemon.bus import is_cue, next_backoff
from sdp_guard.daemon.coalesce import Pending, due_at
from sdp_guard.daemon.loop import classify
from sdp_guard.daemon.notify import Notifier
from sdp_guard.daemon.state import Transition, diff_findings, diff_sources
from tests.fixtures import fixture

HOST = Code.HOST_DIFFERS
MASQ = Code.MASQUERADED


def f(
    code: Code = HOST, sev: Severity = Severity.CRITICAL, provider: str | None = "P1", **kw: Any
) -> Finding:
    return Finding(code, sev, provider=provider, station=kw.pop("station", "shibuya"), **kw)


def kinds(ts: tuple[Transition, ...]) -> list[tuple[str, str, str | None]]:
    return [(t.kind, t.finding.code.value, t.finding.provider) for t in ts]


# ---- finding transitions ------------------------------------------------------------------


def test_nothing_changes_nothing_logged() -> None:
    a = (f(configured="100.88.7.19"),)
    assert diff_findings(a, a) == ()


def test_appear_and_clear() -> None:
    old = (f(provider="P1"),)
    new = (f(provider="P2"),)
    assert kinds(diff_findings(old, new)) == [
        ("appeared", HOST.value, "P2"),
        ("cleared", HOST.value, "P1"),
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"observed": "100.65.20.20"}, {"observed": "100.65.20.21"}),
        ({"masquerade": "100.99.44.44"}, {"masquerade": "100.99.44.45"}),
    ],
)
def test_an_address_change_is_one_changed_line_not_clear_plus_appear(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    ts = diff_findings((f(MASQ, **before),), (f(MASQ, **after),))
    assert kinds(ts) == [("changed", MASQ.value, "P1")]
    assert ts[0].before is not None


def test_severity_change_is_a_change() -> None:
    ts = diff_findings((f(sev=Severity.WARNING),), (f(sev=Severity.CRITICAL),))
    assert kinds(ts) == [("changed", HOST.value, "P1")]


def test_findings_without_provider_are_told_apart_by_node() -> None:
    old = (f(MASQ, provider=None, station="", node="ueno-gw"),)
    new = (f(MASQ, provider=None, station="", node="kanda-pbx"),)
    assert [t.kind for t in diff_findings(old, new)] == ["appeared", "cleared"]


# ---- source transitions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({}, {"tailscale": True}, ()),  # starting up is not news
        ({}, {"tailscale": False}, (("tailscale", False),)),  # starting down is
        ({"tailscale": True}, {"tailscale": False}, (("tailscale", False),)),
        ({"tailscale": False}, {"tailscale": True}, (("tailscale", True),)),
        ({"tailscale": False}, {"tailscale": False}, ()),
    ],
)
def test_source_transitions(
    old: dict[str, bool], new: dict[str, bool], expected: tuple[tuple[str, bool], ...]
) -> None:
    assert diff_sources(old, new) == expected


# ---- coalescing ---------------------------------------------------------------------------


def test_due_after_quiet_but_never_later_than_max_delay() -> None:
    assert due_at(10.0, 10.0, quiet=0.05, max_delay=0.25) == pytest.approx(10.05)
    assert due_at(10.0, 10.2, quiet=0.05, max_delay=0.25) == pytest.approx(10.25)


def test_a_burst_gives_one_evaluation_with_every_source() -> None:
    p = Pending(quiet=0.05, max_delay=0.25)
    for i in range(50):  # 50 events, 1 ms apart
        p.add(1.0 + i * 0.001, "tailscale" if i % 2 else "mikopbx")
        assert p.take(1.0 + i * 0.001) is None
    assert p.take(1.049 + 0.049) is None  # still within the quiet time after the last one
    assert p.take(1.049 + 0.05) == frozenset({"tailscale", "mikopbx"})
    assert p.take(5.0) is None and p.due() is None  # nothing pending any more


def test_a_steady_stream_cannot_starve_the_evaluation() -> None:
    p = Pending(quiet=0.05, max_delay=0.25)
    taken = []
    for i in range(1000):  # one event every 10 ms for 10 s: never quiet for 50 ms
        now = i * 0.01
        p.add(now, "tailscale")
        if p.take(now) is not None:
            taken.append(round(now, 2))
    assert len(taken) == 38  # one every 0.26 s (0.25 s after the first event of each burst)
    assert all(0.24 <= b - a <= 0.27 for a, b in itertools.pairwise(taken))


# ---- bus, inotify, netlink classification -----------------------------------------------


def test_bus_cues_from_the_captured_stream() -> None:
    lines = fixture("tailscale", "bus-initial.jsonl").read_text().splitlines()
    docs = [json.loads(x) for x in lines if x.strip()]
    assert [is_cue(d) for d in docs] == [True, True]  # initial NetMap, then PeersChanged
    assert not is_cue(
        {"Version": "1.100.0", "State": None, "NetMap": None, "Engine": {"RBytes": 1}}
    )
    assert is_cue({"PeersRemoved": [2002]})


def test_backoff_doubles_to_a_ceiling() -> None:
    d = 0.0
    seen = []
    for _ in range(8):
        d = next_backoff(d)
        seen.append(d)
    assert seen[:3] == [0.2, 0.4, 0.8] and seen[-1] == 5.0


DB = "/cf/conf/mikopbx.db"
REG = "/etc/sdp-guard/stations.yaml"


@pytest.mark.parametrize(
    ("directory", "name", "mask", "expected"),
    [
        ("/cf/conf", "mikopbx.db-wal", inotify.IN_MODIFY, {"mikopbx"}),  # a WAL commit
        ("/cf/conf", "mikopbx.db", inotify.IN_MODIFY, {"mikopbx"}),  # a checkpoint
        ("/cf/conf", "mikopbx.db", inotify.IN_MOVED_TO, {"mikopbx"}),  # replaced
        # Our own read-only reads create and close the WAL and SHM files: never a wake-up.
        ("/cf/conf", "mikopbx.db-wal", inotify.IN_CREATE, set()),
        ("/cf/conf", "mikopbx.db-wal", inotify.IN_CLOSE_WRITE, set()),
        ("/cf/conf", "mikopbx.db-shm", inotify.IN_MODIFY, set()),
        ("/cf/conf", "other.db", inotify.IN_MODIFY, set()),
        ("/etc/sdp-guard", "stations.yaml", inotify.IN_CLOSE_WRITE, {"registry"}),
        ("/etc/sdp-guard", "stations.yaml", inotify.IN_MOVED_TO, {"registry"}),  # vim, sed -i
        ("/etc/sdp-guard", "stations.yaml", inotify.IN_MODIFY, set()),  # wait for the close
        ("/etc/sdp-guard", ".stations.yaml.swp", inotify.IN_CLOSE_WRITE, set()),
        ("/etc/sdp-guard", "", inotify.IN_Q_OVERFLOW, {"mikopbx", "registry"}),
    ],
)
def test_inotify_classification(directory: str, name: str, mask: int, expected: set[str]) -> None:
    assert classify(inotify.Event(directory, name, mask), DB, REG) == expected


def test_inotify_parse_events_from_raw_bytes() -> None:
    def ev(wd: int, mask: int, name: bytes) -> bytes:
        padded = name + b"\0" * (16 - len(name))
        return struct.pack("iIII", wd, mask, 0, len(padded)) + padded

    data = ev(1, inotify.IN_MODIFY, b"mikopbx.db-wal") + ev(
        2, inotify.IN_MOVED_TO, b"stations.yaml"
    )
    got = inotify.parse_events(data, {1: "/cf/conf", 2: "/etc/sdp-guard"})
    assert got == [
        inotify.Event("/cf/conf", "mikopbx.db-wal", inotify.IN_MODIFY),
        inotify.Event("/etc/sdp-guard", "stations.yaml", inotify.IN_MOVED_TO),
    ]


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (NetMessage("RTM_NEWADDR", index=7), True),  # our address on tailscale0
        (NetMessage("RTM_DELADDR", index=7), True),
        (NetMessage("RTM_NEWADDR", index=2), False),  # eth0
        (NetMessage("RTM_NEWROUTE", index=7, table=52, dst_len=32), True),  # a peer
        (NetMessage("RTM_DELROUTE", index=7, table=52, dst_len=128), True),
        (NetMessage("RTM_NEWROUTE", index=7, table=52, dst_len=10), False),  # the collapsed /10
        (NetMessage("RTM_NEWROUTE", index=2, table=254, dst_len=32), False),  # main table
        (NetMessage("RTM_NEWLINK", index=9, ifname="tailscale0"), True),  # recreated
        (NetMessage("RTM_NEWLINK", index=3, ifname="eth1"), False),
    ],
)
def test_netlink_relevance(msg: NetMessage, expected: bool) -> None:
    assert is_relevant(msg, "tailscale0", 7) is expected


# ---- sd_notify, listen address, log lines ---------------------------------------------------


def test_notifier_is_a_no_op_without_notify_socket() -> None:
    n = Notifier({})
    assert not n.enabled
    assert n.ready("x") is False and n.watchdog() is False
    assert n.watchdog_interval is None


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_interval is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:8796", ("127.0.0.1", 8796)), ("[::1]:8796", ("::1", 8796)), (":9", ("", 9))],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("bad", ["8796", "host:", "host:port", "1.2.3.4:70000"])
def test_parse_listen_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="ADDR:PORT"):
        parse_listen(bad)


def test_transition_lines_name_code_provider_station_and_addresses() -> None:
    finding = f(
        configured="100.88.7.19",
        advertised="100.88.201.5",
        observed="100.88.201.5",
        params=(("description", "Shibuya exchange"), ("ready", "yes")),
    )
    en = logtext.transition_line(Transition("appeared", finding), "en")
    assert en.startswith("finding appeared: critical host-differs-from-advertised provider=P1 ")
    assert (
        "station=shibuya" in en
        and "configured=100.88.7.19" in en
        and "advertised=100.88.201.5" in en
    )
    ja = logtext.transition_line(Transition("cleared", finding), "ja")
    assert ja.startswith("解消: critical host-differs-from-advertised provider=P1")


# ---- the collector over a snapshot (private registry) -------------------------------------


def test_collector_preinitialises_every_series_and_reads_only_the_snapshot() -> None:
    from prometheus_client import CollectorRegistry

    from sdp_guard.daemon.exposition import StateCollector
    from sdp_guard.daemon.state import ProviderRow, PublishedState, SourceStatus

    snap = PublishedState(
        started_at=100.0,
        recheck_seconds=60,
        evaluations=3,
        evaluated_at=200.0,
        complete=True,
        sources=(
            SourceStatus("tailscale", up=True),
            SourceStatus("mikopbx"),
            SourceStatus("registry", up=True),
        ),
        findings=(f(provider="P1", configured="100.88.7.19"),),
        providers=(ProviderRow("P1", "shibuya"), ProviderRow("P2", "")),
    )
    current = [snap]
    reg = CollectorRegistry()
    reg.register(StateCollector(lambda: current[0]))
    get = reg.get_sample_value
    assert (
        get(
            "sdp_guard_provider_problem",
            {"provider": "P1", "station": "shibuya", "code": HOST.value},
        )
        == 1
    )
    assert (
        get("sdp_guard_provider_problem", {"provider": "P2", "station": "", "code": HOST.value})
        == 0
    )
    assert get("sdp_guard_findings", {"code": "provider-unmatched", "severity": "info"}) == 0
    assert get("sdp_guard_findings", {"code": HOST.value, "severity": "critical"}) == 1
    assert get("sdp_guard_source_up", {"source": "mikopbx"}) == 0
    assert get("sdp_guard_evaluations_total") == 3
    assert get("sdp_guard_syncs_total", {"result": "applied"}) == 0
    assert (
        get(
            "sdp_guard_build_info",
            {
                "version": __import__("sdp_guard").__version__,
                "python": __import__("platform").python_version(),
            },
        )
        == 1
    )
    current[0] = PublishedState(
        started_at=100.0, recheck_seconds=60
    )  # a new evaluation swaps it in
    assert get("sdp_guard_findings", {"code": HOST.value, "severity": "critical"}) == 0
    assert (
        get(
            "sdp_guard_provider_problem",
            {"provider": "P1", "station": "shibuya", "code": HOST.value},
        )
        is None
    )
