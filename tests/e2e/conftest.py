"""Prerequisites and the per-scenario lab fixture.

In CI (`CI` set) a missing prerequisite fails the test with a message naming it; elsewhere the
suite skips with that message (e.g. a developer without root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from . import netlab

NEEDED_COMMANDS = {
    "ip": "iproute2",
    "ss": "iproute2",
    "nft": "nftables",
    "sipp": "sip-tester",
    "timeout": "coreutils",
}


def missing_prerequisites() -> list[str]:
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces and nftables need it; CI runs as root)")
    for cmd, pkg in NEEDED_COMMANDS.items():
        if shutil.which(cmd) is None:
            missing.append(f"command `{cmd}` (Debian package {pkg}; see scripts/apt-packages.txt)")
    if not missing:
        try:
            cp = subprocess.run(
                ["ip", "netns", "list"], capture_output=True, text=True, timeout=5, check=False
            )
            if cp.returncode != 0:
                missing.append(f"`ip netns` (it failed: {cp.stderr.strip()})")
        except (OSError, subprocess.TimeoutExpired) as e:
            missing.append(f"`ip netns` ({e})")
    return missing


@pytest.fixture(scope="session")
def prerequisites() -> Iterator[None]:
    missing = missing_prerequisites()
    if missing:
        msg = "end-to-end suite cannot run; missing: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    netlab.reap_stale_namespaces()
    yield
    netlab.JANITOR.uninstall()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every call's measured RTP counts (docs/e2e.md quotes them)."""
    from .stations import MEASURED

    if MEASURED:
        terminalreporter.section("e2e: RTP packets measured per call")
        for line in MEASURED:
            terminalreporter.write_line(line)
