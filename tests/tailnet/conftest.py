"""Real-tailnet suite: prerequisites, the per-version lab (driven through scripts/tailnet-lab, as
other checks drive it) and the stations on top of it.

In CI (`CI` set) a missing prerequisite (root, TUN, Go, iproute2) fails; elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import lab as labmod

SCRIPT = labmod.REPO / "scripts" / "tailnet-lab"
MEASURED: list[str] = []  # lines for the terminal summary (latency, packet counts)


def missing_prerequisites() -> list[str]:
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces and TUN devices need it; CI runs as root)")
    if not Path("/dev/net/tun").exists():
        missing.append("/dev/net/tun (the kernel's TUN driver)")
    if shutil.which("ip") is None:
        missing.append("command `ip` (Debian package iproute2)")
    try:
        labmod._go()
    except labmod.LabError as e:
        missing.append(str(e))
    return missing


@pytest.fixture(scope="session")
def tailnet_prerequisites() -> None:
    missing = missing_prerequisites()
    if missing:
        msg = "real-tailnet suite cannot run; missing: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    _reap_stale_labs()
    try:
        labmod.build_all()  # cached; a cold build takes a few minutes
    except labmod.LabError as e:
        pytest.fail(f"building the tailnet lab failed: {e}", pytrace=False)


def _reap_stale_labs() -> None:
    """Labs of a test run that was killed outright (its pid is gone): down, then removed."""
    for d in Path("/tmp").glob("sdpg-tailnet-*-*"):
        try:
            pid = int(d.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        with contextlib.suppress(labmod.LabError, OSError, ValueError):
            labmod.down(d / "lab")
        shutil.rmtree(d, ignore_errors=True)


class TailnetLab:
    """One lab directory, driven through scripts/tailnet-lab."""

    def __init__(self, d: Path, version: str) -> None:
        self.dir = d
        self.version = version
        self.nodes: dict[str, dict[str, Any]] = {}
        self.doc: dict[str, Any] = {}

    def cli(self, *argv: str, timeout: float = 180.0) -> str:
        cp = subprocess.run(
            [str(SCRIPT), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert cp.returncode == 0, (
            f"scripts/tailnet-lab {' '.join(argv)} exited {cp.returncode}\n{cp.stderr[-3000:]}"
        )
        return cp.stdout

    def up(self, *names: str) -> dict[str, dict[str, Any]]:
        doc = json.loads(self.cli("up", str(self.dir), *names, "--version", self.version))
        self.doc = doc
        self.nodes = doc["nodes"]
        return self.nodes

    def masquerade(self, node: str, peer: str, addr: str) -> None:
        self.cli("masquerade", str(self.dir), node, peer, addr)

    def set_ip(self, node: str, addr: str) -> None:
        self.cli("set-ip", str(self.dir), node, addr)

    def hide(self, node: str, peer: str, hidden: bool = True) -> None:
        self.cli("hide" if hidden else "unhide", str(self.dir), node, peer)

    def restart(self, node: str) -> None:
        self.cli("restart", str(self.dir), node)

    def status(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.cli("status", str(self.dir)))
        return doc

    def down(self) -> None:
        self.cli("down", str(self.dir), timeout=60.0)


@pytest.fixture(params=labmod.VERSIONS, ids=lambda v: f"tailscaled-{v}")
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory every user can traverse (the unprivileged daemon reaches sockets inside)."""
    d = Path(tempfile.mkdtemp(prefix=f"sdpg-tailnet-{os.getpid()}-", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tailnet(tailnet_prerequisites: None, version: str, world_dir: Path) -> Iterator[TailnetLab]:
    lab = TailnetLab(world_dir / "lab", version)
    try:
        yield lab
    finally:
        lab.down()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("real tailnet: measured")
        for line in MEASURED:
            terminalreporter.write_line(line)


@pytest.fixture
def sip_tools() -> None:
    """SIPp (with its G.711 pcap), nft and ss, as tests/e2e needs them (fails under CI, skips
    elsewhere)."""
    from tests.e2e import probe_peers
    from tests.e2e.conftest import missing_prerequisites

    missing = missing_prerequisites()
    if not probe_peers.G711A_PCAP.exists():
        missing.append(f"{probe_peers.G711A_PCAP} (Debian package sip-tester)")
    if missing:
        msg = "SIP/RTP over the real tailnet cannot run; missing: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
