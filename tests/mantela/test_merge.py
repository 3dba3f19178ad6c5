"""YAML registry entries override Mantela ones (identifier first, then name)."""

from __future__ import annotations

from pathlib import Path

from sdp_guard import config
from sdp_guard.adapters.registry import load_stations
from sdp_guard.core.mantela_doc import merge_stations
from sdp_guard.core.model import Station
from tests.fakes.mantela_http import MantelaServer, Route
from tests.mantela.docs import dumps, link, station


def m(name: str, ipv4: str, ident: str = "") -> Station:
    return Station(name=name, ipv4=ipv4, identifier=ident, source="mantela")


def test_yaml_wins_by_identifier_then_by_name() -> None:
    yaml_st = (
        Station(name="kanda", ipv4="100.101.12.34", identifier="id-k"),
        Station(name="Station C", ipv4="100.103.3.3"),
    )
    merged, notes = merge_stations(
        yaml_st,
        [
            m("Kanda (Mantela)", "100.64.0.1", "id-k"),
            m("station c", "100.103.3.3", "id-c"),
            m("New", "100.64.0.7", "id-n"),
        ],
    )
    assert [(s.name, s.ipv4, s.identifier, s.source) for s in merged] == [
        ("kanda", "100.101.12.34", "id-k", "yaml"),
        ("Station C", "100.103.3.3", "id-c", "yaml"),  # identifier learnt from Mantela
        ("New", "100.64.0.7", "id-n", "mantela"),
    ]
    assert notes == [
        "kanda: stations.yaml says 100.101.12.34, its Mantela file says 100.64.0.1; stations.yaml wins"
    ]


def test_same_name_different_identifiers_are_two_stations() -> None:
    merged, _ = merge_stations(
        [Station(name="yude", ipv4="100.64.0.1", identifier="id-1")],
        [m("yude", "100.64.0.2", "id-2")],
    )
    assert [s.name for s in merged] == ["yude", "yude [id-2]"]


def test_registry_load_stations_merges_yaml_and_mantela(tmp_path: Path) -> None:
    reg = tmp_path / "stations.yaml"
    reg.write_text("stations:\n  - name: Station C\n    ipv4: 100.103.3.3\n")
    with MantelaServer() as srv:
        a = station("Station A", "id-a", tailnet={"ipv4": "100.101.1.1", "node": "station-a"})
        c = station("Station C", "id-c", tailnet={"ipv4": "100.64.3.3"})
        own = station(
            "B",
            "id-b",
            providers=[
                link("A", "id-a", "901", srv.url("/a")),
                link("C", "id-c", "903", srv.url("/c")),
            ],
        )
        srv.route("/a", Route(body=dumps(a)))
        srv.route("/c", Route(body=dumps(c)))
        url = srv.route("/b", Route(body=dumps(own)))
        cfg = config.load(None).with_overrides(
            {"registry.file": str(reg), "registry.mantela_url": url, "state_dir": str(tmp_path)}
        )
        stations, detail = load_stations(cfg)
    assert {(s.name, s.ipv4, s.source) for s in stations} == {
        ("Station C", "100.103.3.3", "yaml"),
        ("Station A", "100.101.1.1", "mantela"),
    }
    assert "Mantela" in detail and "2 stations" in detail
