#!/usr/bin/env python3
"""Figure 2: `sdp-guard check --snapshot` on the demo vs interpreter start-up and the import floor.

Baselines, same run, interleaved with the measured command:
- pass:  `python -c pass`
- floor: `python -c "import yaml, sqlite3, json, ipaddress, argparse"` (what check must import)
Targets: check <= 5x pass and <= 1.3x floor (medians). `python` is the venv interpreter that
runs sdp-guard (the `python3` on PATH may be a pyenv shim, a shell script that costs more than
Python itself).

Also records `python -X importtime` of the check: every module it imports beyond the floor, with
the cumulative import time, so a regression names its module.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile

import _common as c

FLOOR = "import yaml, sqlite3, json, ipaddress, argparse"
# Modules check must never import (each costs a multiple of `python -c pass`).
HEAVY = ("pyroute2", "prometheus_client", "jsonschema", "http.client", "fastjsonschema", "urllib3")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(argv: list[str], env: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, depth) from one `-X importtime` run."""
    r = subprocess.run(
        [c.PY, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    out: dict[str, tuple[int, int, int]] = {}
    for line in r.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(4)] = (int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2)
    return out


def main() -> int:
    args = c.parser(__doc__).parse_args()
    res = c.Result(
        "2", "check --snapshot on the demo vs python -c pass and the import floor", args.smoke
    )
    env = c.quiet_env()
    reps = 3 if args.smoke else 21
    with tempfile.TemporaryDirectory(prefix="sdp-bench-start-") as d:
        r = subprocess.run(
            [*c.sdp_guard_argv(), "demo", "--keep", d],
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        if r.returncode not in (0, 1, 2):
            print(f"sdp-guard demo failed (exit {r.returncode})", file=sys.stderr)
            return 1
        check_args = [
            "check",
            "--db",
            f"{d}/mikopbx.db",
            "--registry",
            f"{d}/stations.yaml",
            "--snapshot",
            f"{d}/tailnet-snapshot.json",
        ]
        rc = subprocess.run(
            [*c.sdp_guard_argv(), *check_args], capture_output=True, env=env, check=False
        ).returncode
        if rc != 2:
            print(f"check on the demo exited {rc}, expected 2 (critical)", file=sys.stderr)
            return 1
        cmds = {
            "pass": [c.PY, "-c", "pass"],
            "floor": [c.PY, "-c", FLOOR],
            "check": [*c.sdp_guard_argv(), *check_args],
            "check_json": [*c.sdp_guard_argv(), *check_args, "--json"],
        }
        times = c.interleaved(cmds, reps, env, budget_s=90, warmup=2)
        imp_check = importtime(["-m", "sdp_guard", *check_args], env)
        imp_floor = importtime(["-c", FLOOR], env)
    med = {k: c.median(v.wall) for k, v in times.items()}
    cpu = {k: c.median(v.cpu) for k, v in times.items()}
    res.metrics["runs"] = len(times["pass"].wall)
    for k, v in times.items():
        res.metrics[f"{k}_ms_median"] = c.ms(med[k])
        res.metrics[f"{k}_ms_min"] = c.ms(min(v.wall))
        res.metrics[f"{k}_cpu_ms_median"] = c.ms(cpu[k])
    for k in ("floor", "check", "check_json"):
        res.metrics[f"{k}_vs_pass"] = round(med[k] / med["pass"], 2)
        res.metrics[f"{k}_vs_pass_cpu"] = round(cpu[k] / cpu["pass"], 2)
        res.metrics[f"{k}_vs_pass_min"] = round(min(times[k].wall) / min(times["pass"].wall), 2)
    res.metrics["check_vs_floor"] = round(med["check"] / med["floor"], 2)
    res.metrics["check_vs_floor_cpu"] = round(cpu["check"] / cpu["floor"], 2)
    res.metrics["check_vs_floor_min"] = round(
        min(times["check"].wall) / min(times["floor"].wall), 2
    )
    extra = {m: v for m, v in imp_check.items() if m not in imp_floor}
    res.metrics["imports_beyond_floor"] = len(extra)
    res.metrics["imports_beyond_floor_self_ms"] = round(sum(v[0] for v in extra.values()) / 1000, 2)
    top = sorted(extra.items(), key=lambda kv: -kv[1][0])[:15]
    res.metrics["top_self_import_us"] = {m: v[0] for m, v in top}
    heavy = sorted(m for m in imp_check if m.split(".")[0] in HEAVY or m in HEAVY)
    res.metrics["heavy_imports"] = heavy
    if heavy:
        res.note(f"check imports heavy modules it does not need: {', '.join(heavy)}")
    print(
        f"   pass {c.ms(med['pass'])} ms, floor {c.ms(med['floor'])} ms, "
        f"check {c.ms(med['check'])} ms, check --json {c.ms(med['check_json'])} ms "
        f"(median of {len(times['pass'].wall)})"
    )
    res.target("check / python -c pass", med["check"] / med["pass"], 5.0, "x")
    res.target("check / import floor", med["check"] / med["floor"], 1.3, "x")
    return c.finish(res, args.out)


if __name__ == "__main__":
    sys.exit(main())
