"""sync against the fake MikoPBX REST API: apply, both traps, CAS, rollback, failures, secrets."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.adapters.mikopbx_api import MikoPbxApi
from sdp_guard.cli import main
from sdp_guard.commands._inputs import load_config, load_inputs
from sdp_guard.core.diagnose import evaluate
from sdp_guard.core.plan import plan_sync
from sdp_guard.sync.backup import BackupStore
from sdp_guard.sync.engine import ApiSync
from tests.sync.conftest import host_of, provider_rows, sync_argv

SHIBUYA = "SIP-TRUNK-7B3D0E55"
UENO = "SIP-TRUNK-C81E2D07"
UENO_SECRET = "Hh4cV8pZs1QeN6tBw0Xa"  # inbound: MikoPBX's GET returns it in clear text


def note_of(db: str, pid: str) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(
            conn.execute("SELECT note FROM m_Providers WHERE uniqid = ?", (pid,)).fetchone()[0]
        )
    finally:
        conn.close()


def siphosts(db: str, pid: str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT address FROM m_SipHosts WHERE provider_id = ? ORDER BY id", (pid,)
            )
        ]
    finally:
        conn.close()


def test_sync_applies_keeps_note_and_second_run_plans_nothing(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = note_of(demo_files.db, SHIBUYA)
    rc = main(sync_argv(demo_files, fake.url, state_dir, "--yes"))
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "Plan: 1 provider to change" in out.out
    assert "-host: 100.88.7.19\n+host: 100.88.201.5" in out.out
    assert host_of(demo_files.db, SHIBUYA) == "100.88.201.5"
    assert siphosts(demo_files.db, SHIBUYA) == ["100.88.201.5"]
    assert note_of(demo_files.db, SHIBUYA) == note  # trap 1 avoided: note resent
    patches = [b for m, p, b in fake.requests if m == "PATCH"]
    assert patches and all("note" in b and "additionalHosts" in b for b in patches)

    rc = main(
        sync_argv(demo_files, fake.url, state_dir, "--yes", "--dry-run", "--detailed-exitcode")
    )
    assert rc == 0
    assert "Plan: 0 providers to change" in capsys.readouterr().out


def test_the_fake_has_both_traps(demo_files: Any, fake: Any) -> None:
    api = MikoPbxApi(fake.url)
    api.patch_provider(SHIBUYA, {"host": "100.88.201.5"})
    assert note_of(demo_files.db, SHIBUYA) == ""  # a PATCH without note erases it
    api.patch_provider(SHIBUYA, {"note": "x", "additionalHosts": [{"address": "10.9.9.9"}]})
    assert siphosts(demo_files.db, SHIBUYA) == ["10.9.9.9"]  # replaces, not appends


def test_dry_run_detailed_exitcode_and_json(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = provider_rows(demo_files.db)
    rc = main(
        sync_argv(demo_files, fake.url, state_dir, "--dry-run", "--detailed-exitcode", "--json")
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 2
    assert doc["plan"]["providers_to_change"] == [SHIBUYA]
    assert provider_rows(demo_files.db) == before
    assert not [r for r in fake.requests if r[0] != "GET"]


def test_non_interactive_without_yes_only_plans(
    demo_files: Any,
    fake: Any,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    before = provider_rows(demo_files.db)
    assert main(sync_argv(demo_files, fake.url, state_dir)) == 0
    assert "add --yes" in capsys.readouterr().err
    assert provider_rows(demo_files.db) == before


def _plan(demo_files: Any, **kw: bool) -> Any:
    import argparse

    ns = argparse.Namespace(
        config=None,
        db=demo_files.db,
        registry=demo_files.registry,
        snapshot=demo_files.snapshot,
        tailscale_socket=None,
        lang="en",
    )
    inputs = load_inputs(ns, load_config(ns))
    return plan_sync(inputs.pbx, evaluate(inputs.pbx, inputs.stations, inputs.view), **kw)


def test_concurrent_edit_is_not_overwritten(demo_files: Any, fake: Any, state_dir: Path) -> None:
    plan = _plan(demo_files, fallback_media_address=True)
    api = MikoPbxApi(fake.url)
    # The operator edits Shibuya in the UI after sdp-guard planned.
    api.patch_provider(
        SHIBUYA,
        {
            "note": "typed by the operator",
            "host": "100.88.1.1",
            "additionalHosts": [{"address": "100.88.7.19"}],
        },
    )
    out = ApiSync(api, BackupStore(str(state_dir)), plan).run()
    assert [p for p, _ in out.skipped] == [SHIBUYA]
    assert host_of(demo_files.db, SHIBUYA) == "100.88.1.1"
    assert note_of(demo_files.db, SHIBUYA) == "typed by the operator"
    assert out.verified == [UENO]  # the others still go through
    from sdp_guard.commands.sync import report_outcome
    from sdp_guard.errors import ConflictError

    with pytest.raises(ConflictError) as e:
        report_outcome(out, "en")
    assert e.value.exit_code == os.EX_TEMPFAIL


def test_rollback_restores_provider_rows_byte_identical(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = provider_rows(demo_files.db)
    assert (
        main(
            sync_argv(
                demo_files,
                fake.url,
                state_dir,
                "--yes",
                "--fallback",
                "media-address",
                "--fix-local-net",
            )
        )
        == 0
    )
    assert provider_rows(demo_files.db) != before
    assert main(["backups", "--state-dir", str(state_dir)]) == 0
    assert "committed" in capsys.readouterr().out
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", fake.url]) == 0
    assert provider_rows(demo_files.db) == before
    assert main(["backups", "--state-dir", str(state_dir), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["backups"][0]["status"] == "rolled_back"


def test_failure_mid_run_rolls_back_what_was_written(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = provider_rows(demo_files.db)
    fake.faults.fail_writes = [2]  # Shibuya's PATCH succeeds, Ueno's gets HTTP 500
    rc = main(sync_argv(demo_files, fake.url, state_dir, "--yes", "--fallback", "media-address"))
    err = capsys.readouterr().err
    assert rc == 1
    assert "HTTP 500" in err and "Rolled back: SIP-TRUNK-7B3D0E55." in err
    assert "Traceback" not in err
    assert provider_rows(demo_files.db) == before


def test_text_mikopbx_would_alter_is_never_sent(
    demo_files: Any, fake: Any, state_dir: Path
) -> None:
    """MikoPBX strips "on…=" up to the next ">" from manual attributes (mikopbx/Core#1029):
    sync predicts it, leaves that provider alone and names the line."""
    conn = sqlite3.connect(demo_files.db)
    import base64

    text = "[endpoint]\nconnected_line_method = invite\n"
    conn.execute(
        "UPDATE m_Sip SET manualattributes = ? WHERE uniqid = ?",
        (base64.b64encode(text.encode()).decode(), UENO),
    )
    conn.commit()
    conn.close()
    before = provider_rows(demo_files.db)
    plan = _plan(demo_files, fallback_media_address=True)
    assert UENO not in plan.provider_ids
    (w,) = [w for w in plan.waiting if w.provider == UENO]
    assert w.reason == "mikopbx-would-alter"
    assert "line 2 `connected_line_method = invite`" in w.detail and "--offline-db" in w.detail
    out = ApiSync(MikoPbxApi(fake.url), BackupStore(str(state_dir)), plan).run()
    assert out.ok and UENO not in out.written
    assert not [p for m, p, _ in fake.requests if m == "PATCH" and p.endswith(UENO)]
    ueno = [r for r in provider_rows(demo_files.db)["m_Sip"] if UENO in r]
    assert ueno == [r for r in before["m_Sip"] if UENO in r]


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.mark.parametrize(
    ("setup", "expected", "rc"),
    [
        ("down", "MikoPBX REST API is not reachable", 69),
        ("reset", "MikoPBX REST API is not reachable", 69),
        ("401", "MikoPBX refused the request (HTTP 401)", 69),
        ("503", "MikoPBX failed with HTTP 503", 69),
        ("404", "MikoPBX has no such API endpoint (HTTP 404)", 69),
    ],
)
def test_api_problems_give_clear_messages(
    demo_files: Any,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    expected: str,
    rc: int,
) -> None:
    from tests.fakes.mikopbx_api import running_server

    with running_server(demo_files.db, trust_localhost=setup != "401", token="t0k3n") as srv:
        url = srv.url
        if setup == "down":
            url = f"http://127.0.0.1:{_closed_port()}"
        elif setup == "reset":
            srv.faults.down = True
        elif setup == "503":
            srv.faults.status = 503
        elif setup == "404":
            url = srv.url + "/wrong-prefix"
        got = main(sync_argv(demo_files, url, state_dir, "--yes"))
    err = capsys.readouterr().err
    assert got == rc
    assert expected in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_secrets_never_printed_logged_or_world_readable(
    demo_files: Any,
    tmp_path: Path,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.fakes.mikopbx_api import running_server

    token = "sk-very-secret-token-123"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o644)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"mikopbx:\n  api_token_file: {token_file}\n")
    caplog.set_level(logging.DEBUG)
    with running_server(demo_files.db, token=token, trust_localhost=False) as srv:
        argv = [
            "-vv",
            *sync_argv(
                demo_files,
                srv.url,
                state_dir,
                "--yes",
                "--fallback",
                "media-address",
                "--config",
                str(cfg),
            ),
        ]
        assert main(argv) == 78  # a token file others can read is refused
        token_file.chmod(0o600)
        assert main(argv) == 0
        assert any(h == "PATCH" for h, _, _ in srv.requests)
    out = capsys.readouterr()
    texts = [out.out, out.err, caplog.text]
    files = list((state_dir / "backups").iterdir())
    assert files
    assert stat.S_IMODE((state_dir / "backups").stat().st_mode) == 0o700
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        texts.append(f.read_text())
    for t in texts:
        assert token not in t
        assert UENO_SECRET not in t
        assert "Wq7nT3vYpL2xR9sK4mJd" not in t


def test_a_second_sync_waits_for_the_lock(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sdp_guard.sync.backup import sync_lock

    with sync_lock(str(state_dir)):
        rc = main(sync_argv(demo_files, fake.url, state_dir, "--yes"))
    assert rc == os.EX_TEMPFAIL
    assert "another sdp-guard sync" in capsys.readouterr().err
    assert host_of(demo_files.db, SHIBUYA) == "100.88.7.19"


def test_fix_local_net_needs_yes_and_adds_a_restricted_filter(
    demo_files: Any,
    fake: Any,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    rc = main(sync_argv(demo_files, fake.url, state_dir, "--fix-local-net"))
    assert rc == os.EX_USAGE
    assert "calls drop" in capsys.readouterr().err
    assert main(sync_argv(demo_files, fake.url, state_dir, "--fix-local-net", "--yes")) == 0
    posts = [b for m, p, b in fake.requests if m == "POST" and p.endswith("/firewall")]
    assert posts and posts[0]["local_network"] is True and posts[0]["currentRules"]["WEB"] is False
    conn = sqlite3.connect(demo_files.db)
    rows = conn.execute("SELECT permit, local_network FROM m_NetworkFilters").fetchall()
    conn.close()
    assert ("100.64.0.0/10", "1") in rows


def test_offline_db_refuses_while_the_api_answers_and_works_when_stopped(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full_before = _all_rows(demo_files.db)
    rc = main(sync_argv(demo_files, fake.url, state_dir, "--yes", "--offline-db"))
    assert rc == os.EX_USAGE
    assert "only for a stopped MikoPBX" in capsys.readouterr().err
    down = f"http://127.0.0.1:{_closed_port()}"
    assert (
        main(
            sync_argv(
                demo_files, down, state_dir, "--yes", "--offline-db", "--fallback", "media-address"
            )
        )
        == 0
    )
    assert host_of(demo_files.db, SHIBUYA) == "100.88.201.5"
    copies = list((state_dir / "backups").glob("*.db"))
    assert len(copies) == 1 and stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    assert (
        main(
            sync_argv(
                demo_files,
                down,
                state_dir,
                "--dry-run",
                "--detailed-exitcode",
                "--fallback",
                "media-address",
            )
        )
        == 0
    )
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", down]) == 0
    assert _all_rows(demo_files.db) == full_before  # row ids included


def _all_rows(db: str) -> dict[str, list[Any]]:
    conn = sqlite3.connect(db)
    try:
        return {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            for t in ("m_Providers", "m_Sip", "m_SipHosts", "m_NetworkFilters")
        }
    finally:
        conn.close()
