"""``advertise --check`` and the daemon: does our *published* mantela.json still carry our address?

tkytel/mantela-editor (@ 30d4f46e618e3413042c2683534a3e2455b0aaf2) parses a file with zod
``z.object`` schemas (src/types/mantela.ts l.24-72) and keeps the parsed result
(src/components/Json.tsx l.45-55); zod objects strip keys they do not declare (zod's documented
default), so a file saved there loses ``aboutMe.tailnet``. ``editor_save`` below reproduces that
effect on a document: only the keys those schemas declare survive.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.cli import main
from tests.fakes.mantela_http import MantelaServer, Route
from tests.fixtures import fixture
from tests.mantela.docs import EXAMPLE, dumps

OURS = "100.101.1.1"  # Self in tests/fixtures/tailscale/status-sharer.json

# The keys each schema of the editor declares (src/types/mantela.ts l.24-72).
_GEO = {"accuracy", "altitude", "altitudeAccuracy", "latitude", "longitude"}
_ABOUT = {
    "geolocationCoordinates",
    "identifier",
    "image",
    "name",
    "preferredPrefix",
    "sipPassword",
    "sipPort",
    "sipServer",
    "sipUri",
    "sipUsername",
    "unavailable",
}
_EXT = {
    "extension",
    "geolocationCoordinates",
    "identifier",
    "image",
    "model",
    "name",
    "transferTo",
    "type",
    "unavailable",
}
_PROV = {"identifier", "mantela", "name", "prefix", "unavailable"}
_TOP = {"$schema", "aboutMe", "extensions", "providers", "version"}


def editor_save(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as the Mantela editor writes it back: undeclared keys stripped."""

    def keep(obj: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in obj.items() if k in keys}
        if isinstance(out.get("geolocationCoordinates"), dict):
            out["geolocationCoordinates"] = keep(out["geolocationCoordinates"], _GEO)
        return out

    out = keep(doc, _TOP)
    out["aboutMe"] = keep(doc["aboutMe"], _ABOUT)
    out["extensions"] = [keep(e, _EXT) for e in doc.get("extensions", [])]
    out["providers"] = [keep(p, _PROV) for p in doc.get("providers", [])]
    return out


def _snapshot(tmp_path: Path) -> str:
    status = json.loads(fixture("tailscale", "status-sharer.json").read_text())
    p = tmp_path / "snap.json"
    p.write_text(json.dumps({"schema_version": 1, "status": status, "whois": {}}))
    return str(p)


def _published(tailnet: dict[str, Any] | None) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    if tailnet is not None:
        doc["aboutMe"]["tailnet"] = tailnet
    return doc


def _check(tmp_path: Path, doc: dict[str, Any] | str, *extra: str) -> tuple[int, str]:
    body = doc if isinstance(doc, str) else dumps(doc)
    with MantelaServer() as srv:
        url = srv.route("/mantela.json", Route(body=body))
        rc = main(["advertise", "--snapshot", _snapshot(tmp_path), "--check", "--url", url, *extra])
    return rc, url


def test_check_passes_while_the_published_file_carries_our_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, url = _check(tmp_path, _published({"ipv4": OURS, "node": "station-a"}), "--lang", "en")
    assert rc == 0
    assert f"{url}: aboutMe.tailnet.ipv4 is {OURS}" in capsys.readouterr().out


def test_check_reports_a_file_saved_in_the_mantela_editor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = editor_save(_published({"ipv4": OURS, "node": "station-a"}))
    assert "tailnet" not in saved["aboutMe"] and saved["aboutMe"]["name"]  # what the editor does
    rc, _ = _check(tmp_path, saved, "--lang", "en")
    out = capsys.readouterr().out
    assert rc == 1
    assert "has no aboutMe.tailnet" in out and "Mantela editor" in out
    assert "sdp-guard advertise --mantela FILE" in out
    rc, _ = _check(tmp_path, saved, "--lang", "ja")
    assert rc == 1 and "Mantela エディタ" in capsys.readouterr().out


def test_check_reports_another_or_an_unusable_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _ = _check(tmp_path, _published({"ipv4": "100.101.9.9"}), "--lang", "en")
    assert rc == 1
    assert f"is 100.101.9.9, but our node's address is {OURS}" in capsys.readouterr().out
    rc, _ = _check(tmp_path, _published({"ipv4": "10.0.0.1\x1b[2J"}), "--lang", "en")
    out = capsys.readouterr().out
    assert rc == 1 and "unusable" in out and "\x1b" not in out


def test_check_without_a_url_or_a_reachable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advertise", "--snapshot", _snapshot(tmp_path), "--check"]) == 64
    assert "--check needs the URL" in capsys.readouterr().err
    rc = main(
        [
            "advertise",
            "--snapshot",
            _snapshot(tmp_path),
            "--check",
            "--url",
            "http://127.0.0.1:9/mantela.json",
        ]
    )
    assert rc == 69
