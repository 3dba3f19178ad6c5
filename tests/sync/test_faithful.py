"""sync against a test server that does what MikoPBX 2026.1 does (issue 13).

Each test here failed against the code before its fix; the rules of the test server they rely
on are cited in ``tests/fakes/mikopbx_api.py`` (R1-R21).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.adapters.mikopbx_api import MikoPbxApi
from sdp_guard.cli import main
from tests.sync.conftest import provider_rows, sync_argv


def filters(db: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT permit, local_network, description FROM m_NetworkFilters ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def rule_actions(db: str, permit: str) -> dict[str, set[str]]:
    conn = sqlite3.connect(db)
    try:
        out: dict[str, set[str]] = {}
        for cat, action in conn.execute(
            "SELECT r.category, r.action FROM m_FirewallRules r JOIN m_NetworkFilters f "
            "ON f.id = r.networkfilterid WHERE f.permit = ?",
            (permit,),
        ):
            out.setdefault(cat, set()).add(action)
        return out
    finally:
        conn.close()


# ------------------------------------------------------------------ defect 1: firewall list


def test_fix_local_net_works_with_the_real_firewall_list_and_rolls_back(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GET /firewall answers {items: [...], total, ...} with an unsaved default (id '')."""
    before = provider_rows(demo_files.db)
    rc = main(sync_argv(demo_files, fake.url, state_dir, "--fix-local-net", "--yes"))
    assert rc == 0, capsys.readouterr().err
    assert ("100.64.0.0/10", "1", "Tailscale tailnet (added by sdp-guard)") in filters(
        demo_files.db
    )
    # The rows MikoPBX's own save created: only SIP/RTP and ICMP open to the tailnet.
    actions = rule_actions(demo_files.db, "100.64.0.0/10")
    assert actions["SIP"] == {"allow"} and actions["ICMP"] == {"allow"}
    assert all(actions[c] == {"block"} for c in ("WEB", "SSH", "AMI", "AJAM", "IAX"))
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", fake.url]) == 0
    assert provider_rows(demo_files.db) == before
    assert rule_actions(demo_files.db, "100.64.0.0/10") == {}


