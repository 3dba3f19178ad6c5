"""The Mantela source against a loopback web server: real-shaped files and real-world failures."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdp_guard.adapters.mantela_http import UrllibGetter, load_mantela
from sdp_guard.errors import RegistryError
from tests.fakes.mantela_http import MantelaServer, Route
from tests.mantela.docs import dumps, link, station

OWN_ID = "3f0c6a52-1d7e-4b8a-9c41-5e2f7a9b0d13"
A_ID = "a81027d08378c8af4e63618b625ae05620a460b8"
C_ID = "01K5NQ22CRQVM18R4X60BYC8AN"


@pytest.fixture
def srv() -> Iterator[MantelaServer]:
    with MantelaServer() as s:
        yield s


def fast() -> UrllibGetter:
    return UrllibGetter(timeout=0.5, deadline=1.5, max_bytes=64 * 1024)


def publish(srv: MantelaServer, peers: dict[str, Route]) -> str:
    """Our own file links to every path in ``peers`` (plus our hop self-entry)."""
    links = [link("Station B", "own-id", "0", srv.url("/b/mantela.json"))]
    for i, path in enumerate(peers):
        links.append(link(f"Peer {i}", f"peer-{i}", f"90{i}", srv.url(path)))
        srv.route(path, peers[path])
    own = station("Station B", "own-id", providers=links)
    return srv.route("/b/mantela.json", Route(body=dumps(own), etag='"own1"'))


def test_peers_with_the_extension_become_stations_others_are_notes(
    srv: MantelaServer, tmp_path: Path
) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1", "node": "station-a"})
    c = station("Station C", C_ID)  # plain 0.1.x, no extension
    url = publish(srv, {"/a.json": Route(body=dumps(a)), "/c.json": Route(body=dumps(c))})
    res = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    assert [(s.name, s.ipv4, s.node, s.identifier, s.source) for s in res.stations] == [
        ("Station A", "100.101.1.1", "station-a", A_ID, "mantela")
    ]
    assert any("Station C" in n and "no aboutMe.tailnet" in n for n in res.notes)
    assert not res.stale
    # Our own hop self-entry (prefix 0) is not fetched as a peer.
    assert len(srv.hits("/b/mantela.json")) == 1


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (Route(body='{"version": "0.1.x", "aboutMe": {'), "not valid JSON at line 1"),
        (Route(body="x" * 100_000), "over the limit"),
        (Route(body="[]", send_length=False), "top"),
        (Route(body=dumps(station("S", "s")), delay=2.0), "no answer within 0.5 s"),
        (Route(body=" " * 4000, drip=0.01), "too slow"),
        (Route(status=404), "HTTP 404 Not Found"),
        (Route(status=500, body="oops"), "HTTP 500 server error"),
        (Route(status=302, location="/loop.json"), "redirect not followed"),
    ],
    ids=["malformed", "huge", "not-an-object", "slow", "drip", "404", "500", "redirect-loop"],
)
def test_broken_peer_files_are_reported_clearly_and_do_not_stop_the_others(
    srv: MantelaServer, tmp_path: Path, route: Route, expected: str
) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
    srv.route("/loop.json", Route(status=302, location="/loop.json"))
    url = publish(srv, {"/bad.json": route, "/a.json": Route(body=dumps(a))})
    res = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    assert [s.name for s in res.stations] == ["Station A"]
    bad = [n for n in res.notes if n.startswith("Peer 0:")]
    assert bad and expected in bad[0], res.notes
    assert "Peer 0" in res.unreachable


def test_redirects_are_followed(srv: MantelaServer, tmp_path: Path) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
    srv.route("/new/a.json", Route(body=dumps(a)))
    url = publish(srv, {"/old/a.json": Route(status=301, location="/new/a.json")})
    res = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    assert [s.ipv4 for s in res.stations] == ["100.101.1.1"]


def test_relative_peer_links_resolve_against_our_file(srv: MantelaServer, tmp_path: Path) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
    srv.route("/b/a.json", Route(body=dumps(a)))
    own = station("Station B", "own-id", providers=[link("A", A_ID, "901", "a.json")])
    url = srv.route("/b/mantela.json", Route(body=dumps(own)))
    assert len(load_mantela(url, state_dir=str(tmp_path), getter=fast()).stations) == 1


def test_conditional_requests_and_offline_cache(srv: MantelaServer, tmp_path: Path) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
    url = publish(
        srv,
        {"/a.json": Route(body=dumps(a), last_modified="Sat, 28 Nov 2026 05:00:00 GMT")},
    )
    first = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    second = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    assert first.stations == second.stations and not second.stale
    own_hits = srv.hits("/b/mantela.json")
    assert "If-None-Match" not in own_hits[0] and own_hits[1]["If-None-Match"] == '"own1"'
    assert srv.hits("/a.json")[1]["If-Modified-Since"] == "Sat, 28 Nov 2026 05:00:00 GMT"

    cache = tmp_path / "mantela-cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = list(cache.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)

    # The peer breaks: its last good copy is used and the source is marked stale.
    srv.route("/a.json", Route(status=500))
    third = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    assert [s.ipv4 for s in third.stations] == ["100.101.1.1"]
    assert third.stale and any("HTTP 500" in n and "cached" in n for n in third.notes)

    # A malformed new version does not replace the last good copy either.
    srv.route("/a.json", Route(body="{not json"))
    assert load_mantela(url, state_dir=str(tmp_path), getter=fast()).stations == first.stations


def test_whole_network_offline_uses_the_cache(tmp_path: Path) -> None:
    with MantelaServer() as srv:
        a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
        url = publish(srv, {"/a.json": Route(body=dumps(a))})
        online = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    offline = load_mantela(url, state_dir=str(tmp_path), getter=fast())
    assert offline.stations == online.stations and offline.stale


def test_own_file_unreachable_without_cache_is_a_clear_registry_error(
    srv: MantelaServer, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError) as e:
        load_mantela(srv.url("/missing.json"), state_dir=str(tmp_path), getter=fast())
    assert "HTTP 404" in str(e.value) and "registry.mantela_url" in str(e.value)


def test_unwritable_cache_is_a_note_not_a_failure(srv: MantelaServer, tmp_path: Path) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
    url = publish(srv, {"/a.json": Route(body=dumps(a))})
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state dir should be")
    res = load_mantela(url, state_dir=str(blocker), getter=fast())
    assert len(res.stations) == 1 and any("cannot write the Mantela cache" in n for n in res.notes)


def test_duplicate_names_get_stable_unique_names(srv: MantelaServer, tmp_path: Path) -> None:
    one = station("MikaNeTEL", "id-bbb", tailnet={"ipv4": "100.64.0.2"})
    two = station("MikaNeTEL", "id-aaa", tailnet={"ipv4": "100.64.0.1"})
    url = publish(srv, {"/1.json": Route(body=dumps(one)), "/2.json": Route(body=dumps(two))})
    names = {s.identifier: s.name for s in load_mantela(url, getter=fast()).stations}
    assert names == {"id-bbb": "MikaNeTEL [id-bbb]", "id-aaa": "MikaNeTEL [id-aaa]"}


def test_non_http_links_are_refused(srv: MantelaServer, tmp_path: Path) -> None:
    own = station("B", "own-id", providers=[link("Local", "x", "901", "file:///etc/passwd")])
    url = srv.route("/b/mantela.json", Route(body=dumps(own)))
    res = load_mantela(url, getter=fast())
    assert any("not an http(s) URL" in n for n in res.notes)


def test_cache_files_hold_no_request_secrets(srv: MantelaServer, tmp_path: Path) -> None:
    a = station("Station A", A_ID, tailnet={"ipv4": "100.101.1.1"})
    url = publish(srv, {"/a.json": Route(body=dumps(a))})
    load_mantela(url, state_dir=str(tmp_path), getter=fast())
    for f in (tmp_path / "mantela-cache").iterdir():
        d = json.loads(f.read_text())
        assert set(d) == {"url", "etag", "last_modified", "final_url", "saved_at", "body"}
    assert os.listdir(tmp_path) == ["mantela-cache"]
