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
