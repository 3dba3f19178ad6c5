"""``sdp-guard daemon`` as a real process: sd_notify, signals, a real scrape through promtool,
and a bounded load test.

NOTIFY_SOCKET is a unix datagram socket the test reads, as systemd's would be.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import Netns, need
from .harness import Station, http_get, parse_metrics, scrape, socket_in_netns, value, wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    p: subprocess.Popen[str]
    url: str
    notify: socket.socket
    err: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def _pump(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.err.append(line.rstrip("\n"))

    def _recv(self) -> None:
        while True:
            try:
                data = self.notify.recv(4096)
            except TimeoutError:
                if self.p.poll() is not None:
                    return
                continue
            except OSError:
                return
            self.messages.append(data.decode())

    def wait_err(self, text: str, timeout: float = 5.0) -> str:
        try:
            return str(wait_until(lambda: next((x for x in self.err if text in x), None), timeout))
        except AssertionError:
            raise AssertionError(f"no {text!r} in stderr:\n" + "\n".join(self.err)) from None


@contextlib.contextmanager
def daemon_process(
    st: Station,
    tmp: Path,
    *extra: str,
    prefix: tuple[str, ...] = (),
    watchdog_usec: int = 400_000,
    config: str | None = None,
) -> Iterator[Proc]:
    notify_path = str(tmp / "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify_path)
    ns.settimeout(0.2)
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_PID", "LANG")
    }
    env.update(NOTIFY_SOCKET=notify_path, WATCHDOG_USEC=str(watchdog_usec), PYTHONUNBUFFERED="1")
    argv = [
        *prefix,
        sys.executable,
        "-m",
        "sdp_guard",
        "daemon",
        "--config",
        config or st.config(),
        "--listen",
        f"127.0.0.1:{port}",
        *extra,
    ]
    p = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
    )
    proc = Proc(p, f"http://127.0.0.1:{port}", ns)
    threads = [
        threading.Thread(target=proc._pump, daemon=True),
        threading.Thread(target=proc._recv, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        yield proc
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(10)
        for t in threads:
            t.join(2)
        ns.close()
        if p.stderr is not None:
            p.stderr.close()


def test_ready_watchdog_status_then_sigterm_exits_cleanly(st: Station, tmp_path: Path) -> None:
    with daemon_process(st, tmp_path, "--no-netlink") as d:
        ready = wait_until(lambda: next((m for m in d.messages if "READY=1" in m), None), 10)
        assert "STATUS=5 critical, 1 warning, 0 info; all sources up" in ready
        # READY only after the first full evaluation: the metrics already hold it.
        assert value(scrape(d.url), "sdp_guard_evaluations_total") >= 1  # type: ignore[operator]
        n = sum(m == "WATCHDOG=1" for m in d.messages)
        time.sleep(1.0)  # WATCHDOG_USEC=0.4 s: a ping every 0.2 s
        assert sum(m == "WATCHDOG=1" for m in d.messages) - n >= 3
        d.p.send_signal(signal.SIGTERM)
        assert d.p.wait(5) == 0
        d.wait_err("stopping on SIGTERM")
        assert any("STOPPING=1" in m for m in d.messages)
    assert not any("Traceback" in x for x in d.err), d.err


def test_sighup_reloads_and_a_bad_config_is_kept_out(st: Station, tmp_path: Path) -> None:
    with daemon_process(st, tmp_path, "--no-netlink") as d:
        wait_until(lambda: any("READY=1" in m for m in d.messages), 10)
        path = st.config(daemon__recheck_seconds=9)
        text = Path(path).read_text().replace("lang: en", "lang: ja")
        Path(path).write_text(text)
        d.p.send_signal(signal.SIGHUP)
        d.wait_err("設定を再読み込みしました")
        wait_until(lambda: value(scrape(d.url), "sdp_guard_recheck_interval_seconds") == 9, 3)
        Path(path).write_text("daemon:\n  auto_sync: sometimes\n")
        d.p.send_signal(signal.SIGHUP)
        d.wait_err("設定を再読み込みできません")
        assert d.p.poll() is None
        assert value(scrape(d.url), "sdp_guard_recheck_interval_seconds") == 9
        d.p.send_signal(signal.SIGTERM)
        assert d.p.wait(5) == 0


def test_listener_port_in_use_is_a_clear_config_error(st: Station, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        cp = subprocess.run(
            [
                sys.executable,
                "-m",
                "sdp_guard",
                "daemon",
                "--config",
                st.config(),
                "--no-netlink",
                "--listen",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=ROOT,
            check=False,
        )
    assert cp.returncode == os.EX_CONFIG
    assert f"cannot listen on 127.0.0.1:{port}" in cp.stderr and "Traceback" not in cp.stderr


def test_promtool_accepts_a_real_scrape(st: Station, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        need(
            ["promtool (Debian package prometheus; see scripts/apt-packages.txt)"], "promtool check"
        )
    with daemon_process(st, tmp_path, "--no-netlink") as d:
        wait_until(lambda: any("READY=1" in m for m in d.messages), 10)
        status, ctype, body = http_get(d.url, "/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=")
    cp = subprocess.run(
        [str(promtool), "check", "metrics"],
        input=body,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()


def test_load_while_events_stream(st: Station, tmp_path: Path) -> None:
    """200 scrapes/s for 3 s (bench/daemon_load.py runs the 30 s version) while bus events and DB
    writes stream: no error, every scrape parses, and the finding still flips."""
    with daemon_process(st, tmp_path, "--no-netlink") as d:
        wait_until(lambda: any("READY=1" in m for m in d.messages), 10)
        stop = threading.Event()
        errors: list[str] = []

        renumbers = [0]

        def events() -> None:
            while not stop.is_set():
                i = renumbers[0]
                st.renumber("kanda-pbx", "100.101.99.99" if i % 2 else "100.101.12.34")
                renumbers[0] = i + 1
                time.sleep(0.02)

        t = threading.Thread(target=events)
        t.start()
        done = 0
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < 3.0:
                tick = time.monotonic()
                for _ in range(20):
                    try:
                        s, _c, body = http_get(d.url, "/metrics")
                        assert s == 200
                        parse_metrics(body.decode())
                        done += 1
                    except Exception as e:
                        errors.append(repr(e))
                time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        finally:
            stop.set()
            t.join(5)
        # Throughput is bench/daemon_load.py's business (a timed assert here failed on a loaded
        # machine); here: every scrape answered and parsed while changes kept arriving.
        assert not errors, errors[:3]
        assert done > 0 and renumbers[0] > 10
        assert d.p.poll() is None


def test_in_a_namespace_as_a_process(st: Station, tmp_path: Path, netns: Netns) -> None:
    """``ip netns exec``: netlink events reach a separate daemon process within the second."""
    with daemon_process(st, tmp_path, prefix=("ip", "netns", "exec", netns.name)) as d:

        def fac() -> socket.socket:
            s = socket_in_netns(netns.name)
            s.connect(("127.0.0.1", int(d.url.rsplit(":", 1)[1])))
            return s

        wait_until(lambda: any("READY=1" in m for m in d.messages), 10)
        assert value(scrape(d.url, fac), "sdp_guard_tailnet_peer_routes") == 0
        t0 = time.monotonic()
        netns.ip("route", "add", "100.88.201.5/32", "dev", "tailscale0", "table", "52")
        wait_until(lambda: value(scrape(d.url, fac), "sdp_guard_tailnet_peer_routes") == 1, 1.0)
        assert time.monotonic() - t0 < 1.0
        d.p.send_signal(signal.SIGTERM)
        assert d.p.wait(5) == 0


def test_auto_sync_hosts_fixes_a_stale_provider_through_the_api(
    st: Station, tmp_path: Path
) -> None:
    """daemon.auto_sync: hosts — the stale shibuya trunk (its peer already has the advertised
    address) is rewritten through the MikoPBX REST API test server, which writes the same DB;
    the finding then clears by itself. The other findings need a human and are left alone."""
    from tests.fakes.mikopbx_api import running_server

    with running_server(st.db) as api:
        cfg = Path(st.config())
        state = tmp_path / "state"
        state.mkdir()
        cfg.write_text(
            cfg.read_text().replace(f"  db: {st.db}", f"  db: {st.db}\n  api_url: {api.url}")
            + f"state_dir: {state}\ndaemon:\n  auto_sync: hosts\n"
        )
        with daemon_process(st, tmp_path, "--no-netlink", config=str(cfg)) as d:
            line = d.wait_err("auto-sync applied", timeout=15)
            assert "SIP-TRUNK-7B3D0E55" in line and "100.88.7.19 -> 100.88.201.5" in line
            d.wait_err("finding cleared: critical host-differs-from-advertised")
            wait_until(
                lambda: value(scrape(d.url), "sdp_guard_syncs_total", result="applied") == 1, 5
            )
            m = scrape(d.url)
            assert value(m, "sdp_guard_syncs_total", result="failed") == 0
            patched = {p for method, p, _b in api.requests if method == "PATCH"}
            assert patched == {"/pbxcore/api/v3/sip-providers/SIP-TRUNK-7B3D0E55"}
            d.p.send_signal(signal.SIGTERM)
            assert d.p.wait(10) == 0


def test_auto_sync_warns_of_a_run_that_did_not_finish(st: Station, tmp_path: Path) -> None:
    """A sync killed mid-write leaves its journal at "applying". Before auto-sync writes, the
    daemon's log names that run and the command that undoes it, as `sdp-guard sync` does."""
    from sdp_guard.sync.backup import BackupStore
    from tests.fakes.mikopbx_api import running_server

    with running_server(st.db) as api:
        cfg = Path(st.config())
        state = tmp_path / "state"
        killed = BackupStore(str(state)).create("api", api.url, {})
        killed.set_status("applying")
        cfg.write_text(
            cfg.read_text().replace(f"  db: {st.db}", f"  db: {st.db}\n  api_url: {api.url}")
            + f"state_dir: {state}\ndaemon:\n  auto_sync: hosts\n"
        )
        with daemon_process(st, tmp_path, "--no-netlink", config=str(cfg)) as d:
            line = d.wait_err("did not finish", timeout=15)
            assert (
                f"auto-sync: warning: sync run {killed.id} did not finish (applying); "
                f"`sdp-guard rollback {killed.id}` restores what it wrote"
            ) in line
            d.wait_err("auto-sync applied", timeout=15)
            d.p.send_signal(signal.SIGTERM)
            assert d.p.wait(10) == 0
