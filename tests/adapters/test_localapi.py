"""The LocalAPI client against a unix-socket server speaking tailscaled's wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.adapters.localapi import LocalAPI, apply_whois, parse_status, parse_whois
from sdp_guard.errors import TailnetError
from tests.fakes.localapi import LocalAPIServer
from tests.fixtures import fixture as fixture_path


def fixture(name: str) -> Any:
    return json.loads(fixture_path("tailscale", name).read_text())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalAPIServer]:
    srv = LocalAPIServer(str(tmp_path / "tailscaled.sock"), fixture("status-sharer.json"))
    srv.set_whois("100.102.2.2", fixture("whois-masqueraded.json"))
    srv.set_whois("100.103.3.3", fixture("whois-plain.json"))
    with srv:
        yield srv


def test_status_of_the_sharer(server: LocalAPIServer) -> None:
    view = parse_status(LocalAPI(server.path).status())
    assert (view.self_hostname, view.self_ipv4, view.self_ipv6) == (
        "station-a",
        "100.101.1.1",
        "fd7a:115c:a1e0::1a01",
    )
    b = next(p for p in view.peers if p.hostname == "station-b")
    assert (b.ipv4, b.sharee_node, b.online) == ("100.102.2.2", True, True)
    assert server.requests == ["/localapi/v0/status"]


def test_whois_reveals_the_masquerade(server: LocalAPIServer) -> None:
    api = LocalAPI(server.path)
    assert parse_whois(api.whois("100.102.2.2")) == ("100.102.2.2", "100.102.9.9")
    assert parse_whois(api.whois("100.103.3.3")) == ("100.103.3.3", None)
    assert api.whois("100.99.99.99") is None  # 404: no such peer
    view = apply_whois(parse_status(api.status()), {"100.102.2.2": api.whois("100.102.2.2")})
    b = next(p for p in view.peers if p.hostname == "station-b")
    assert (b.masquerade_v4, b.whois_known) == ("100.102.9.9", True)


def test_sharee_sees_the_shared_node_under_its_own_address() -> None:
    view = parse_status(fixture("status-sharee.json"))
    a = next(p for p in view.peers if p.hostname == "station-a")
    assert a.ipv4 == "100.102.9.9"


def test_missing_socket_says_how_to_check(tmp_path: Path) -> None:
    with pytest.raises(TailnetError) as e:
        LocalAPI(str(tmp_path / "nope.sock")).status()
    assert "does not exist" in str(e.value) and "systemctl status tailscaled" in str(e.value)


def test_not_running_backend(server: LocalAPIServer) -> None:
    doc = fixture("status-sharer.json")
    doc["BackendState"] = "NeedsLogin"
    server.set_status(doc)
    with pytest.raises(TailnetError, match=r"not running .*NeedsLogin"):
        parse_status(LocalAPI(server.path).status())


@pytest.mark.parametrize(
    ("mutate", "msg"),
    [
        (lambda d: d.pop("BackendState"), "status has no 'BackendState'"),
        (lambda d: d["Self"].pop("TailscaleIPs"), "status.Self has no 'TailscaleIPs'"),
        (lambda d: next(iter(d["Peer"].values())).pop("TailscaleIPs"), "has no 'TailscaleIPs'"),
    ],
)
def test_missing_fields_are_named(mutate: Any, msg: str) -> None:
    doc = fixture("status-sharer.json")
    mutate(doc)
    with pytest.raises(TailnetError, match=msg):
        parse_status(doc)


def test_unknown_fields_are_tolerated() -> None:
    doc = fixture("status-sharer.json")
    doc["SomethingNew"] = {"x": 1}
    next(iter(doc["Peer"].values()))["FutureField"] = [1, 2]
    assert len(parse_status(doc).peers) == 2


def test_http_error_is_reported(server: LocalAPIServer) -> None:
    server.fail_with = 500
    with pytest.raises(TailnetError, match="HTTP 500"):
        LocalAPI(server.path).status()


def test_bus_stream_delivers_notifies_then_ends_on_restart(server: LocalAPIServer) -> None:
    # The daemon's watcher (daemon/bus.py) is the one reader of the stream.
    import queue

    from sdp_guard.daemon.bus import BusWatcher

    lines = fixture_path("tailscale", "bus-initial.jsonl").read_text().splitlines()
    server.initial = [json.loads(line) for line in lines]
    assert server.initial[1]["PeersChanged"][0]["StableID"] == "nB2b2b2b2CNTRL"
    events: queue.Queue[str] = queue.Queue()
    watcher = BusWatcher(server.path, events.put, connect_timeout=2.0)
    watcher.start()
    try:
        assert events.get(timeout=5) == "connected"  # the NetMap
        assert events.get(timeout=5) == "cue"  # PeersChanged
        server.close_streams()
        assert events.get(timeout=5) == "closed"
    finally:
        watcher.stop()
    assert server.masks[0] == 4122
