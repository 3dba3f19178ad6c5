"""`sdp-guard check`, `snapshot`, `demo` and `config show` end to end through main(argv)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sdp_guard import demo
from sdp_guard.cli import main
from sdp_guard.demo import wire
from tests.fakes.localapi import LocalAPIServer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def demo_args(files: Any) -> list[str]:
    return ["--db", files.db, "--registry", files.registry, "--snapshot", files.snapshot]


def test_demo_shows_every_fault_code(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "demo", "--json")
    doc = json.loads(out)
    assert rc == 2 and doc["status"] == "critical" and doc["exit_code"] == 2
    got = {f["code"] for f in doc["findings"]}
    assert got >= {
        "host-differs-from-advertised",
        "peer-address-differs-from-advertised",
        "advertised-address-taken",
        "masqueraded-toward-peer",
        "tailnet-not-in-local-net",
    }


def test_check_json_contract(capsys: pytest.CaptureFixture[str], demo_files: Any) -> None:
    rc, out, err = run(capsys, "check", *demo_args(demo_files), "--json", "--lang", "en")
    doc = json.loads(out)
    assert rc == 2 and err == ""
    assert doc["schema_version"] == 1
    assert set(doc) >= {"findings", "providers", "tailnet", "summary", "sources", "checked_at"}
    stale = next(f for f in doc["findings"] if f["provider"] == "SIP-TRUNK-7B3D0E55")
    assert stale == stale | {
        "code": "host-differs-from-advertised",
        "severity": "critical",
        "station": "shibuya",
        "configured": "100.88.7.19",
        "advertised": "100.88.201.5",
        "observed": "100.88.201.5",
    }
    assert "sdp-guard sync" in stale["remedy"]
    assert set(stale["text"]) == {"en", "ja"}
    masq = next(f for f in doc["findings"] if f["code"] == "masqueraded-toward-peer")
    assert (masq["provider"], masq["masquerade"], masq["observed"]) == (
        "SIP-TRUNK-C81E2D07",
        "100.99.44.44",
        "100.70.10.2",
    )
    matched = {p["id"]: p["matched_by"] for p in doc["providers"]}
    assert matched == {
        "SIP-TRUNK-4F2A9C1E": "address",
        "SIP-TRUNK-7B3D0E55": "explicit",
        "SIP-TRUNK-C81E2D07": "address",
        "SIP-TRUNK-2D9E6A10": "explicit",
    }
    # The phone (type='peer') is not a provider.
    assert "SIP-PHONE-201" not in matched


def test_text_report_has_status_line_perfdata_and_remedies(
    capsys: pytest.CaptureFixture[str], demo_files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    rc, out, _ = run(capsys, "check", *demo_args(demo_files), "--lang", "en", "--color", "auto")
    first = out.splitlines()[0]
    assert rc == 2
    assert first.startswith("CRITICAL: 5 critical, 1 warning")
    assert "| critical=5;;1 warning=1;1" in first
    assert "\033[" not in out
    assert "Edit machine IPv4" in out and "sdp-guard sync" in out


def test_japanese_report(capsys: pytest.CaptureFixture[str], demo_files: Any) -> None:
    _, out, _ = run(capsys, "check", *demo_args(demo_files), "--lang", "ja", "--color", "never")
    assert "重大 5 件" in out and "対処:" in out and "管理コンソール" in out


def test_language_from_locale(
    capsys: pytest.CaptureFixture[str], demo_files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    _, out, _ = run(capsys, "check", *demo_args(demo_files), "--config", "/dev/null", "--json")
    assert json.loads(out)["lang"] == "ja"


def test_colour_only_when_asked_or_on_a_tty(
    capsys: pytest.CaptureFixture[str], demo_files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    _, out, _ = run(capsys, "check", *demo_args(demo_files), "--color", "always")
    assert "\033[1;31m" in out
    _, out, _ = run(capsys, "check", *demo_args(demo_files))  # captured: not a TTY
    assert "\033[" not in out


def test_healthy_station_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = demo.build(str(tmp_path))
    Path(files.registry).write_text(
        "stations:\n  - {name: kanda, ipv4: 100.101.12.34, node: kanda-pbx}\n"
    )
    import sqlite3

    conn = sqlite3.connect(files.db)
    conn.execute("DELETE FROM m_Sip WHERE uniqid <> 'SIP-TRUNK-4F2A9C1E'")
    conn.execute("UPDATE m_LanInterfaces SET topology='public'")
    conn.commit()
    conn.close()
    rc, out, _ = run(capsys, "check", *demo_args(files), "--lang", "en")
    assert rc == 0 and out.startswith("OK:")


@pytest.mark.parametrize(
    ("breakage", "needle"),
    [
        ("registry-syntax", "stations.yaml:3:1: did not find expected node content"),
        ("registry-range", "expected an IPv4 address in 100.64.0.0/10"),
        ("db-missing", "does not exist"),
        ("snapshot-garbage", "is not valid JSON"),
        ("snapshot-shape", "unexpected LocalAPI answer"),
    ],
)
def test_bad_input_is_exit_3_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], demo_files: Any, breakage: str, needle: str
) -> None:
    args = demo_args(demo_files)
    if breakage == "registry-syntax":
        Path(demo_files.registry).write_text("stations:\n  - name: [\n")
    elif breakage == "registry-range":
        Path(demo_files.registry).write_text("stations:\n  - {name: a, ipv4: 192.168.1.1}\n")
    elif breakage == "db-missing":
        os.unlink(demo_files.db)
    elif breakage == "snapshot-garbage":
        Path(demo_files.snapshot).write_text("{not json")
    elif breakage == "snapshot-shape":
        Path(demo_files.snapshot).write_text(
            json.dumps({"schema_version": 1, "status": {"BackendState": "Running"}})
        )
    rc, _, err = run(capsys, "check", *args)
    assert rc == 3
    assert needle in err
    assert "Traceback" not in err


def test_bad_input_with_json_still_prints_an_unknown_document(
    capsys: pytest.CaptureFixture[str], demo_files: Any
) -> None:
    os.unlink(demo_files.db)
    rc, out, err = run(capsys, "check", *demo_args(demo_files), "--json")
    assert rc == 3 and json.loads(out)["status"] == "unknown" and "does not exist" in err


def test_usage_error_is_unknown_for_monitoring(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "check", "--no-such-option")
    assert rc == 3 and "unrecognized arguments" in err


def test_live_check_and_snapshot_round_trip(
    capsys: pytest.CaptureFixture[str], demo_files: Any, tmp_path: Path
) -> None:
    snap = json.loads(Path(demo_files.snapshot).read_text())
    sock = str(tmp_path / "ts.sock")
    with LocalAPIServer(sock, snap["status"], snap["whois"]) as srv:
        base = [
            "--db",
            demo_files.db,
            "--registry",
            demo_files.registry,
            "--tailscale-socket",
            sock,
        ]
        rc, live, _ = run(capsys, "check", *base, "--json")
        out_file = tmp_path / "snap.json"
        assert run(capsys, "snapshot", "-o", str(out_file), *base)[0] == 0
        # Only peers that matter were asked about (not the NAS nobody trunks to).
        asked = sorted(r.split("=", 1)[1] for r in srv.requests if "whois" in r)
    assert rc == 2
    assert asked == sorted(["100.101.12.34", "100.88.201.5", "100.120.33.8", "100.65.20.20"] * 2)
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    rc2, offline, _ = run(
        capsys,
        "check",
        "--db",
        demo_files.db,
        "--registry",
        demo_files.registry,
        "--snapshot",
        str(out_file),
        "--json",
    )

    def strip(d: str) -> dict[str, Any]:
        return {k: v for k, v in json.loads(d).items() if k not in ("checked_at", "sources")}

    assert rc2 == rc and strip(offline) == strip(live)


def test_tailscaled_down_is_unknown_with_hint(
    capsys: pytest.CaptureFixture[str], demo_files: Any, tmp_path: Path
) -> None:
    rc, _, err = run(
        capsys,
        "check",
        "--db",
        demo_files.db,
        "--registry",
        demo_files.registry,
        "--tailscale-socket",
        str(tmp_path / "absent.sock"),
    )
    assert rc == 3 and "is tailscaled running?" in err


def test_config_file_and_show(
    capsys: pytest.CaptureFixture[str], demo_files: Any, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"mikopbx:\n  db: {demo_files.db}\nregistry:\n  file: {demo_files.registry}\nlang: ja\n"
    )
    rc, out, _ = run(capsys, "config", "show", "--config", str(cfg))
    assert rc == 0
    assert f'db: "{demo_files.db}"' in out and f"[from: {cfg}]" in out and "[from: default]" in out
    rc, out, _ = run(
        capsys, "check", "--config", str(cfg), "--snapshot", demo_files.snapshot, "--json"
    )
    assert rc == 2 and json.loads(out)["lang"] == "ja"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("colour: red\n", "unknown setting 'colour'"),
        ("daemon:\n  auto_sync: always\n", "expected one of off, hosts"),
        ("daemon:\n  recheck_seconds: -5\n", "expected a positive number"),
        ("lang: [\n", "config.yaml:2:"),
    ],
)
def test_bad_config_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, needle: str
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    rc, _, err = run(capsys, "config", "show", "--config", str(cfg))
    assert rc == os.EX_CONFIG and needle in err


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--help")[0] == 0
    rc, out, _ = run(capsys, "check", "--help")
    assert rc == 0 and "exit codes" in out and "masqueraded-toward-peer" in out


def test_module_entry_point() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sdp_guard", "--version"], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout.startswith("sdp-guard ")


def test_wire_builder_matches_fixture_keys() -> None:
    from tests.fixtures import fixture

    real = json.loads(fixture("tailscale", "status-sharer.json").read_text())
    built = wire.status(wire.Node("a", "100.101.1.1"), [wire.Node("b", "100.102.2.2")])
    assert set(real) >= set(built) - {"User"}
    real_peer = next(iter(real["Peer"].values()))
    built_peer = next(iter(built["Peer"].values()))
    assert set(built_peer) <= set(real_peer)
