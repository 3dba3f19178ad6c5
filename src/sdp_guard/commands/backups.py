"""List the backups sync made before writing (newest last).

Each backup holds the full prior state of the providers one sync run changed (without SIP
secrets, which sync never writes; --offline-db runs also keep a copy of the whole DB), and the
state of the run: committed, rolled_back, or applying (interrupted: `sdp-guard rollback ID`
restores it).

exit codes: 0 listed (also when there are none), 78 configuration problem
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sdp_guard.commands._inputs import add_config_option


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("--state-dir", metavar="DIR", help="default /var/lib/sdp-guard")
    p.add_argument("--json", action="store_true", help="JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands.sync import sync_config
    from sdp_guard.sync.backup import BackupStore

    cfg = sync_config(args)
    store = BackupStore(str(cfg.get("state_dir")))
    backups = store.list()
    rows: list[dict[str, Any]] = [
        {
            "id": b.id,
            "created": b.doc.get("created"),
            "mode": b.doc.get("mode"),
            "target": b.doc.get("target"),
            "status": b.status,
            "providers": sorted(b.doc.get("providers", {})),
            "local_net": bool(b.doc.get("local_net")),
            "path": b.path,
        }
        for b in backups
    ]
    if args.json:
        print(json.dumps({"schema_version": 1, "backups": rows}, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print(f"no backups in {store.dir}", file=sys.stderr)
        return 0
    for r in rows:
        extra = " +local_net" if r["local_net"] else ""
        print(f"{r['id']}  {r['status']:<19} {r['mode']:<10} {', '.join(r['providers'])}{extra}")
    return 0
