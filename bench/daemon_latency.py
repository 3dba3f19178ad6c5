"""Event -> metric latency of ``sdp-guard daemon``, and its idle CPU and RSS.

Runs the daemon as a subprocess against the demo station (real SQLite DB in WAL mode, registry
file, the LocalAPI test server streaming bus messages), then:

- bus: renumber a peer via a PeersChanged Notify, time until /metrics shows the finding flip;
- db: rewrite a provider host in the DB, time until /metrics shows it;
- idle: CPU time (utime+stime) and RSS of the process over --idle seconds with nothing changing.

    .venv/bin/python bench/daemon_latency.py --events 200 --idle 60
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.daemon.harness import (  # noqa: E402
    SHIBUYA_OLD,
    SHIBUYA_PROVIDER,
    problem,
    scrape,
    station,
    wait_until,
)

KANDA = "SIP-TRUNK-4F2A9C1E"
PEER = "peer-address-differs-from-advertised"
HOST = "host-differs-from-advertised"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def measure(flip: object, check: object, n: int, url: str) -> list[float]:
    out = []
    for i in range(n):
        want = 1.0 if i % 2 == 0 else 0.0
        t0 = time.perf_counter()
        flip(i % 2 == 0)  # type: ignore[operator]
        wait_until(lambda w=want: check(scrape(url)) == w, 5.0, step=0.001)  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100, help="changes per kind")
    ap.add_argument("--idle", type=float, default=60.0, help="idle window in seconds")
    ap.add_argument("--no-netlink", dest="netlink", action="store_false", help="skip netlink")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, station(Path(d)) as st:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sdp_guard",
                "daemon",
                "--config",
                st.config(),
                "--listen",
                f"127.0.0.1:{port}",
                "--no-netlink",
            ],
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        try:
            wait_until(lambda: _ready(url), 15)
            bus = measure(
                lambda on: st.renumber("kanda-pbx", "100.101.99.99" if on else "100.101.12.34"),
                lambda m: problem(m, KANDA, PEER),
                a.events,
                url,
            )
            db = measure(
                lambda on: st.set_provider_host(
                    SHIBUYA_PROVIDER, SHIBUYA_OLD if not on else "100.88.201.5"
                ),
                lambda m: 1.0 - (problem(m, SHIBUYA_PROVIDER, HOST) or 0.0),
                a.events,
                url,
            )
            for name, xs in (("bus", bus), ("db", db)):
                print(
                    f"{name:4} event->metric latency over {len(xs)} changes: "
                    f"p50 {statistics.median(xs) * 1000:.1f} ms, p99 {pct(xs, 0.99) * 1000:.1f} ms, "
                    f"max {max(xs) * 1000:.1f} ms"
                )
            time.sleep(1.0)
            c0, t0 = cpu_seconds(p.pid), time.monotonic()
            time.sleep(a.idle)
            c1, t1 = cpu_seconds(p.pid), time.monotonic()
            print(
                f"idle {t1 - t0:.0f} s: CPU {c1 - c0:.3f} s ({(c1 - c0) / (t1 - t0) * 100:.3f} %), "
                f"RSS {rss_kib(p.pid) / 1024:.1f} MiB"
            )
        finally:
            p.terminate()
            p.wait(10)
    return 0


def _ready(url: str) -> bool:
    try:
        return bool(scrape(url))
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
