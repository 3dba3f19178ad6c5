"""The unit files: ``systemd-analyze verify`` clean, ``security --offline=yes`` exposure ≤ 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import need

UNITS = Path(__file__).resolve().parents[2] / "systemd"
NAMES = ["sdp-guard.service", "sdp-guard-sync.service"]


def analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        need(
            ["systemd-analyze (Debian package systemd; see scripts/apt-packages.txt)"],
            "unit checks",
        )
    return str(exe)


def installed_copy(name: str, tmp: Path) -> Path:
    """The unit with ExecStart pointing at an executable that exists here (verify checks it)."""
    text = (UNITS / name).read_text(encoding="utf-8")
    exe = Path(sys.executable).with_name("sdp-guard")
    if not exe.exists():
        exe = Path(sys.executable)
    text = text.replace("/usr/local/bin/sdp-guard", str(exe))
    out = tmp / name
    out.write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_verify_is_clean(name: str, tmp_path: Path) -> None:
    cp = subprocess.run(
        [analyze(), "verify", str(installed_copy(name, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cp.returncode == 0 and not cp.stderr.strip(), cp.stdout + cp.stderr


@pytest.mark.parametrize("name", NAMES)
def test_security_exposure_is_at_most_2(name: str) -> None:
    cp = subprocess.run(
        [analyze(), "security", "--offline=yes", "--no-pager", str(UNITS / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", cp.stdout)
    assert m is not None, cp.stdout + cp.stderr
    assert float(m.group(1)) <= 2.0, cp.stdout


def test_daemon_unit_is_notify_non_root_and_capability_free() -> None:
    text = (UNITS / "sdp-guard.service").read_text(encoding="utf-8")
    for line in (
        "Type=notify",
        "User=sdp-guard",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=\n",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
        "WatchdogSec=",
    ):
        assert line in text, line
    assert "PrivateNetwork" not in text.replace("# No PrivateNetwork=", "")
    assert "DynamicUser" not in text
