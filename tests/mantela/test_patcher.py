"""``advertise --mantela``: only aboutMe.tailnet changes; layout, key order and bytes elsewhere stay."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdp_guard.cli import main
from sdp_guard.core.json_patch import PatchError, patch_text
from tests.fixtures import fixture
from tests.mantela.docs import EXAMPLE, dumps

EXT = {"ipv4": "100.101.1.1", "node": "station-a", "updated": "2026-11-28"}

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def set_extension(doc: Mapping[str, Any], ext: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed-document view of what patch_text must produce."""
    out = dict(doc)
    about = dict(out["aboutMe"])
    about["tailnet"] = dict(ext)
    out["aboutMe"] = about
    return out


@st.composite
def mantela_docs(draw: Any) -> dict[str, Any]:
    """Valid 0.1.x documents with arbitrary extra keys, orders and Unicode."""
    about: dict[str, Any] = {
        "name": draw(st.text(max_size=12)),
        "preferredPrefix": draw(
            st.text("0123456789", max_size=4) | st.lists(st.text("0123456789"))
        ),
        "identifier": draw(
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)
        ),
    }
    about.update(draw(st.dictionaries(st.text(max_size=8), _json, max_size=3)))
    if draw(st.booleans()):
        about["tailnet"] = {"ipv4": "100.64.0.9", "updated": "2025-01-01"}
    items = list(about.items())
    order = draw(st.permutations(range(len(items))))
    top: dict[str, Any] = {
        "version": "0.1.x",
        "aboutMe": {items[i][0]: items[i][1] for i in order},
        "extensions": draw(
            st.lists(st.dictionaries(st.text(max_size=5), _json, max_size=2), max_size=2)
        ),
        "providers": draw(
            st.lists(st.dictionaries(st.text(max_size=5), _json, max_size=2), max_size=2)
        ),
    }
    top.update(draw(st.dictionaries(st.text(max_size=8), _json, max_size=2)))
    top["aboutMe"] = top.get("aboutMe") if isinstance(top.get("aboutMe"), dict) else about
    keys = list(top)
    return {k: top[k] for k in draw(st.permutations(keys))}


STYLES = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 1, 2, 4, "\t"]),
        "ensure_ascii": st.booleans(),
        "compact": st.booleans(),
    }
)


def _dump(doc: Any, style: dict[str, Any]) -> str:
    seps = (",", ":") if style["compact"] else None
    if style["indent"] is not None and seps:
        seps = (",", ":")
    return json.dumps(
        doc, indent=style["indent"], ensure_ascii=style["ensure_ascii"], separators=seps
    )


def _orders(x: Any) -> Any:
    if isinstance(x, dict):
        return [(k, _orders(v)) for k, v in x.items()]
    if isinstance(x, list):
        return [_orders(v) for v in x]
    return x


@settings(max_examples=300, deadline=None)
@given(mantela_docs(), STYLES, st.sampled_from(["", "\n", "\r\n"]))
def test_only_the_extension_changes(doc: dict[str, Any], style: dict[str, Any], end: str) -> None:
    text = _dump(doc, style) + end
    new = patch_text(text, EXT)
    expected = set_extension(doc, EXT)
    # 1. Parsed: equal to the old document with only aboutMe.tailnet set, key order included.
    assert _orders(json.loads(new)) == _orders(expected)
    # 2. Bytes: exactly what the file's own conventions (indent, separators, ensure_ascii,
    #    trailing newline) produce for the new document.
    assert new == _dump(expected, style) + end
    # 3. Idempotent.
    assert patch_text(new, EXT) == new


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["\n", "\r\n"]), st.sampled_from(["  ", "    ", "\t"]))
def test_hand_formatted_files_change_in_one_place_only(nl: str, ind: str) -> None:
    # Irregular layout written by hand: odd spacing, inline arrays, CRLF, non-ASCII kept raw.
    text = (
        f'{{{nl}{ind}"$schema" : "https://tkytel.github.io/mantela/0.1.x/mantela.schema.json",{nl}'
        f'{ind}"version": "0.1.x",{nl}{ind}"aboutMe": {{{nl}{ind}{ind}"name": "東京局",{nl}'
        f'{ind}{ind}"preferredPrefix": [ "0150", "150" ],{nl}'
        f'{ind}{ind}"identifier": "b0ce607e"{nl}{ind}}},{nl}'
        f'{ind}"extensions": [], "providers": []{nl}}}{nl}'
    )
    new = patch_text(text, EXT)
    prefix = _common(text, new)
    suffix = _common(text[::-1], new[::-1])
    assert len(prefix) + len(suffix) >= len(text)  # one contiguous insertion
    inserted = new[len(prefix) : len(new) - len(suffix)]
    assert inserted.startswith(",") and f'{nl}{ind}{ind}"tailnet"' in inserted
    assert "\n" not in inserted.replace("\r\n", "") if nl == "\r\n" else True
    assert json.loads(new)["aboutMe"]["tailnet"] == EXT
    assert "東京局" in new


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def test_bad_input_is_refused() -> None:
    with pytest.raises(PatchError, match="not valid JSON"):
        patch_text("{", EXT)
    with pytest.raises(PatchError, match="no aboutMe"):
        patch_text('{"version": "0.1.x"}', EXT)


