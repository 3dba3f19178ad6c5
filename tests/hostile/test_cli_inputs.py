"""Issue 14 regressions at the command line: each input below made sdp-guard print a traceback,
hang, grow without bound or mislead before its fix. One test per defect; what a user sees."""

from __future__ import annotations

import json
import os
import stat
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from sdp_guard import demo
from tests.fuzz.clirun import assert_clean, run_cli
from tests.fuzz.test_yaml_inputs import ALIAS_BOMB

SJIS_COMMENT = "# 渋谷局の設定\n".encode("shift_jis")


@pytest.fixture
def files(tmp_path: Path) -> Any:
    return demo.build(str(tmp_path))


def check(files: Any, *extra: str, registry: str | None = None) -> list[str]:
    return [
        "check",
        "--config",
        "/dev/null",
        "--db",
        files.db,
        "--registry",
        registry or files.registry,
        "--snapshot",
        files.snapshot,
        *extra,
    ]


# ---- one boundary: an unexpected exception --------------------------------------------------


def test_wrong_typed_status_field_is_unknown_with_one_json_document(files: Any) -> None:
    # Was: TypeError traceback ("'int' object is not iterable"), nothing on stdout.
    doc = json.loads(Path(files.snapshot).read_text())
    next(iter(doc["status"]["Peer"].values()))["TailscaleIPs"] = 1
    Path(files.snapshot).write_text(json.dumps(doc))
    rc, out, err = run_cli(check(files, "--json"))
    got = assert_clean(rc, out, err, {3}, json_out=True)
    assert got["status"] == "unknown" and "TailscaleIPs is not a list" in got["error"]
    assert err.count("\n") <= 2 and "TailscaleIPs is not a list" in err


def test_a_bug_is_one_line_exit_3_and_the_traceback_only_with_vv(
    files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from sdp_guard.adapters import mikopbx_db

    def broken(path: str) -> Any:
        try:
            raise sqlite3.OperationalError("disk I/O error")
        except sqlite3.Error as e:
            raise RuntimeError(f"cannot map {path}") from e

    monkeypatch.setattr(mikopbx_db, "read_pbx", broken)
    rc, out, err = run_cli(check(files, "--json"))
    assert rc == 3 and json.loads(out)["status"] == "unknown"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "RuntimeError: cannot map" in err and "-vv" in err
    rc, out, err = run_cli(["-vv", *check(files)])
    assert rc == 3 and "Traceback" in err and "disk I/O error" in err  # the cause is kept


# ---- YAML -----------------------------------------------------------------------------------


def test_alias_bomb_registry_fails_fast_and_small(files: Any, tmp_path: Path) -> None:
    # Was: the 400-byte bomb expanded into the error message (gigabytes, minutes).
    reg = tmp_path / "bomb.yaml"
    reg.write_bytes(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 500
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        rc, out, err = run_cli(check(files, registry=str(reg)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - t0 < 2 and peak < 16 * 2**20
    assert_clean(rc, out, err, {3})
    assert "aliases expand" in err and "bomb.yaml:" in err


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (b"stations: &s [*s]\n", "alias refers to the collection that contains it"),
        (
            b"stations:\n  - name: a\n    ipv4: 100.64.0.1\n    ipv4: 100.64.0.2\n",
            "key 'ipv4' appears twice",
        ),
        (b"stations: " + b"9" * 5000 + b"\n", "number has too many digits"),
        (SJIS_COMMENT + b"stations: []\n", "stations.yaml:1: not UTF-8 text"),
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
    ],
    ids=["recursive-alias", "duplicate-key", "huge-int", "shift-jis", "empty", "blank"],
)
def test_registry_yaml_problems_are_clear_errors(files: Any, text: bytes, needle: str) -> None:
    Path(files.registry).write_bytes(text)
    rc, out, err = run_cli(check(files))
    assert_clean(rc, out, err, {3})
    assert needle in err, err


def test_an_explicitly_empty_registry_is_fine(files: Any) -> None:
    Path(files.registry).write_text("stations: []\n")
    rc, out, err = run_cli(check(files))
    assert_clean(rc, out, err, {0, 1, 2}) and "stations=0" in out


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (SJIS_COMMENT + b"lang: ja\n", "config.yaml:1: not UTF-8 text"),
        (b"daemon: &d {x: *d}\n", "alias refers to the collection"),
        (b"daemon:\n  recheck_seconds: " + b"9" * 5000 + b"\n", "too many digits"),
        (b"", "is empty"),
        (b"lang: ja\nlang: en\n", "key 'lang' appears twice"),
    ],
    ids=["shift-jis", "recursive-alias", "huge-int", "empty", "duplicate-key"],
)
def test_config_yaml_problems_are_exit_78(tmp_path: Path, text: bytes, needle: str) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes(text)
    rc, out, err = run_cli(["config", "show", "--config", str(cfg)])
    assert_clean(rc, out, err, {78})
    assert needle in err, err


