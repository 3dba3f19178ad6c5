#!/usr/bin/env python3
"""Figure 5: daemon RSS after evaluating a 10,000-provider network vs its libraries alone.

Baseline, same run: a Python process that imports what the daemon imports (sdp_guard's daemon,
adapters and core, prometheus_client, pyroute2, yaml, sqlite3, http.server, concurrent.futures)
and nothing else. The daemon then runs on a generated network (bench/_network.py: 10,000
providers, stations and peers, whois answers for every shared peer) against the fake LocalAPI,
inside a private network namespace with netlink on when root. After its first complete
evaluation (`ready:`) VmRSS and VmHWM are read. Target: RSS <= 48 MB.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

import _common as c
import _daemon
import _network

LIBRARIES = """
import sys, os
import concurrent.futures, http.server, json, selectors, sqlite3, yaml
import prometheus_client
from pyroute2 import IPRoute
from pyroute2.netlink.rtnl.marshal import MarshalRtnl
import sdp_guard.cli, sdp_guard.commands.daemon, sdp_guard.commands._inputs
import sdp_guard.daemon.loop, sdp_guard.daemon.bus, sdp_guard.daemon.autosync
import sdp_guard.adapters.metrics, sdp_guard.adapters.netlink, sdp_guard.adapters.inotify
import sdp_guard.adapters.mikopbx_db, sdp_guard.adapters.registry, sdp_guard.adapters.localapi
import sdp_guard.adapters.inputs, sdp_guard.core.diagnose, sdp_guard.core.render
for line in open("/proc/self/status"):
    if line.startswith(("VmRSS", "VmHWM")):
        print(line.split()[1])
print(len(sys.modules))
"""


def libraries_rss() -> tuple[int, int, int]:
    r = subprocess.run(
        [c.PY, "-c", LIBRARIES], capture_output=True, text=True, env=c.quiet_env(), timeout=60
    )
    if r.returncode != 0:
        raise RuntimeError(f"importing the daemon's libraries failed:\n{r.stderr[-2000:]}")
    hwm, rss, mods = (int(x) for x in r.stdout.split())
    return rss, hwm, mods


def daemon_rss(n: int, ns: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sdp-bench-rss-") as d:
        files = _network.build(d, n)
        sts = _network.stations(n)
        status = _network.status_doc(sts)
        whois = _network.whois_docs(sts)
        extra = ["--eval-timeout", "300", "--recheck-seconds", "3600"]
        if not ns:
            extra.append("--no-netlink")
        run = _daemon.DaemonRun(d, files.db, files.registry, status, whois, netns=ns, extra=extra)
        with run:
            took = run.wait_ready(400)
            time.sleep(1.0)
            rss, hwm = _daemon.rss_kib(run.pid)
            requests = len(run.srv.requests)
            sizes = run.fetch_sizes()  # as Prometheus and the MikoPBX module would
            time.sleep(0.5)
            rss_scraped, hwm_scraped = _daemon.rss_kib(run.pid)
    return {
        "providers": n,
        "first_evaluation_s": round(took, 2),
        "rss_kib": rss,
        "hwm_kib": hwm,
        "rss_after_scrape_kib": rss_scraped,
        "hwm_after_scrape_kib": hwm_scraped,
        "metrics_bytes": sizes["/metrics"],
        "findings_bytes": sizes["/findings"],
        "localapi_requests": requests,
    }


def main() -> int:
    args = c.parser(__doc__).parse_args()
    res = c.Result(
        "5", "daemon RSS after a 10,000-provider evaluation vs its libraries", args.smoke
    )
    n = 100 if args.smoke else 10000
    lib = [libraries_rss() for _ in range(3)]
    lib_rss = c.median([x[0] for x in lib])
    res.metrics["libraries_rss_kib"] = lib_rss
    res.metrics["libraries_modules"] = lib[0][2]
    why = c.netns_problem()
    if why is not None:
        res.note(f"netlink off: {why}")
    with c.netns() if why is None else _daemon.no_netns() as ns:
        small = daemon_rss(10, ns)
        mid = daemon_rss(n // 10, ns)  # where the growth starts to show
        big = daemon_rss(n, ns)
    res.metrics["daemon_10"] = small
    res.metrics[f"daemon_{n // 10}"] = mid
    res.metrics[f"daemon_{n}"] = big
    res.metrics["rss_per_provider_kib"] = round(
        (big["rss_kib"] - mid["rss_kib"]) / (n - n // 10), 2
    )
    mb = big["rss_kib"] / 1024
    res.metrics["rss_vs_libraries"] = round(big["rss_kib"] / lib_rss, 2)
    res.metrics["rss_minus_libraries_mib"] = round((big["rss_kib"] - lib_rss) / 1024, 1)
    print(
        f"   libraries alone {lib_rss / 1024:.1f} MiB; daemon with 10 providers "
        f"{small['rss_kib'] / 1024:.1f} MiB; with {n // 10}: {mid['rss_kib'] / 1024:.1f} MiB; "
        f"with {n}: RSS {mb:.1f} MiB, peak "
        f"{big['hwm_kib'] / 1024:.1f} MiB (first evaluation {big['first_evaluation_s']} s); "
        f"after one scrape of /metrics ({big['metrics_bytes'] // 1024} KiB) and /findings "
        f"({big['findings_bytes'] // 1024} KiB): {big['rss_after_scrape_kib'] / 1024:.1f} MiB"
    )
    res.metrics["rss_mb_decimal"] = round(big["rss_kib"] * 1024 / 1e6, 1)
    res.target(f"daemon RSS after {n} providers (MiB)", mb, 48.0, " MiB")
    return c.finish(res, args.out)


if __name__ == "__main__":
    sys.exit(main())
