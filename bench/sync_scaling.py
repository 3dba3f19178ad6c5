#!/usr/bin/env python3
"""Figure 6: `sdp-guard sync --yes` of 100 stale providers vs 1, against the MikoPBX API fake.

Every station of a generated network (bench/_network.py, kind 5) has already been renumbered in
our tailnet while its provider still points at the old address, so sync has one host change per
provider. The MikoPBX REST API v3 test server (tests/fakes/mikopbx_api.py) runs in this process
on the same DB; sync runs as the command an operator runs. Each run gets a fresh copy of the DB.
Counted: plans (the JSON document has one), API writes (PATCH/PUT/POST/DELETE), wall time; then
a `sync --dry-run --detailed-exitcode` must find nothing left to do.
Targets for 100 providers: one plan, <= 100 API writes, <= 2 s; ratio to the 1-provider run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import _common as c
import _network

WRITES = ("PATCH", "PUT", "POST", "DELETE")


def one_run(template: _network.NetworkFiles, workdir: str) -> dict[str, Any]:
    sys.path.insert(0, str(c.ROOT))
    from tests.fakes.mikopbx_api import running_server

    db = f"{workdir}/mikopbx.db"
    shutil.copy(template.db, db)
    state = f"{workdir}/state"
    common = ["--db", db, "--registry", template.registry, "--snapshot", template.snapshot]
    common += ["--state-dir", state, "--lang", "en"]
    env = c.quiet_env()
    with running_server(db) as fake:
        argv = [*c.sdp_guard_argv(), "sync", *common, "--api-url", fake.url, "--yes", "--json"]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"sync exited {r.returncode}:\n{r.stderr[-2000:]}")
        requests = list(fake.requests)
        check_argv = [*c.sdp_guard_argv(), "sync", *common, "--api-url", fake.url]
        again = subprocess.run(
            [*check_argv, "--dry-run", "--detailed-exitcode"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    doc = json.loads(r.stdout)
    plans = 1 if isinstance(doc.get("plan"), dict) else 0
    changes = len(doc["plan"].get("changes") or ())
    result = doc.get("result") or {}
    writes = [q for q in requests if q[0] in WRITES and not q[1].startswith("/__fake__")]
    return {
        "wall_s": wall,
        "plans": plans,
        "changes": changes,
        "api_requests": len(requests),
        "api_writes": len(writes),
        "api_reads": len(requests) - len(writes),
        "ok": bool(result.get("ok")),
        "written": len(result.get("written") or ()),
        "left_after": again.returncode,  # 0: nothing pending
    }


def main() -> int:
    args = c.parser(__doc__).parse_args()
    res = c.Result("6", "sync of 100 stale providers vs 1 (MikoPBX API test server)", args.smoke)
    sizes = [1, 5] if args.smoke else [1, 100]
    reps = 1 if args.smoke else 5
    runs: dict[int, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="sdp-bench-sync-") as d:
        for n in sizes:
            template = _network.build(f"{d}/n{n}", n, kind=5)
            runs[n] = []
            for k in range(reps):
                runs[n].append(one_run(template, tempfile.mkdtemp(dir=d, prefix=f"run{n}-{k}-")))
    for n, rs in runs.items():
        wall = c.median([r["wall_s"] for r in rs])
        last = rs[-1]
        res.metrics[str(n)] = {
            "wall_ms_median": c.ms(wall),
            "wall_ms_all": [c.ms(r["wall_s"]) for r in rs],
            **{k: v for k, v in last.items() if k != "wall_s"},
        }
        print(
            f"   {n} provider(s): {c.ms(wall)} ms (median of {len(rs)}), {last['plans']} plan, "
            f"{last['changes']} changes, {last['api_writes']} API writes, "
            f"{last['api_reads']} reads, ok={last['ok']}, left after: {last['left_after']}"
        )
        if not all(r["ok"] and r["left_after"] == 0 for r in rs):
            res.note(f"{n}: a sync did not finish cleanly: {rs}")
    lo, hi = sizes
    w_lo = res.metrics[str(lo)]["wall_ms_median"]
    w_hi = res.metrics[str(hi)]["wall_ms_median"]
    res.metrics["ratio_wall"] = round(w_hi / w_lo, 2)
    top = runs[hi][-1]
    res.target(f"plans for {hi} providers", top["plans"], 1, "")
    res.target(f"API writes for {hi} providers", top["api_writes"], float(hi), "")
    res.target(f"sync wall time for {hi} providers (s)", w_hi / 1000, 2.0, " s")
    ok = all(r["ok"] and r["left_after"] == 0 for rs in runs.values() for r in rs)
    res.target("runs not finished cleanly", 0 if ok else 1, 0, "")
    return c.finish(res, args.out)


if __name__ == "__main__":
    sys.exit(main())