def _snapshot(tmp_path: Path) -> Path:
    status = json.loads(fixture("tailscale", "status-sharer.json").read_text())
    p = tmp_path / "snap.json"
    p.write_text(json.dumps({"schema_version": 1, "status": status, "whois": {}}))
    return p


def test_advertise_patches_the_file_atomically_with_a_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "mantela.json"
    original = dumps(EXAMPLE)
    f.write_text(original)
    f.chmod(0o644)
    rc = main(
        ["advertise", "--snapshot", str(_snapshot(tmp_path)), "--mantela", str(f), "--lang", "en"]
    )
    assert rc == 0
    doc = json.loads(f.read_text())
    tn = doc["aboutMe"]["tailnet"]
    assert (tn["ipv4"], tn["node"], tn["ipv6"]) == (
        "100.101.1.1",
        "station-a",
        "fd7a:115c:a1e0::1a01",
    )
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    backups = list(tmp_path.glob("mantela.json.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == original
    assert "backup" in capsys.readouterr().out
    # Second run: nothing to do, no second backup, file untouched.
    before = f.read_text()
    assert main(["advertise", "--snapshot", str(_snapshot(tmp_path)), "--mantela", str(f)]) == 0
    assert f.read_text() == before and len(list(tmp_path.glob("*.bak"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_advertise_dry_run_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "mantela.json"
    f.write_text(dumps(EXAMPLE))
    rc = main(
        ["advertise", "--snapshot", str(_snapshot(tmp_path)), "--mantela", str(f), "--dry-run"]
    )
    assert rc == 0 and f.read_text() == dumps(EXAMPLE) and not list(tmp_path.glob("*.bak"))
    assert '+    "tailnet": {' in capsys.readouterr().out


def test_advertise_refuses_another_stations_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "mantela.json"
    f.write_text(dumps(EXAMPLE))
    rc = main(
        [
            "advertise",
            "--snapshot",
            str(_snapshot(tmp_path)),
            "--mantela",
            str(f),
            "--identifier",
            "nope",
        ]
    )
    assert rc == os.EX_USAGE and f.read_text() == dumps(EXAMPLE)
    assert "belongs to" in capsys.readouterr().err


def test_advertise_prints_the_extension_and_yaml_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from sdp_guard.adapters.registry import parse_registry
    from sdp_guard.core.mantela_ext import validate_tailnet

    snap = str(_snapshot(tmp_path))
    assert main(["advertise", "--snapshot", snap]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert validate_tailnet(obj) == [] and obj["ipv4"] == "100.101.1.1"
    assert (
        main(
            [
                "advertise",
                "--snapshot",
                snap,
                "--yaml",
                "--name",
                "Station A",
                "--identifier",
                "id-a",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    doc = yaml.safe_load("stations:\n" + out)
    (st_a,) = parse_registry(yaml.safe_dump(doc))
    assert (st_a.name, st_a.ipv4, st_a.node, st_a.identifier) == (
        "Station A",
        "100.101.1.1",
        "station-a",
        "id-a",
    )


def test_advertise_warns_about_published_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(dumps(EXAMPLE))
    doc["aboutMe"]["sipPassword"] = "hunter2"
    f = tmp_path / "mantela.json"
    f.write_text(dumps(doc))
    assert (
        main(
            [
                "advertise",
                "--snapshot",
                str(_snapshot(tmp_path)),
                "--mantela",
                str(f),
                "--lang",
                "ja",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "sipPassword" in err and "hunter2" not in err
