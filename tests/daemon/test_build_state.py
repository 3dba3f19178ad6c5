"""build_state: what the daemon publishes, as a pure function of the previous state and the views.

And the loop itself driven by in-memory readers (no DB, no registry file, no LocalAPI): a source
whose read breaks is published as down while its findings stay.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdp_guard import config as config_mod
from sdp_guard.core.model import PbxConfig, Peer, Provider, Station, TailnetView
from sdp_guard.daemon.loop import Daemon, Settings
from sdp_guard.daemon.readers import Outcome, Readers
from sdp_guard.daemon.state import (
    SOURCES,
    Counters,
    ProbeRow,
    PublishedState,
    SourceStatus,
    build_state,
)

from .harness import Lines, wait_until

SHIBUYA = Provider(
    id="SIP-TRUNK-7B3D0E55",
    description="Shibuya exchange",
    host="100.88.7.19",
    port=5060,
    registration_type="outbound",
)
# Shibuya renumbered: the provider's host is stale (a critical finding).
SHIBUYA_ST = Station("shibuya", "100.88.201.5", node="shibuya-pbx", providers=(SHIBUYA.id,))
VIEW = TailnetView(
    self_hostname="ochanomizu-pbx",
    self_ipv4="100.70.10.2",
    peers=(Peer("n3", "shibuya-pbx", ipv4="100.88.201.5"),),
)
VIEWS: dict[str, Any] = {
    "mikopbx": PbxConfig((SHIBUYA,)),
    "registry": (SHIBUYA_ST,),
    "tailscale": VIEW,
}
ALL_UP = tuple(SourceStatus(n, up=True, detail=n, has_view=True) for n in SOURCES)
PROBE = ProbeRow("shibuya", SHIBUYA.id, "one-way", 0.0, 50, 0, 200, "100.70.10.2", 1000.0)


def build(previous: PublishedState, views: dict[str, Any], **kw: Any) -> Any:
    args: dict[str, Any] = {
        "sources": ALL_UP,
        "kept_findings": (),
        "counters": Counters(),
        "probes": (),
        "own_mantela": None,
        "net": None,
        "netlink_watched": False,
        "lang": "en",
        "recheck_seconds": 60.0,
        "evaluated_at": 1_700_000_000.0,
        "duration": 0.25,
    }
    args.update(kw)
    return build_state(previous, views, **args)


def document(state: PublishedState) -> dict[str, Any]:
    doc = json.loads(state.document)
    assert isinstance(doc, dict)
    return doc


START = PublishedState(started_at=1_699_999_000.0, recheck_seconds=60.0)


def test_a_complete_view_publishes_its_findings_and_the_document() -> None:
    out = build(START, VIEWS, probes=(PROBE,))
    s = out.state
    assert s.complete and out.report is not None
    assert [f.code.value for f in s.findings] == [f.code.value for f in out.report.findings]
    assert any(f.provider == SHIBUYA.id for f in s.findings)
    assert [(p.id, p.station) for p in s.providers] == [(SHIBUYA.id, "shibuya")]
    assert (s.peers, s.stations, s.evaluations, s.started_at) == (1, 1, 1, START.started_at)
    assert s.summary.startswith("1 critical") and s.summary.endswith("all sources up")
    doc = document(s)
    assert doc["status"] == "critical" and doc["exit_code"] == 2
    assert doc["checked_at"] == "2023-11-14T22:13:20Z"
    assert doc["daemon"] == {"started_at": "2023-11-14T21:56:40Z", "evaluations": 1}
    assert doc["probes"][0]["verdict"] == "one-way"
    assert s.probes == (PROBE,)


def test_until_every_source_has_a_view_the_document_is_unknown_and_names_what_is_missing() -> None:
    views = {k: v for k, v in VIEWS.items() if k != "tailscale"}
    out = build(START, views)
    s = out.state
    assert out.report is None and not s.complete and s.findings == ()
    assert s.summary == "no complete view yet; all sources up"
    doc = document(s)
    assert doc["status"] == "unknown" and doc["exit_code"] == 3
    assert doc["error"] == "no good view yet of: tailscale"
    assert "probes" not in doc


def test_a_source_that_is_down_keeps_its_view_and_its_findings() -> None:
    first = build(START, VIEWS).state
    down = tuple(
        SourceStatus(n, up=False, error="no answer within 5 s", since=5.0, has_view=True)
        if n == "tailscale"
        else st
        for n, st in zip(SOURCES, ALL_UP, strict=True)
    )
    second = build(first, VIEWS, sources=down).state
    assert second.findings == first.findings and second.findings
    assert second.summary.endswith("; down: tailscale")
    assert second.evaluations == 2
    src = document(second)["sources"]["tailscale"]
    assert src["up"] is False and src["error"] == "no answer within 5 s"


def test_counters_and_the_interface_are_copied_not_shared() -> None:
    class Net:
        present = True
        addresses = ("100.70.10.2/32",)
        routes = ("100.88.201.5", "100.65.20.20")

    counters = Counters()
    counters.wakeups["bus"] = 3
    s = build(START, VIEWS, counters=counters, net=Net(), netlink_watched=True).state
    counters.wakeups["bus"] = 4  # the loop goes on counting; the published state does not move
    assert dict(s.wakeups)["bus"] == 3
    assert (s.interface_present, s.interface_addresses, s.peer_routes) == (True, 1, 2)
    unwatched = build(START, VIEWS, net=None, netlink_watched=False).state
    assert unwatched.interface_present is None


def test_the_same_inputs_give_the_same_state() -> None:
    assert build(START, VIEWS).state == build(START, VIEWS).state
    assert START.evaluations == 0  # the previous state is not touched


# ---- the loop with in-memory readers ---------------------------------------------------------


def test_the_daemon_runs_on_in_memory_readers_and_keeps_findings_when_a_read_breaks(
    tmp_path: Path,
) -> None:
    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text(
        f"mikopbx:\n  db: {tmp_path / 'none.db'}\n"
        f"registry:\n  file: {tmp_path / 'none.yaml'}\n"
        f"tailscale:\n  socket: {tmp_path / 'none.sock'}\n"
    )
    cfg = config_mod.load(str(cfg_file))
    broken = threading.Event()
    calls: list[str] = []

    def tailnet(sock: str, pbx: PbxConfig, stations: tuple[Station, ...], t: float) -> Outcome:
        calls.append(sock)
        if broken.is_set():
            raise ValueError("LocalAPI answered garbage")
        return Outcome(True, VIEW, "in memory")

    readers = Readers(
        registry=lambda c: Outcome(True, (SHIBUYA_ST,), "in memory"),
        mikopbx=lambda path: Outcome(True, PbxConfig((SHIBUYA,)), path),
        tailscale=tailnet,
    )
    settings = Settings(cfg=cfg, lang="en", listen=None, watch_netlink=False, eval_timeout=2.0)
    out = Lines()
    d = Daemon(settings, stream=out, readers=readers)
    t = threading.Thread(target=d.run, kwargs={"install_signals": False}, daemon=True)
    t.start()
    try:
        wait_until(lambda: d.snapshot.evaluations >= 1, 5)
        first = d.snapshot
        assert first.complete and first.findings
        assert calls == [str(tmp_path / "none.sock")]
        broken.set()
        d._post("bus", "netmap")  # what the IPN bus thread posts on a tailnet change
        wait_until(lambda: d.snapshot.evaluations >= 2, 5)
        second = d.snapshot
        assert second.findings == first.findings
        assert second.source("tailscale").up is False
        assert "ValueError: LocalAPI answered garbage" in second.source("tailscale").error
        assert any("tailscale" in line and "down" in line for line in out.lines())
    finally:
        d.request_stop("test")
        t.join(10)
    assert not t.is_alive()


def test_a_stuck_read_is_abandoned_and_the_next_evaluation_reads_afresh(tmp_path: Path) -> None:
    # Was: a read that missed its deadline stayed "in flight" and every later evaluation waited
    # on that same read, so the source stayed down as long as it hung.
    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text(
        f"mikopbx:\n  db: {tmp_path / 'none.db'}\n"
        f"registry:\n  file: {tmp_path / 'none.yaml'}\n"
        f"tailscale:\n  socket: {tmp_path / 'none.sock'}\n"
    )
    cfg = config_mod.load(str(cfg_file))
    hang = threading.Event()
    release = threading.Event()
    started: list[int] = []

    def tailnet(sock: str, pbx: PbxConfig, stations: tuple[Station, ...], t: float) -> Outcome:
        started.append(len(started))
        if hang.is_set():
            release.wait(30)  # a reader stuck beyond every deadline
        return Outcome(True, VIEW, "in memory")

    readers = Readers(
        registry=lambda c: Outcome(True, (SHIBUYA_ST,), "in memory"),
        mikopbx=lambda path: Outcome(True, PbxConfig((SHIBUYA,)), path),
        tailscale=tailnet,
    )
    settings = Settings(cfg=cfg, lang="en", listen=None, watch_netlink=False, eval_timeout=0.3)
    d = Daemon(settings, stream=Lines(), readers=readers)
    t = threading.Thread(target=d.run, kwargs={"install_signals": False}, daemon=True)
    t.start()
    try:
        wait_until(lambda: d.snapshot.evaluations >= 1, 5)
        hang.set()

        def evaluated(n: int) -> Callable[[], bool]:
            return lambda: d.snapshot.evaluations >= n

        for n in (2, 3, 4):
            d._post("bus", "netmap")
            wait_until(evaluated(n), 5)
            assert d.snapshot.source("tailscale").up is False
        # Two stuck reads were started afresh (not the first one waited on again); the third
        # evaluation started none, since two still hang.
        assert len(started) == 3
        assert "earlier reads have not returned" in d.snapshot.source("tailscale").error
        hang.clear()
        release.set()  # the stuck reads return; a fresh read brings the source back
        wait_until(lambda: d.snapshot.source("tailscale").up is True, 5)
        assert len(started) >= 4
    finally:
        release.set()
        d.request_stop("test")
        t.join(10)
    assert not t.is_alive()
