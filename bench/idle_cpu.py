#!/usr/bin/env python3
"""Figure 4: daemon CPU and wake-ups over 60 s with nothing changing.

The daemon runs on the demo inputs against the fake LocalAPI (bus stream open), with netlink on
a TUN `tailscale0` in a private network namespace when root (else --no-netlink on the host),
the metrics listener up and the default safety re-check (60 s). After its first evaluation and a
short settle, CPU time (schedstat, ns) and context switches of every thread are read before and
after the window. Target: <= 0.1 % of one core; no periodic wake-ups faster than the re-check
(voluntary context switches per thread say who wakes, and how often).
"""

from __future__ import annotations

import sys
import tempfile
import time

import _common as c
import _daemon


def main() -> int:
    p = c.parser(__doc__)
    p.add_argument("--seconds", type=float, help="idle window (default 60; smoke 3)")
    args = p.parse_args()
    window = args.seconds or (3.0 if args.smoke else 60.0)
    res = c.Result("4", f"daemon idle CPU and wake-ups over {window:g} s", args.smoke)
    from sdp_guard import demo

    fake_localapi = _daemon.load_fake_localapi()
    from sdp_guard.demo import wire

    why = c.netns_problem()
    with tempfile.TemporaryDirectory(prefix="sdp-bench-idle-") as d:
        files = demo.build(d)
        status = wire.status(demo.SELF, demo.PEERS)
        whois = {
            p.ipv4: wire.whois(p, demo.MASQ.get(p.ipv4)) for p in demo.PEERS if p is not demo.NAS
        }
        initial = [
            fake_localapi.notify_netmap(demo.SELF, [(p, demo.MASQ.get(p.ipv4)) for p in demo.PEERS])
        ]
        with c.netns() if why is None else _daemon.no_netns() as ns:
            extra = [] if ns else ["--no-netlink"]
            if not ns:
                res.note(f"netlink off: {why}")
            run = _daemon.DaemonRun(
                d, files.db, files.registry, status, whois, netns=ns, extra=extra, initial=initial
            )
            with run:
                run.wait_ready(30)
                time.sleep(2.0)  # let the listener, bus and read threads settle
                m0 = run.fetch(("/metrics",))["/metrics"]
                time.sleep(0.5)
                before = _daemon.threads(run.pid)
                req0 = len(run.srv.requests)
                t0 = time.monotonic()
                time.sleep(window)
                after = _daemon.threads(run.pid)
                elapsed = time.monotonic() - t0
                requests = len(run.srv.requests) - req0
                m1 = run.fetch(("/metrics",))["/metrics"]
    per_thread = {}
    cpu_ns = vol = invol = 0
    for tid, a in after.items():
        b = before.get(tid, {"cpu_ns": 0, "vol": 0, "invol": 0})
        dc, dv, di = a["cpu_ns"] - b["cpu_ns"], a["vol"] - b["vol"], a["invol"] - b["invol"]
        cpu_ns += dc
        vol += dv
        invol += di
        per_thread[f"{a['name']}[{tid}]"] = {"cpu_ms": round(dc / 1e6, 3), "wakeups": dv}
    pct = cpu_ns / 1e9 / elapsed * 100
    res.metrics.update(
        {
            "window_s": round(elapsed, 2),
            "cpu_ms": round(cpu_ns / 1e6, 3),
            "cpu_percent_of_one_core": round(pct, 4),
            "voluntary_ctxt_switches": vol,
            "involuntary_ctxt_switches": invol,
            "wakeups_per_minute": round(vol / elapsed * 60, 1),
            "threads": per_thread,
            "localapi_requests": requests,
            "netlink": bool(ns),
        }
    )
    w0, w1 = _daemon.counters(m0, "sdp_guard_wakeups"), _daemon.counters(m1, "sdp_guard_wakeups")
    woke = {k: int(v - w0.get(k, 0)) for k, v in w1.items() if v - w0.get(k, 0)}
    evals = _daemon.counters(m1, "sdp_guard_evaluations").get("", 0) - _daemon.counters(
        m0, "sdp_guard_evaluations"
    ).get("", 0)
    res.metrics["loop_wakeups_by_reason"] = woke
    res.metrics["evaluations"] = int(evals)
    res.note(
        f"the loop woke for: {woke or 'nothing'}; {int(evals)} evaluation(s), "
        f"{requests} LocalAPI requests in the window (re-check every 60 s)"
    )
    periodic = {k: v for k, v in woke.items() if k != "recheck"}
    if periodic:
        res.note(f"wake-ups other than the safety re-check: {periodic}")
    print(
        f"   {round(pct, 4)} % of one core over {elapsed:.1f} s; {vol} voluntary context "
        f"switches ({round(vol / elapsed * 60, 1)}/min)"
    )
    res.target("idle CPU (% of one core)", pct, 0.1, " %")
    return c.finish(res, args.out)


if __name__ == "__main__":
    sys.exit(main())
