"""Fuzz targets for answers read over a socket: tailscaled's LocalAPI (status, whois), the MikoPBX
REST API and Mantela files over HTTP. A raw server sends generated HTTP answers, malformed ones
included (bad status line, too many or huge headers, broken chunking, short or long bodies); the
client must return or raise its own clear error, within its deadline and a bounded memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from sdp_guard.errors import ApiError, TailnetError
from tests.fuzz.budget import Budget, fuzz_settings
from tests.fuzz.rawserver import RawServer
from tests.fuzz.strategies import http_answers, json_document


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sdp_guard import demo

    return demo.build(str(tmp_path_factory.mktemp("fuzz-wire")))


def test_localapi_status_and_whois_answers(station: Any, tmp_path: Path) -> None:
    from sdp_guard.adapters.inputs import read_tailnet
    from sdp_guard.adapters.localapi import LocalAPI
    from sdp_guard.adapters.mikopbx_db import read_pbx
    from sdp_guard.adapters.registry import load_registry

    snap = json.loads(Path(station.snapshot).read_text(encoding="utf-8"))
    whois = next(iter(snap["whois"].values()))
    pbx, stations = read_pbx(station.db), load_registry(station.registry)
    with RawServer.unix(str(tmp_path / "ts.sock")) as srv, Budget("LocalAPI status/whois") as b:
        api = LocalAPI(str(tmp_path / "ts.sock"), timeout=2.0)

        @fuzz_settings()
        @given(
            status=http_answers(json_document(snap["status"])),
            whois=http_answers(json_document(whois)),
        )
        def case(status: bytes, whois: bytes) -> None:
            srv.replies = {b"/status": status, b"/whois": whois}
            with b.case():
                try:
                    read_tailnet(api.status(), api.whois, pbx, stations)
                    b.outcome("view")
                except TailnetError:
                    b.outcome("TailnetError")

        case()
        b.done()


PROVIDER = {
    "id": "SIP-TRUNK-7B3D0E55",
    "uniqid": "SIP-TRUNK-7B3D0E55",
    "type": "sip",
    "description": "Shibuya",
    "host": "100.88.7.19",
    "disabled": False,
    "additionalHosts": [{"address": "100.88.7.19"}],
}
ENVELOPE = {
    "result": True,
    "data": [PROVIDER, {**PROVIDER, "id": "SIP-TRUNK-4F2A9C1E"}],
    "messages": {"error": []},
    "function": "getList",
    "processor": "ProvidersManagementProcessor",
    "pid": 1234,
}


def test_mikopbx_api_answers() -> None:
    from sdp_guard.adapters.mikopbx_api import MikoPbxApi

    error = {**ENVELOPE, "result": False, "messages": {"error": ["\x1b[2Jno\nforged line"]}}
    bodies = json_document(ENVELOPE) | json_document(error)
    with RawServer.tcp() as srv, Budget("MikoPBX API answers") as b:
        api = MikoPbxApi(srv.url, timeout=2.0, deadline=4.0)

        @fuzz_settings()
        @given(answer=http_answers(bodies))
        def case(answer: bytes) -> None:
            srv.reply = answer
            with b.case():
                try:
                    api.list_providers()
                    b.outcome("list")
                except ApiError as e:
                    b.outcome("ApiError")
                    assert "\x1b" not in e.message and "\n" not in e.message

        case()
        b.done()


def test_mantela_http_answers() -> None:
    from sdp_guard.adapters.mantela_http import Fetched, UrllibGetter, fetch_document
    from tests.mantela.docs import station as mantela_station

    doc = mantela_station("Shibuya", "peer-1", tailnet={"ipv4": "100.88.201.5", "node": "s"})
    with RawServer.tcp() as srv, Budget("Mantela over HTTP") as b:
        getter = UrllibGetter(timeout=2.0, deadline=4.0, max_bytes=256 * 1024)

        @fuzz_settings()
        @given(answer=http_answers(json_document(doc)))
        def case(answer: bytes) -> None:
            srv.reply = answer
            with b.case():
                got = fetch_document(srv.url + "/mantela.json", getter, None)
            assert isinstance(got, Fetched)
            b.outcome("read" if got.doc is not None else "error noted")

        case()
        b.done()
