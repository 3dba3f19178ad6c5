"""scripts/tailnet-lab as other checks drive it: the `up` document, bounded failures with clear
messages and exit codes, and a `down` that leaves nothing behind (twice)."""

from __future__ import annotations

import os
import subprocess

import pytest

from . import lab as labmod
from .conftest import SCRIPT, TailnetLab

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.slow]


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *argv], capture_output=True, text=True, timeout=120, check=False
    )


def test_up_document_masquerade_set_ip_and_down(tailnet: TailnetLab) -> None:
    nodes = tailnet.up("alpha", "beta")
    assert set(tailnet.doc) == {"nodes"} and set(nodes) == {"alpha", "beta"}
    for name, n in nodes.items():
        assert set(n) == {"netns", "socket", "ipv4", "hostname"}  # the documented interface
        assert n["hostname"] == name
        assert n["netns"] in labmod.run(["ip", "netns", "list"])
        st = labmod.localapi(n["socket"], "/localapi/v0/status")  # reachable from the host
        assert st["BackendState"] == "Running" and n["ipv4"] in st["TailscaleIPs"]
        assert st["Version"].startswith(tailnet.version)
        tun = labmod.run(
            ["ip", "netns", "exec", n["netns"], "ip", "-4", "addr", "show", "tailscale0"]
        )
        assert f"inet {n['ipv4']}/32" in tun
    lab = labmod.Lab.load(tailnet.dir)

    tailnet.masquerade("alpha", "beta", "100.102.9.9")
    assert lab.masq_of("alpha", "beta") == "100.102.9.9"
    assert lab.peers_seen("beta")["alpha"] == "100.102.9.9"
    tailnet.set_ip("beta", "100.88.0.7")
    assert lab.peers_seen("alpha")["beta"] == "100.88.0.7"
    status = tailnet.status()
    assert status["nodes"]["beta"]["ipv4"] == "100.88.0.7"

    bad = _cli("masquerade", str(tailnet.dir), "alpha", "nobody", "100.102.9.9")
    assert bad.returncode == 64 and "no node 'nobody'" in bad.stderr
    bad = _cli("set-ip", str(tailnet.dir), "alpha", "192.0.2.1")
    assert bad.returncode == 69 and "100.64.0.0/10" in bad.stderr
    bad = _cli("set-ip", str(tailnet.dir), "alpha", "100.88.0.7")
    assert bad.returncode == 69 and "already in use by beta" in bad.stderr

    pids = [n["pid"] for n in lab.nodes.values()] + [lab.state["control_pid"]]
    namespaces = list(lab.state["namespaces"])
    tailnet.down()
    tailnet.down()  # idempotent
    left = labmod.run(["ip", "netns", "list"])
    assert not [ns for ns in namespaces if ns in left.split()]
    assert not [p for p in pids if labmod._alive(p)]
    assert not (tailnet.dir / "lab.json").exists()
    assert not (tailnet.dir / "alpha" / "state").exists()  # node keys do not outlive the lab
    status_after = _cli("status", str(tailnet.dir))
    assert status_after.returncode == 64 and "no lab in" in status_after.stderr


def test_usage_errors() -> None:
    assert _cli().returncode == 64
    assert _cli("--help").returncode == 0
    r = _cli("up", "/tmp/x", "Bad_Name")
    assert r.returncode == 64 and "bad node name" in r.stderr
    r = _cli("up", "/tmp/x", "a", "--version", "1.2.3")
    assert r.returncode == 64 and "unknown tailscaled version" in r.stderr
    assert not os.path.exists("/tmp/x/lab.json")  # refused before anything was started
