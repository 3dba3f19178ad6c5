"""The module accepts what sdp-guard really emits (not only its hand-written fixture)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sdp_guard.cli import main
from tests.conftest import ROOT

PHP = shutil.which("php")


@pytest.mark.skipif(PHP is None and not os.environ.get("CI"), reason="php-cli not installed")
def test_module_validates_a_real_check_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PHP is not None, "php-cli is missing (apt-get install php-cli)"
    main(["demo", "--json", "--lang", "ja"])
    doc = capsys.readouterr().out
    path = tmp_path / "findings.json"
    path.write_text(doc, encoding="utf-8")
    code = (
        "require getenv('BOOT');"
        "$d = Modules\\ModuleSdpGuard\\Lib\\FindingsDocument::fromJson(file_get_contents(getenv('DOC')));"
        "echo json_encode(['status' => $d->status(), 'findings' => count($d->findings())]);"
    )
    env = {**os.environ, "BOOT": str(ROOT / "tests/module/php/bootstrap.php"), "DOC": str(path)}
    r = subprocess.run([PHP, "-r", code], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"status": "critical", "findings": len(json.loads(doc)["findings"])}


@pytest.mark.skipif(PHP is None and not os.environ.get("CI"), reason="php-cli not installed")
def test_module_reads_the_daemons_probe_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `probes` list as the daemon writes it (ProbeRow.doc) passes the module's validation."""
    from sdp_guard.adapters.metrics import ProbeRow

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