def test_an_existing_tailnet_filter_is_enabled_and_rollback_disables_it(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(demo_files.db)
    conn.execute(
        "INSERT INTO m_NetworkFilters (permit, deny, newer_block_ip, local_network, description,"
        " priority) VALUES ('100.64.0.0/10', '0.0.0.0/0', '0', '0', 'tailnet', '1')"
    )
    conn.commit()
    conn.close()
    assert main(sync_argv(demo_files, fake.url, state_dir, "--fix-local-net", "--yes")) == 0
    assert filters(demo_files.db) == [("100.64.0.0/10", "1", "tailnet")]
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", fake.url]) == 0
    assert filters(demo_files.db) == [("100.64.0.0/10", "0", "tailnet")]


def test_the_firewall_list_skips_unsaved_defaults_and_reads_string_flags(
    demo_files: Any, fake: Any
) -> None:
    conn = sqlite3.connect(demo_files.db)
    conn.execute(
        "INSERT INTO m_NetworkFilters (permit, deny, local_network, description) "
        "VALUES ('100.64.0.0/10', '0.0.0.0/0', '1', 'tailnet')"
    )
    conn.commit()
    conn.close()
    api = MikoPbxApi(fake.url)
    raw = api.request("GET", "/pbxcore/api/v3/firewall")
    assert [i["id"] for i in raw["items"]] == ["1", ""]  # the real shape, with a default
    got = api.list_filters()
    assert [(f["id"], f["permit"], f["local_network"]) for f in got] == [
        ("1", "100.64.0.0/10", True)
    ]
    fake.faults.legacy_firewall_list = True  # builds that answered a bare list
    assert [f["id"] for f in api.list_filters()] == ["1"]
    assert json.dumps(got)  # plain JSON for the backup journal


# ------------------------------------------------------------------ defect 4: any exception


class _BrokenOnSecondWrite(MikoPbxApi):
    """A client whose second PATCH dies of a bug (not an ApiError, not OSError)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.patches = 0

    def patch_provider(self, provider_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.patches += 1
        if self.patches == 2:
            raise RuntimeError("boom in the middle of a sync")
        return super().patch_provider(provider_id, body)


def test_any_exception_mid_sync_rolls_back_and_is_re_raised(
    demo_files: Any, fake: Any, state_dir: Path
) -> None:
    from sdp_guard.sync.backup import BackupStore
    from sdp_guard.sync.engine import ApiSync
    from tests.sync.test_apply import _plan

    before = provider_rows(demo_files.db)
    plan = _plan(demo_files, fallback_media_address=True)
    assert len(plan.provider_ids) >= 2
    api = _BrokenOnSecondWrite(fake.url)
    sync = ApiSync(api, BackupStore(str(state_dir)), plan)
    with pytest.raises(RuntimeError, match="boom"):
        sync.run()
    assert provider_rows(demo_files.db) == before  # the first write was undone
    assert sync.outcome.rolled_back == [plan.provider_ids[0]]
    (journal,) = (state_dir / "backups").glob("*.json")
    assert json.loads(journal.read_text())["status"] == "rolled_back"


def test_api_errors_are_classified_by_type(demo_files: Any, fake: Any) -> None:
    from sdp_guard.adapters import mikopbx_api as m

    api = MikoPbxApi(fake.url)
    with pytest.raises(m.ApiRejected):
        api.get_provider("SIP-TRUNK-NOPE")
    fake.faults.status = 503
    with pytest.raises(m.ApiServerError):
        api.list_providers()
    assert api.answers()
    fake.faults.status = None
    fake.faults.down = True
    with pytest.raises(m.ApiUnreachable):
        api.list_providers()
    assert not api.answers()


# ------------------------------------------------------------------ defect 3: late PATCH


def _journal(state_dir: Path) -> dict[str, Any]:
    (journal,) = (state_dir / "backups").glob("*.json")
    doc: dict[str, Any] = json.loads(journal.read_text())
    return doc


def test_a_patch_that_lands_after_the_client_timed_out_is_recorded_as_written(
    demo_files: Any, fake: Any, state_dir: Path
) -> None:
    from sdp_guard.sync.backup import BackupStore
    from sdp_guard.sync.engine import ApiSync
    from tests.sync.test_apply import _plan

    before = provider_rows(demo_files.db)
    plan = _plan(demo_files)
    (pid,) = plan.provider_ids
    fake.faults.late_writes = [1]
    fake.faults.late_seconds = 1.0
    out = ApiSync(MikoPbxApi(fake.url, timeout=0.3), BackupStore(str(state_dir)), plan).run()
    assert out.error == "" and out.written == [pid] and out.verified == [pid]
    assert provider_rows(demo_files.db) != before
    assert _journal(state_dir)["providers"][pid]["state"] == "verified"
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", fake.url]) == 0
    assert provider_rows(demo_files.db) == before


def test_a_patch_that_lands_even_later_stays_restorable(
    demo_files: Any, fake: Any, state_dir: Path
) -> None:
    import time

    from sdp_guard.sync.backup import BackupStore
    from sdp_guard.sync.engine import ApiSync
    from tests.sync.test_apply import _plan

    before = provider_rows(demo_files.db)
    plan = _plan(demo_files)
    (pid,) = plan.provider_ids
    fake.faults.late_writes = [1]
    fake.faults.late_seconds = 1.2
    sync = ApiSync(MikoPbxApi(fake.url, timeout=0.2), BackupStore(str(state_dir)), plan)
    sync.settle = 0.3
    out = sync.run()
    assert "did not answer" in out.error
    assert [p for p, _ in out.rollback_failed] == [pid]  # not "rolled back", not "not written"
    assert _journal(state_dir)["providers"][pid]["state"] == "unknown"
    deadline = time.monotonic() + 10
    while provider_rows(demo_files.db) == before:  # the write lands
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", fake.url]) == 0
    assert provider_rows(demo_files.db) == before


# ------------------------------------------------------------------ defect 5: disabled providers


def test_disabled_providers_are_left_alone_unless_included(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.sync.test_apply import _plan

    (pid,) = _plan(demo_files).provider_ids
    conn = sqlite3.connect(demo_files.db)
    conn.execute("UPDATE m_Sip SET disabled = '1' WHERE uniqid = ?", (pid,))
    conn.commit()
    conn.close()
    before = provider_rows(demo_files.db)
    assert main(sync_argv(demo_files, fake.url, state_dir, "--yes")) == 0
    out = capsys.readouterr().out
    assert provider_rows(demo_files.db) == before
    assert not [r for r in fake.requests if r[0] != "GET"]
    assert "Plan: 0 providers to change" in out
    assert f"{pid}" in out and "disabled in MikoPBX" in out and "--include-disabled" in out

    assert main(sync_argv(demo_files, fake.url, state_dir, "--yes", "--include-disabled")) == 0
    out = capsys.readouterr().out
    assert "[disabled in MikoPBX]" in out and "1 disabled in MikoPBX" in out
    assert provider_rows(demo_files.db) != before


# ------------------------------------------------------------------ defect 2: the sanitizer


def _set_note(db: str, pid: str, note: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE m_Providers SET note = ? WHERE uniqid = ?", (note, pid))
    conn.commit()
    conn.close()


def _closed_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def test_a_note_mikopbx_would_eat_is_not_resent_and_offline_db_keeps_it(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.sync.test_apply import _plan

    (pid,) = _plan(demo_files).provider_ids
    note = "Shibuya GW\nneeds rewrite_contact = yes on their side\nowner: Sato <sato@example.jp>"
    _set_note(demo_files.db, pid, note)
    before = provider_rows(demo_files.db)
    assert main(sync_argv(demo_files, fake.url, state_dir, "--yes")) == 0
    out = capsys.readouterr().out
    assert provider_rows(demo_files.db) == before  # nothing sent, the note is intact
    assert not [r for r in fake.requests if r[0] == "PATCH"]
    assert "MikoPBX's API would alter its text" in out
    assert "note line 2 `needs rewrite_contact = yes on their side`" in out
    assert "line 3 `owner: Sato <sato@example.jp>`" in out  # eaten up to the ">"
    assert "--offline-db" in out
    # The way that keeps it: MikoPBX stopped, the DB written directly.
    rc = main(sync_argv(demo_files, _closed_url(), state_dir, "--yes", "--offline-db"))
    assert rc == 0
    conn = sqlite3.connect(demo_files.db)
    got = conn.execute("SELECT note FROM m_Providers WHERE uniqid = ?", (pid,)).fetchone()[0]
    conn.close()
    assert got == note and provider_rows(demo_files.db) != before


def test_a_note_mikopbx_would_refuse_is_not_sent(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.sync.test_apply import _plan

    (pid,) = _plan(demo_files).provider_ids
    _set_note(demo_files.db, pid, "update the trunk and set the codec list in spring")
    assert main(sync_argv(demo_files, fake.url, state_dir, "--yes")) == 0
    assert "MikoPBX would refuse to save the note" in capsys.readouterr().out
    assert not [r for r in fake.requests if r[0] == "PATCH"]


def test_verify_and_rollback_compare_every_field_when_a_rule_is_not_predicted(
    demo_files: Any, fake: Any, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should MikoPBX alter a text in a way sync did not predict, verify notices (note and
    manual attributes included) and rollback never calls an altered provider "rolled back"."""
    import base64

    from sdp_guard.sync import engine
    from sdp_guard.sync.backup import BackupStore
    from tests.sync.test_apply import UENO

    text = "[endpoint]\nconnected_line_method = invite\n"
    conn = sqlite3.connect(demo_files.db)
    conn.execute(
        "UPDATE m_Sip SET manualattributes = ? WHERE uniqid = ?",
        (base64.b64encode(text.encode()).decode(), UENO),
    )
    conn.commit()
    conn.close()
    import argparse

    from sdp_guard.commands._inputs import load_config, load_inputs
    from sdp_guard.core.diagnose import evaluate
    from sdp_guard.core.plan import plan_sync

    args = argparse.Namespace(
        config=None,
        db=demo_files.db,
        registry=demo_files.registry,
        snapshot=demo_files.snapshot,
        tailscale_socket=None,
        lang="en",
    )
    inputs = load_inputs(args, load_config(args))
    # The prediction "misses": neither the plan nor the engine's last check sees the rule.
    plan = plan_sync(
        inputs.pbx,
        evaluate(inputs.pbx, inputs.stations, inputs.view),
        fallback_media_address=True,
        through_api=False,
    )
    monkeypatch.setattr(engine, "altered_texts", lambda body: [])
    assert UENO in plan.provider_ids
    out = engine.ApiSync(MikoPbxApi(fake.url), BackupStore(str(state_dir)), plan).run()
    assert "does not read back as written (manualattributes)" in out.error
    assert UENO not in out.rolled_back
    assert [p for p, r in out.rollback_failed if "MikoPBX stored something else" in r] == [UENO]
    assert _journal(state_dir)["status"] == "rollback_incomplete"


# ------------------------------------------------------------------ defect 6: offline firewall


def test_offline_fix_local_net_creates_the_rule_rows_mikopbx_creates(
    demo_files: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.mikopbx_api import running_server

    before = provider_rows(demo_files.db)
    down = _closed_url()
    argv = sync_argv(demo_files, down, state_dir, "--yes", "--offline-db")
    assert main([*argv, "--fix-local-net"]) == 0, capsys.readouterr().err
    actions = rule_actions(demo_files.db, "100.64.0.0/10")
    assert actions["SIP"] == {"allow"} and actions["ICMP"] == {"allow"}
    assert all(actions[c] == {"block"} for c in ("WEB", "SSH", "AMI", "AJAM", "IAX"))
    # MikoPBX started again: its firewall page shows WEB, SSH and AMI closed to the tailnet.
    with running_server(demo_files.db) as srv:
        items = MikoPbxApi(srv.url).request("GET", "/pbxcore/api/v3/firewall")["items"]
    (tailnet,) = [i for i in items if i["permit"] == "100.64.0.0/10"]
    assert tailnet["local_network"] is True
    assert {k: v["action"] for k, v in tailnet["rules"].items()} == {
        "SIP": True,
        "IAX": False,
        "WEB": False,
        "SSH": False,
        "AMI": False,
        "AJAM": False,
        "ICMP": True,
    }
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", down]) == 0
    assert provider_rows(demo_files.db) == before
    assert rule_actions(demo_files.db, "100.64.0.0/10") == {}


# ------------------------------------------------------------------ defect 8: smaller ones


def test_a_password_line_in_manual_attributes_is_masked_when_shown(
    demo_files: Any,
    fake: Any,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import base64
    import logging

    from tests.sync.test_apply import _plan

    plan = _plan(demo_files, fallback_media_address=True)
    (pid,) = [c.provider for c in plan.changes if c.field == "manualattributes"]
    text = "[registration-auth]\npassword = hunter2-Tk7q\n[endpoint]\nsecret=s3cr3t-Zp9\n"
    conn = sqlite3.connect(demo_files.db)
    conn.execute(
        "UPDATE m_Sip SET manualattributes = ? WHERE uniqid = ?",
        (base64.b64encode(text.encode()).decode(), pid),
    )
    conn.commit()
    conn.close()
    caplog.set_level(logging.DEBUG)
    argv = sync_argv(demo_files, fake.url, state_dir, "--yes", "--fallback", "media-address")
    assert main(["-vv", *argv]) == 0
    assert main([*argv, "--dry-run", "--json"]) == 0
    assert main(["backups", "--state-dir", str(state_dir)]) == 0
    out = capsys.readouterr()
    shown = out.out + out.err + caplog.text
    assert "password = ********" in shown
    assert "hunter2-Tk7q" not in shown and "s3cr3t-Zp9" not in shown
    # The journal (0600) keeps the real text: rollback must restore it.
    assert main(["rollback", "--yes", "--state-dir", str(state_dir), "--api-url", fake.url]) == 0
    from sdp_guard.adapters.mikopbx_db import read_pbx

    assert {p.id: p.manualattributes for p in read_pbx(demo_files.db).providers}[
        pid
    ] == text.strip()


def test_the_not_an_api_hint_names_mikopbx_2026_1(
    demo_files: Any, fake: Any, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(sync_argv(demo_files, fake.url + "/wrong-prefix", state_dir, "--yes")) == 69
    assert "MikoPBX 2026.1 or later" in capsys.readouterr().err
