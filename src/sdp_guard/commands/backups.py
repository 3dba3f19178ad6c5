"""List the backups sync made before writing (newest last).

Each backup holds the full prior state of the providers one sync run changed (without SIP
secrets, which sync never writes; --offline-db runs also keep a copy of the whole DB), and the
state of the run: committed, rolled_back, or applying (interrupted: `sdp-guard rollback ID`
restores it).

exit codes: 0 listed (also when there are none), 65 some journal is damaged (the others are
listed), 77 the state directory cannot be read by this user (run as root), 78 configuration
problem
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from sdp_guard.commands._inputs import add_config_option


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("--state-dir", metavar="DIR", help="default /var/lib/sdp-guard")
    p.add_argument("--json", action="store_true", help="JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands.sync import sync_config
    from sdp_guard.core.text import sanitize_text
    from sdp_guard.sync.backup import BackupStore

    cfg = sync_config(args)
    store = BackupStore(cfg.settings.state_dir)
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
    damaged = [{"file": name, "error": why} for name, why in store.damaged]
    if args.json:
        doc = {"schema_version": 1, "backups": rows, "damaged": damaged}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return os.EX_DATAERR if damaged else 0
    for d in damaged:
        print(f"sdp-guard: {sanitize_text(d['error'])}", file=sys.stderr)
    if not rows:
        print(f"no backups in {store.dir}", file=sys.stderr)
        return os.EX_DATAERR if damaged else 0
    for r in rows:
        extra = " +local_net" if r["local_net"] else ""
        cols = f"{r['id']}  {r['status']:<19} {r['mode']:<10} {', '.join(r['providers'])}{extra}"
        print(sanitize_text(cols))
    return os.EX_DATAERR if damaged else 0
