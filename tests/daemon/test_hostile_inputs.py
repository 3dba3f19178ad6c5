"""Issue 14 regressions in the daemon: it never dies of input and never clears a finding because
an input broke. Each test failed on the code before the fix (noted per test)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sdp_guard import config as config_mod
from sdp_guard.daemon.loop import Daemon, Settings

from .harness import SHIBUYA_PROVIDER, Lines, Station, problem, scrape, value, wait_until

HOST = "host-differs-from-advertised"


@pytest.mark.parametrize(
    "broken",
    [
        "# 渋谷\n".encode("shift_jis") + b"lang: en\n",
        b"daemon: &d {x: *d}\n",
        b"daemon:\n  recheck_seconds: " + b"9" * 5000 + b"\n",
    ],
    ids=["shift-jis", "recursive-alias", "huge-int"],
)
def test_a_config_that_fails_to_load_on_reload_keeps_the_running_one(
    st: Station, start_daemon: Any, broken: bytes
) -> None:
    # Was: the UnicodeDecodeError / ValueError escaped the loop and the daemon died.
    path = st.config(daemon__recheck_seconds=7)
    d = start_daemon(path)
    n = len(d.lines())
    good = Path(path).read_bytes()
    Path(path).write_bytes(broken)
    d.daemon.request_reload()
    line = d.wait_line("configuration not reloaded, keeping the previous one", after=n)
    assert "config.yaml" in line
    time.sleep(0.2)
    assert d.thread.is_alive()
    assert value(scrape(d.url), "sdp_guard_recheck_interval_seconds") == 7
    Path(path).write_bytes(good.replace(b"recheck_seconds: 7", b"recheck_seconds: 9"))
    d.daemon.request_reload()
    d.wait_line("configuration reloaded", after=n)
    wait_until(lambda: value(scrape(d.url), "sdp_guard_recheck_interval_seconds") == 9)


@pytest.mark.parametrize("cut", ["empty", "mid-value"])
def test_a_registry_truncated_mid_write_keeps_the_last_good_view(
    st: Station, start_daemon: Any, cut: str
) -> None:
    # Was (empty): read as "no stations": criticals dropped and every finding logged "cleared".
    d = start_daemon()
    before = scrape(d.url)
    criticals = value(before, "sdp_guard_findings", code=HOST, severity="critical")
    assert problem(before, SHIBUYA_PROVIDER, HOST) == 1
    n = len(d.lines())
    text = Path(st.registry).read_text(encoding="utf-8")
    part = "" if cut == "empty" else text[: text.index("ipv4: 100.88.") + len("ipv4: 100.")]
    with open(st.registry, "w", encoding="utf-8") as f:  # truncate, write part, close
        f.write(part)
    d.wait_line("source registry down", after=n)
    m = scrape(d.url)
    assert value(m, "sdp_guard_source_up", source="registry") == 0
    assert problem(m, SHIBUYA_PROVIDER, HOST) == 1
    assert value(m, "sdp_guard_findings", code=HOST, severity="critical") == criticals
    assert not any("finding cleared" in x for x in d.lines()[n:])
    Path(st.registry).write_text(text, encoding="utf-8")
    d.wait_line("source registry up again", after=n)
    assert not any("finding cleared" in x for x in d.lines()[n:])


def test_a_station_name_cannot_forge_a_journal_line(st: Station, start_daemon: Any) -> None:
    # Was: the "\n" in the name started a new, forged log line.
    text = Path(st.registry).read_text(encoding="utf-8")
    forged = '"shibuya\\nsdp-guard: finding cleared: critical forged \\e[2J"'
    Path(st.registry).write_text(text.replace("name: shibuya", f"name: {forged}"), "utf-8")
    d = start_daemon()
    line = d.wait_line("finding appeared", SHIBUYA_PROVIDER)
    assert "shibuya\\x0asdp-guard: finding cleared: critical forged \\x1b[2J" in line
    assert not any(x.startswith("sdp-guard: finding cleared: critical forged") for x in d.lines())
    assert not any("\x1b" in x for x in d.lines())


# ---- auto-sync: after the evaluation is published; a SIGTERM during its rollback is honoured --


def _main_thread_daemon(st: Station, tmp_path: Path) -> Daemon:
    cfg = Path(st.config())
    cfg.write_text(cfg.read_text() + f"state_dir: {tmp_path}\ndaemon:\n  auto_sync: hosts\n")
    c = config_mod.load(str(cfg))
    s = Settings(cfg=c, lang="en", listen=("127.0.0.1", 0), eval_timeout=2.0, watch_netlink=False)
    return Daemon(s, stream=Lines())


@contextlib.contextmanager
def _signals_restored() -> Any:
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def test_a_sigterm_during_the_auto_sync_rollback_stops_the_daemon(
    st: Station, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: the engine held the SIGTERM back while rolling back and nobody honoured it later.
    from sdp_guard.daemon import autosync
    from sdp_guard.sync.engine import signals_deferred

    d = _main_thread_daemon(st, tmp_path)
    seen: dict[str, Any] = {}

    def apply(cfg: Any, plan: Any, progress: Any = None) -> autosync.Result:
        # What ApiSync does when verification fails: roll back with signals deferred, and a
        # SIGTERM (systemctl stop) arrives in the middle of it.
        seen["published"] = d.snapshot.evaluations
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
        return autosync.Result(False, (), "b1", "verification failed; rolled back", False)

    monkeypatch.setattr(autosync, "apply", apply)
    guard = threading.Timer(15, lambda: d.request_stop("test-timeout"))
    guard.start()
    try:
        with _signals_restored():
            d.run(install_signals=True)
    finally:
        guard.cancel()
    assert d._stop_reason == "SIGTERM"
    # The evaluation that planned the sync was served before the sync ran (was: after it).
    assert seen["published"] >= 1


def test_the_listener_warns_when_not_on_loopback(
    st: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sdp_guard.daemon.loop as loop
    from sdp_guard.adapters.metrics import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("192.0.2.1")
    c = config_mod.load(st.config())
    s = Settings(cfg=c, lang="en", listen=("127.0.0.1", 0), watch_netlink=False)
    out = Lines()
    for exposed in (False, True):
        # Tests bind loopback only; "exposed" stands for an address such as 0.0.0.0.
        monkeypatch.setattr(loop, "is_loopback", lambda host, e=exposed: not e)
        d = Daemon(s, stream=out)
        d._start_http()
        assert d._http is not None
        d._http.stop()
        warned = [x for x in out.lines() if "not only on loopback" in x]
        assert len(warned) == int(exposed)
    assert "/findings carries station names and tailnet addresses" in warned[0]


def test_a_dripping_localapi_read_ends_and_the_next_evaluation_reads_afresh(
    st: Station, start_daemon: Any
) -> None:
    # Was: no overall deadline, so a LocalAPI answer dripping a byte at a time kept its read in
    # flight; every later evaluation waited on that same read and tailscale stayed down after
    # tailscaled was fine again.
    import socket as socket_mod

    from tests.hostile.test_slow_peers import HEAD, Drip

    path = str(st.dir / "dripping.sock")
    s = socket_mod.socket(socket_mod.AF_UNIX)
    s.bind(path)
    s.listen(8)
    drip = Drip(s, HEAD)
    cfg = Path(st.config())
    cfg.write_text(cfg.read_text().replace(f"socket: {st.socket}", f"socket: {path}"), "utf-8")
    try:
        d = start_daemon(str(cfg))
        d.wait_line("source tailscale down")
        # tailscaled answers properly again; the dripping connections go on (DRIP_FOR s).
        os.unlink(path)
        os.symlink(st.socket, path)
        t0 = time.monotonic()
        st.publish_status()  # a bus Notify: re-read the tailnet
        d.wait_line("source tailscale up again", timeout=6.0)
        assert time.monotonic() - t0 < 6.0
    finally:
        drip.close()
