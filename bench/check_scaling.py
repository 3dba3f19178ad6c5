#!/usr/bin/env python3
"""Figure 3: `sdp-guard check` on generated networks of 100, 1,000 and 10,000 providers+peers.

Baseline: the 100 case, same run. Target: <= 12x time per 10x data (no quadratic matching).

Two measurements per size:
- end to end: the `sdp-guard check --snapshot ... --json` command, wall time, median of R runs
  (what an operator or a monitoring system sees; includes interpreter start-up);
- in process: each phase (DB read, registry, snapshot parse + whois attach, evaluate, render)
  timed in a fresh interpreter, without start-up, so a super-linear phase cannot hide behind
  the fixed start-up cost. Both ratios are judged.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time

import _common as c
import _network

PHASES = r"""
import json, sys, time, argparse
t = time.perf_counter
t0 = t()
from sdp_guard.adapters.localapi import apply_whois, parse_status
from sdp_guard.adapters.mikopbx_db import read_pbx
from sdp_guard.adapters.registry import load_registry
from sdp_guard.adapters.snapshot import load_snapshot
from sdp_guard.core.diagnose import evaluate, whois_targets
from sdp_guard.core.render import to_document
db, reg, snap = sys.argv[1:4]
out = {"import": t() - t0}
t0 = t(); pbx = read_pbx(db); out["db"] = t() - t0
t0 = t(); st = load_registry(reg); out["registry"] = t() - t0
t0 = t(); status, whois = load_snapshot(snap); out["snapshot_load"] = t() - t0
t0 = t()
view = parse_status(status)
targets = whois_targets(pbx.providers, st, view)
view = apply_whois(view, {a: whois[a] for a in targets if a in whois})
out["tailnet_parse"] = t() - t0
t0 = t(); rep = evaluate(pbx, st, view); out["evaluate"] = t() - t0
t0 = t(); doc = to_document(rep, lang="en", checked_at="x", sources={}, version="bench")
s = json.dumps(doc, indent=2, ensure_ascii=False); out["render"] = t() - t0
out["findings"] = len(rep.findings); out["providers"] = len(pbx.providers)
out["peers"] = len(view.peers)
print(json.dumps(out))
"""

PHASE_KEYS = ("db", "registry", "snapshot_load", "tailnet_parse", "evaluate", "render")


def phases(files: _network.NetworkFiles, reps: int) -> dict[str, float | int]:
    runs = []
    for _ in range(reps):
        r = subprocess.run(
            [c.PY, "-c", PHASES, files.db, files.registry, files.snapshot],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(f"phase timing failed:\n{r.stderr[-2000:]}")
        runs.append(json.loads(r.stdout))
    med: dict[str, float | int] = {}
    for k in PHASE_KEYS:
        med[k] = c.median([r[k] for r in runs])
    med["work"] = c.median([sum(r[k] for k in PHASE_KEYS) for r in runs])
    for k in ("findings", "providers", "peers"):
        med[k] = runs[0][k]
    return med


def main() -> int:
    args = c.parser(__doc__).parse_args()
    res = c.Result("3", "check on generated networks vs the 100 case", args.smoke)
    sizes = [10, 100] if args.smoke else [100, 1000, 10000]
    reps = {10: 3, 100: 3} if args.smoke else {100: 9, 1000: 7, 10000: 5}
    env = c.quiet_env()
    wall: dict[int, float] = {}
    work: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="sdp-bench-scale-") as d:
        for n in sizes:
            t0 = time.perf_counter()
            files = _network.build(f"{d}/n{n}", n)
            gen = time.perf_counter() - t0
            argv = [*c.sdp_guard_argv(), *files.check_argv(), "--json"]
            rc = subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=False).returncode
            if rc not in (0, 1, 2):
                print(f"check failed on n={n} (exit {rc})", file=sys.stderr)
                return 1
            times = c.interleaved({"check": argv}, reps[n], env, budget_s=120, warmup=0)[
                "check"
            ].wall
            ph = phases(files, 3)
            wall[n] = c.median(times)
            work[n] = float(ph["work"])
            res.metrics[str(n)] = {
                "wall_ms_median": c.ms(wall[n]),
                "wall_ms_all": [c.ms(x) for x in times],
                "phases_ms": {k: c.ms(float(ph[k])) for k in (*PHASE_KEYS, "work")},
                "findings": ph["findings"],
                "providers": ph["providers"],
                "peers": ph["peers"],
                "generate_s": round(gen, 2),
            }
            print(
                f"   n={n}: wall {c.ms(wall[n])} ms, in-process work {c.ms(work[n])} ms "
                f"({ph['findings']} findings)"
            )
    base = sizes[0]
    res.metrics["baseline"] = f"n={base}, same run"
    for lo, hi in itertools.pairwise(sizes):
        r_wall = wall[hi] / wall[lo]
        r_work = work[hi] / work[lo]
        res.metrics[f"ratio_wall_{hi}_vs_{lo}"] = round(r_wall, 2)
        res.metrics[f"ratio_work_{hi}_vs_{lo}"] = round(r_work, 2)
        res.target(f"end-to-end time {hi} / {lo}", r_wall, 12.0, "x")
        res.target(f"in-process work {hi} / {lo}", r_work, 12.0, "x")
    res.metrics["ratio_wall_vs_base"] = {str(n): round(wall[n] / wall[base], 2) for n in sizes}
    return c.finish(res, args.out)


if __name__ == "__main__":
    sys.exit(main())
