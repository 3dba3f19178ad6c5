"""Orchestrates bench/run: each figure's script in its own process, bounded in time."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c

# figure -> (script, full timeout s, smoke timeout s); the order runs cheap and pure figures first
FIGURES: dict[str, tuple[str, int, int]] = {
    "2": ("check_startup.py", 180, 30),
    "3": ("check_scaling.py", 240, 30),
    "1": ("event_latency.py", 300, 40),
    "4": ("idle_cpu.py", 150, 30),
    "5": ("memory.py", 300, 40),
    "6": ("sync_scaling.py", 180, 30),
}


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description="Run the sdp-guard benchmarks.")
    ap.add_argument("figures", nargs="*", help="figure numbers (default: all)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, no thresholds, < 60 s")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--out", metavar="FILE", help="combined JSON result")
    args = ap.parse_args()
    figs = args.figures or list(FIGURES)
    unknown = [f for f in figs if f not in FIGURES]
    if unknown:
        ap.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    out = args.out or (
        os.path.join(tempfile.gettempdir(), "sdp-guard-bench-smoke.json")
        if args.smoke
        else str(c.BENCH / "results" / "latest.json")
    )
    info = c.machine()
    print(
        f"bench/run{' --smoke' if args.smoke else ''}: {info['date']}, {info['nproc']} CPUs "
        f"({info['cpu']}), kernel {info['kernel']}, Python {info['python']}, "
        f"load {info['load']}, euid {os.geteuid()}",
        flush=True,
    )
    results: dict[str, Any] = {}
    broken: list[str] = []
    t_all = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sdp-bench-run-") as d:
        for fig in (f for f in FIGURES if f in figs):
            script, full_t, smoke_t = FIGURES[fig]
            res_file = os.path.join(d, f"fig{fig}.json")
            argv = [sys.executable, str(c.BENCH / script), "--out", res_file]
            if args.smoke:
                argv.append("--smoke")
            shown = " ".join([f"bench/{script}", *(["--smoke"] if args.smoke else [])])
            print(f"-- figure {fig}: {shown}", flush=True)
            t0 = time.monotonic()
            try:
                rc = subprocess.run(argv, timeout=smoke_t if args.smoke else full_t).returncode
            except subprocess.TimeoutExpired:
                rc = -1
                print(f"   figure {fig} timed out", flush=True)
            took = round(time.monotonic() - t0, 1)
            if rc != 0 or not os.path.exists(res_file):
                broken.append(fig)
                results[fig] = {"figure": fig, "broken": True, "exit": rc, "seconds": took}
                print(f"   figure {fig} BROKE (exit {rc}) after {took} s", flush=True)
                continue
            doc = json.loads(Path(res_file).read_text())
            doc["seconds"] = took
            results[fig] = doc
    total = round(time.monotonic() - t_all, 1)
    combined = {"machine": info, "smoke": args.smoke, "total_seconds": total, "figures": results}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(combined, indent=2) + "\n", encoding="utf-8")
    missed = [
        (fig, t)
        for fig, r in results.items()
        for t in r.get("targets", ())
        if not r.get("smoke") and not t["met"]
    ]
    print(
        f"== {len(results) - len(broken)}/{len(results)} figures ran in {total} s; results: {out}"
    )
    if broken:
        print(f"== BROKEN: figure(s) {', '.join(broken)}")
    if not args.smoke:
        for fig, t in missed:
            print(
                f"== missed: figure {fig}: {t['name']} = {t['value']:g}{t['unit']} > {t['limit']:g}"
            )
        if not missed:
            print("== every target met")
    if broken:
        return 2
    if args.strict and missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