# ---- text from outside ------------------------------------------------------------------------


def test_station_names_cannot_drive_the_terminal(files: Any) -> None:
    text = Path(files.registry).read_text(encoding="utf-8")
    first = text.index("name: ") + len("name: ")
    end = text.index("\n", first)
    hostile = '"\\e[2J\\e[31mEVIL\\nCRITICAL: forged"'
    Path(files.registry).write_text(text[:first] + hostile + text[end:], encoding="utf-8")
    rc, out, err = run_cli(check(files, "--color", "never"))
    assert_clean(rc, out, err, {0, 1, 2})
    assert "\x1b" not in out and "\\x1b[2J\\x1b[31mEVIL\\x0aCRITICAL: forged" in out
    assert not any(line.startswith("CRITICAL: forged") for line in out.splitlines())


# ---- files we write -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_snapshot_output_refuses_a_target_that_is_not_a_regular_file(
    files: Any, tmp_path: Path, kind: str
) -> None:
    # Was: the symlink (or a device node) was replaced by a regular file.
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    target = tmp_path / "out.json"
    if kind == "symlink":
        target.symlink_to(victim)
    else:
        os.mkfifo(target)
    rc, out, err = run_cli(
        ["snapshot", "--config", "/dev/null", "--db", files.db, "-o", str(target)]
    )
    assert_clean(rc, out, err, {os.EX_CANTCREAT})
    assert "not writing" in err
    assert victim.read_text() == "keep me\n"
    assert target.is_symlink() if kind == "symlink" else stat.S_ISFIFO(target.lstat().st_mode)
    assert not list(tmp_path.glob(".out.json.*"))  # no temp file left behind


# ---- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e12", "abc"])
def test_absurd_timing_options_are_usage_errors(value: str) -> None:
    rc, out, err = run_cli(["daemon", "--config", "/dev/null", "--eval-timeout", value])
    assert_clean(rc, out, err, {64})
    assert "--eval-timeout" in err
    rc, out, err = run_cli(["daemon", "--config", "/dev/null", "--recheck-seconds", value])
    assert_clean(rc, out, err, {64})


@pytest.mark.parametrize("url", ["http://[::1", "http://pbx:99999", "http://pbx:-1", "http://a b"])
def test_invalid_api_url_is_a_usage_error(tmp_path: Path, url: str) -> None:
    # Was: ValueError traceback from urllib.parse.
    rc, out, err = run_cli(
        [
            "rollback",
            "--yes",
            "--config",
            "/dev/null",
            "--state-dir",
            str(tmp_path),
            "--api-url",
            url,
        ]
    )
    assert_clean(rc, out, err, {64})
    assert "mikopbx.api_url" in err


def test_invalid_api_url_in_the_file_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("mikopbx:\n  api_url: 'http://[::1'\n")
    rc, out, err = run_cli(["config", "show", "--config", str(cfg)])
    assert_clean(rc, out, err, {78})


# ---- backups and journals -------------------------------------------------------------------------


def _journal(state: Path, bid: str, doc: Any) -> Path:
    d = state / "backups"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    p = d / f"{bid}.json"
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return p


GOOD = {
    "schema_version": 1,
    "id": "20260101T000000Z",
    "mode": "api",
    "status": "committed",
    "providers": {},
    "local_net": None,
}


def test_damaged_journal_is_named_not_hidden(tmp_path: Path) -> None:
    # Was: a damaged journal vanished from `backups` and rollback said "nothing to roll back", 0.
    _journal(tmp_path, "20260101T000000Z", GOOD)
    _journal(tmp_path, "20260102T000000Z", {**GOOD, "providers": [1, 2]})
    rc, out, err = run_cli(["backups", "--config", "/dev/null", "--state-dir", str(tmp_path)])
    assert_clean(rc, out, err, {65})
    assert "20260101T000000Z" in out and "20260102T000000Z" in err and "providers" in err
    rc, out, err = run_cli(
        ["rollback", "--yes", "--config", "/dev/null", "--state-dir", str(tmp_path)]
    )
    assert_clean(rc, out, err, {65})
    assert "20260102T000000Z.json" in err


