"""The module accepts what sdp-guard really emits (not only its hand-written fixture): every kind
of findings document, the "unknown" ones included, goes through the module's PHP reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.cli import main
from tests.conftest import ROOT

PHP = shutil.which("php")
needs_php = pytest.mark.skipif(
    PHP is None and not os.environ.get("CI"), reason="php-cli not installed"
)


def php_reads(tmp_path: Path, doc: str) -> dict[str, Any]:
    """FindingsDocument::fromJson on ``doc``; its status, counts and number of findings."""
    assert PHP is not None, "php-cli is missing (apt-get install php-cli)"
    path = tmp_path / "findings.json"
    path.write_text(doc, encoding="utf-8")
    code = (
        "require getenv('BOOT');"
        "$d = Modules\\ModuleSdpGuard\\Lib\\FindingsDocument::fromJson(file_get_contents(getenv('DOC')));"
        "echo json_encode(['status' => $d->status(), 'findings' => count($d->findings()),"
        " 'counts' => $d->counts(), 'sources' => array_keys($d->sources()),"
        " 'checked_at' => $d->checkedAt()]);"
    )
    env = {**os.environ, "BOOT": str(ROOT / "tests/module/php/bootstrap.php"), "DOC": str(path)}
    r = subprocess.run([PHP, "-r", code], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout
    got: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return got


@needs_php
def test_module_validates_a_real_check_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["demo", "--json", "--lang", "ja"])
    doc = capsys.readouterr().out
    got = php_reads(tmp_path, doc)
    assert got["status"] == "critical"
    assert got["findings"] == len(json.loads(doc)["findings"])


@needs_php
def test_module_reads_check_json_after_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_files: Any
) -> None:
    rc = main(
        [
            "check",
            "--json",
            "--db",
            str(tmp_path / "missing.db"),
            "--registry",
            demo_files.registry,
            "--snapshot",
            demo_files.snapshot,
        ]
    )
    assert rc == 3
    got = php_reads(tmp_path, capsys.readouterr().out)
    assert got["status"] == "unknown" and got["findings"] == 0
    assert got["counts"] == {"critical": 0, "warning": 0, "info": 0}
    assert sorted(got["sources"]) == ["mikopbx", "registry", "tailscale"]


@needs_php
def test_module_reads_the_daemon_document_before_its_first_evaluation(tmp_path: Path) -> None:
    from sdp_guard.adapters.metrics import gunzip
    from sdp_guard.daemon.state import not_evaluated_document

    doc = gunzip(not_evaluated_document(time.time(), "ja")).decode()
    got = php_reads(tmp_path, doc)
    assert got["status"] == "unknown" and got["checked_at"].startswith("20")


@needs_php
def test_module_reads_the_daemon_document_with_a_source_never_up(tmp_path: Path) -> None:
    import urllib.request

    from sdp_guard import config as config_mod
    from sdp_guard.daemon.loop import Daemon, Settings
    from tests.daemon.harness import Lines, station, wait_until

    with station(tmp_path) as st:
        path = st.config()
        text = Path(path).read_text().replace(st.db, str(tmp_path / "no-such.db"))
        Path(path).write_text(text)
        cfg = config_mod.load(path)
        s = Settings(
            cfg=cfg, lang="en", listen=("127.0.0.1", 0), watch_netlink=False, eval_timeout=2.0
        )
        d = Daemon(s, stream=Lines(), reload=lambda: s)
        t = threading.Thread(target=d.run, kwargs={"install_signals": False}, daemon=True)
        t.start()
        try:
            assert d.started.wait(5)
            wait_until(lambda: d.snapshot.evaluations >= 1, 5)
            assert d.url is not None
            with urllib.request.urlopen(d.url + "/findings", timeout=5) as r:
                doc = r.read().decode()
        finally:
            d.request_stop("test")
            t.join(10)
    assert json.loads(doc)["sources"]["mikopbx"]["up"] is False
    got = php_reads(tmp_path, doc)
    assert got["status"] == "unknown" and got["findings"] == 0


@needs_php
def test_module_reads_the_daemons_probe_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `probes` list as the daemon writes it (ProbeRow.doc) passes the module's validation."""
    from sdp_guard.daemon.state import ProbeRow

    assert PHP is not None, "php-cli is missing (apt-get install php-cli)"
    main(["demo", "--json", "--lang", "en"])
    doc = json.loads(capsys.readouterr().out)
    doc["probes"] = [
        ProbeRow(
            "shibuya", "SIP-TRUNK-7B3D0E55", "one-way", 0.0, 250, 0, 200, "100.1.1.1", 1.7e9
        ).doc()
    ]
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code = (
        "require getenv('BOOT');"
        "$d = Modules\\ModuleSdpGuard\\Lib\\FindingsDocument::fromJson(file_get_contents(getenv('DOC')));"
        "echo json_encode($d->probes());"
    )
    env = {**os.environ, "BOOT": str(ROOT / "tests/module/php/bootstrap.php"), "DOC": str(path)}
    r = subprocess.run([PHP, "-r", code], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout
    [row] = json.loads(r.stdout.strip().splitlines()[-1])
    assert (row["provider"], row["verdict"], row["sent"], row["received"]) == (
        "SIP-TRUNK-7B3D0E55", "one-way", 250, 0,
    )  # fmt: skip
    assert row["probed_at"] == "2023-11-14T22:13:20Z"
