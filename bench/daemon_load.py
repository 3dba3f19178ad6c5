"""Scrape load on ``sdp-guard daemon``: N scrapes/s of /metrics (and /findings) for T seconds
while bus events and DB writes stream. Reports errors, achieved rate, latency and daemon CPU.

    .venv/bin/python bench/daemon_load.py --rate 200 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.daemon_latency import cpu_seconds, free_port, pct, rss_kib  # noqa: E402
from tests.daemon.harness import (  # noqa: E402
    SHIBUYA_OLD,
    SHIBUYA_PROVIDER,
    http_get,
    parse_metrics,
    station,
    wait_until,
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
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
            ],
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        stop = threading.Event()
        events = [0]

        def churn() -> None:
            i = 0
            while not stop.is_set():
                st.renumber("kanda-pbx", "100.101.99.99" if i % 2 else "100.101.12.34")
                if i % 5 == 0:
                    st.set_provider_host(
                        SHIBUYA_PROVIDER, SHIBUYA_OLD if i % 10 else "100.88.201.5"
                    )
                i += 1
                events[0] = i
                time.sleep(0.02)

        try:
            wait_until(lambda: _up(url), 15)
            c0 = cpu_seconds(p.pid)
            t = threading.Thread(target=churn)
            t.start()
            lat: list[float] = []
            errors: list[str] = []
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < a.seconds:
                due = t0 + n / a.rate
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                s0 = time.perf_counter()
                try:
                    path = "/findings" if n % 10 == 9 else "/metrics"
                    status, _c, body = http_get(url, path)
                    if status != 200:
                        errors.append(f"HTTP {status}")
                    elif path == "/metrics":
                        parse_metrics(body.decode())
                except Exception as e:
                    errors.append(repr(e))
                lat.append(time.perf_counter() - s0)
                n += 1
            wall = time.monotonic() - t0
            stop.set()
            t.join(5)
            cpu = cpu_seconds(p.pid) - c0
            print(
                f"{n} requests in {wall:.1f} s ({n / wall:.0f}/s) with {events[0]} input changes: "
                f"{len(errors)} errors; latency p50 {statistics.median(lat) * 1000:.1f} ms, "
                f"p99 {pct(lat, 0.99) * 1000:.1f} ms; daemon CPU {cpu / wall * 100:.0f} %, "
                f"RSS {rss_kib(p.pid) / 1024:.1f} MiB"
            )
            if errors:
                print("first errors:", errors[:5])
            return 1 if errors else 0
        finally:
            stop.set()
            p.terminate()
            p.wait(10)


def _up(url: str) -> bool:
    try:
        return http_get(url, "/metrics")[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