def test_torn_multibyte_step_state_is_ignored(tmp_path: Path) -> None:
    # Was: UnicodeDecodeError traceback from a crash mid-write of a UTF-8 character.
    _journal(tmp_path, "20260101T000000Z", GOOD)
    (tmp_path / "backups" / "20260101T000000Z.states").write_bytes(b'{"provider": "\xe6\xb8')
    rc, out, err = run_cli(["backups", "--config", "/dev/null", "--state-dir", str(tmp_path)])
    assert_clean(rc, out, err, {0})
    assert "20260101T000000Z" in out


def test_unreadable_state_dir_says_so_not_no_backups(tmp_path: Path) -> None:
    # Was: "no backups in ...", exit 0, for a user who cannot read the root-only state dir.
    state = tmp_path / "state"
    _journal(state, "20260101T000000Z", GOOD)
    state.chmod(0o700)
    tmp_path.chmod(0o755)
    argv = ["backups", "--config", "/dev/null", "--state-dir", str(state)]
    if os.geteuid() == 0:  # as root, be another user for this one run (the real uid stays 0)
        os.seteuid(65534)
        try:
            rc, out, err = run_cli(argv)
            rc2, out2, err2 = run_cli([*argv[:1], "--json", *argv[1:]])
        finally:
            os.seteuid(0)
    else:
        state.chmod(0o000)
        try:
            rc, out, err = run_cli(argv)
            rc2, out2, err2 = run_cli([*argv[:1], "--json", *argv[1:]])
        finally:
            state.chmod(0o700)
    assert_clean(rc, out, err, {os.EX_NOPERM})
    assert "cannot read the backups" in err and "run as root" in err
    assert_clean(rc2, out2, err2, {os.EX_NOPERM})


def test_log_messages_with_outside_text_are_one_line() -> None:
    import logging

    from sdp_guard import cli

    rec = logging.LogRecord(
        "sdp_guard.x",
        logging.WARNING,
        __file__,
        1,
        "peer said %s",
        ("a\nsdp-guard: x\x1b[2J",),
        None,
    )
    assert cli._one_line(rec)
    assert rec.getMessage() == "peer said a\\x0asdp-guard: x\\x1b[2J"


def test_advertise_refuses_to_replace_a_symlinked_mantela_json(tmp_path: Path) -> None:
    # Was: the link was replaced by a regular file (the web server kept serving the old one).
    from tests.fixtures import fixture
    from tests.mantela.docs import EXAMPLE

    real = tmp_path / "www" / "mantela.json"
    real.parent.mkdir()
    real.write_text(json.dumps(EXAMPLE))
    link = tmp_path / "mantela.json"
    link.symlink_to(real)
    status = json.loads(fixture("tailscale", "status-sharer.json").read_text())
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps({"schema_version": 1, "status": status, "whois": {}}))
    rc, out, err = run_cli(["advertise", "--snapshot", str(snap), "--mantela", str(link)])
    assert_clean(rc, out, err, {os.EX_CANTCREAT})
    assert link.is_symlink() and json.loads(real.read_text()) == EXAMPLE
    assert str(real) in err  # the hint names the real file
    assert not list(tmp_path.glob("mantela.json.*.bak"))


def test_rollback_shows_journal_text_escaped(tmp_path: Path) -> None:
    # Hypothesis found: the journal's "mode" reached the terminal raw (an ESC sequence).
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    provider = {
        "before": {"id": "SIP-TRUNK-7B3D0E55", "host": "100.88.7.19"},
        "after": {"host": "100.88.201.5"},
        "fields": ["host"],
        "state": "written",
    }
    doc = {**GOOD, "mode": "\x1b[2J\x1b[31mRED", "status": "applying"}
    _journal(tmp_path, "20260101T000000Z", {**doc, "providers": {"SIP-TRUNK-\x1b[5m": provider}})
    argv = ["rollback", "--yes", "--config", "/dev/null", "--state-dir", str(tmp_path)]
    rc, out, err = run_cli([*argv, "--api-url", down])
    assert_clean(rc, out, err, {1, 69, 75})
    assert "\\x1b[2J\\x1b[31mRED" in err


def test_config_show_escapes_values_from_the_file(tmp_path: Path) -> None:
    # Hypothesis found: `config show` printed a value from the file raw (an ESC sequence).
    cfg = tmp_path / "config.yaml"
    cfg.write_text('state_dir: "\\e[2J\\e[31mRED"\n')
    rc, out, err = run_cli(["config", "show", "--config", str(cfg)])
    assert_clean(rc, out, err, {0})
    assert 'state_dir: "\\u001b[2J\\u001b[31mRED"' in out  # still a valid YAML string
