"""The shipped alert rules pass ``promtool check rules`` and their ``promtool test rules`` suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .conftest import need

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "prometheus"


def promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        need(["promtool (Debian package prometheus; see scripts/apt-packages.txt)"], "rule tests")
    return str(exe)


def test_rules_are_valid() -> None:
    cp = subprocess.run(
        [promtool(), "check", "rules", "sdp-guard.rules.yml"],
        cwd=CONTRIB,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "5 rules found" in cp.stdout


def test_rule_unit_tests_pass() -> None:
    cp = subprocess.run(
        [promtool(), "test", "rules", "sdp-guard.rules.test.yml"],
        cwd=CONTRIB,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SUCCESS" in cp.stdout
