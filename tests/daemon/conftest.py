"""Fixtures for the daemon tests: the demo station, an in-process daemon, a network namespace.

Tests that need root, ``ip`` or TUN devices fail in CI (``CI`` set) naming what is missing, and
skip elsewhere (a developer without root).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sdp_guard import config as config_mod
from sdp_guard.daemon.loop import Daemon, Settings

from .harness import Lines, Station, station, wait_until


def need(missing: list[str], what: str) -> None:
    if missing:
        msg = f"{what} cannot run; missing: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


@pytest.fixture
def st(tmp_path: Path) -> Iterator[Station]:
    with station(tmp_path) as s:
        yield s


@dataclass
class Running:
    daemon: Daemon
    out: Lines
    thread: threading.Thread

    @property
    def url(self) -> str:
        assert self.daemon.url is not None
        return self.daemon.url

    def lines(self) -> list[str]:
        return self.out.lines()

    def wait_line(self, *parts: str, timeout: float = 5.0, after: int = 0) -> str:
        def find() -> str | None:
            for line in self.lines()[after:]:
                if all(p in line for p in parts):
                    return line
            return None

        try:
            return str(wait_until(find, timeout))
        except AssertionError:
            raise AssertionError(f"no line with {parts} in:\n" + "\n".join(self.lines())) from None

    def stop(self) -> None:
        self.daemon.request_stop("test")
        self.thread.join(10)
        assert not self.thread.is_alive(), "daemon did not stop"


@pytest.fixture
def start_daemon(st: Station) -> Iterator[Any]:
    running: list[Running] = []

    def start(config_path: str | None = None, **kw: Any) -> Running:
        cfg = config_mod.load(config_path or st.config())
        opts: dict[str, Any] = {"watch_netlink": False, "eval_timeout": 2.0}
        opts.update(kw)
        s = Settings(cfg=cfg, lang=cfg.settings.lang, listen=("127.0.0.1", 0), **opts)
        out = Lines()
        d = Daemon(
            s,
            stream=out,
            reload=lambda: _reloaded(s, config_path or st.config()),
        )
        t = threading.Thread(target=d.run, kwargs={"install_signals": False}, daemon=True)
        t.start()
        r = Running(d, out, t)
        running.append(r)
        assert d.started.wait(5)
        wait_until(lambda: d.snapshot.evaluations >= 1, 5)
        return r

    yield start
    for r in running:
        if r.thread.is_alive():
            r.stop()


def _reloaded(s: Settings, path: str) -> Settings:
    cfg = config_mod.load(path)
    return dataclasses.replace(s, cfg=cfg, lang=cfg.settings.lang)


# ---- network namespace with a tailscale0 ---------------------------------------------------


def netns_missing() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces need it; CI runs as root)")
    if shutil.which("ip") is None:
        missing.append("command `ip` (Debian package iproute2)")
    if not os.path.exists("/dev/net/tun"):
        missing.append("/dev/net/tun (TUN devices: tailscale0 is one)")
    return missing


@dataclass
class Netns:
    name: str

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.name, *args], check=True, timeout=10, capture_output=True)


@pytest.fixture
def netns() -> Iterator[Netns]:
    """A fresh namespace with ``lo`` up and a TUN device named tailscale0 (as tailscaled makes).

    A TUN device rather than a dummy one: it is what tailscaled creates, and the dummy driver is
    not built into every kernel (it is not on the CI machine's).
    """
    need(netns_missing(), "netns tests")
    name = f"sdpg-d-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=10, capture_output=True)
    except subprocess.CalledProcessError as e:
        need([f"`ip netns add` (it failed: {e.stderr.decode().strip()})"], "netns tests")
    ns = Netns(name)
    try:
        ns.ip("link", "set", "lo", "up")
        ns.ip("tuntap", "add", "dev", "tailscale0", "mode", "tun")
        ns.ip("link", "set", "tailscale0", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10, capture_output=True, check=False)
