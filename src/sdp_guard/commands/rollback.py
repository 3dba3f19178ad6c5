"""Restore providers from a sync backup (default: the newest one not yet rolled back).

Goes through the same path as sync: MikoPBX's REST API (or, for a backup made with
--offline-db, the DB of the stopped MikoPBX), one provider at a time, with compare-and-swap: a
provider is restored only while it still holds what sync wrote; one someone changed since is
left alone and reported (exit 75).

Interactive runs ask first; --yes never asks (scripts need it). Without a terminal and without
--yes nothing is restored: it says so on stderr and exits 0. --dry-run shows what would be
restored; --json prints one JSON document on stdout (the backup, what it would restore, and the
result).

exit codes: 0 restored (or nothing to restore, or not asked to), 1 error, 65 no such backup (or
a damaged one), 75 another sync is running or a provider changed since sync, 69 API
unreachable, 77 the state directory cannot be read by this user (run as root)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sdp_guard.commands._inputs import add_config_option
from sdp_guard.commands._write import add_write_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("id", nargs="?", metavar="ID", help="backup id from `sdp-guard backups`")
    add_write_options(p.add_argument_group("writing"))
    p.add_argument("--api-url", metavar="URL", help="MikoPBX web server (default http://127.0.0.1)")
    p.add_argument("--state-dir", metavar="DIR", help="default /var/lib/sdp-guard")
    p.add_argument("--db", metavar="PATH", help="the DB, for backups made with --offline-db")
    p.add_argument("--lang", choices=("en", "ja"), help="operator language")


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands._inputs import pick_lang
    from sdp_guard.commands._write import (
        decide,
        emit_json,
        stderr_line,
        write_config,
        write_target,
    )
    from sdp_guard.core.text import sanitize_text
    from sdp_guard.errors import ConflictError, Error
    from sdp_guard.sync.service import WriteService, outcome_dict, restorable
    from sdp_guard.sync.texts import t

    cfg = write_config(args)
    lang = pick_lang(cfg)
    service = WriteService(write_target(cfg), lang=lang, progress=stderr_line, warn=stderr_line)
    backup = service.pick_backup(args.id)
    doc: dict[str, Any] = {
        "schema_version": 1,
        "backup": None,
        "restore": None,
        "applied": False,
        "result": None,
    }

    def finish() -> int:
        if args.json:
            emit_json(doc)
        return 0

    if backup is None:
        print(t(lang, "rollback_none", dir=service.store.dir), file=sys.stderr)
        return finish()
    pids, local_net = restorable(backup)
    doc["backup"] = {"id": backup.id, "status": backup.status, "mode": backup.doc.get("mode")}
    doc["restore"] = {"providers": pids, "local_net": local_net}
    mode = backup.doc.get("mode")  # any JSON value: the whole line is shown escaped
    pids_text = ", ".join(pids) or "-"
    line = t(lang, "rollback_backup", id=backup.id, status=backup.status, mode=mode, pids=pids_text)
    print(sanitize_text(line), file=sys.stderr)
    if not pids and not local_net:
        print(t(lang, "rollback_nothing_left"), file=sys.stderr)
        return finish()
    if args.dry_run:
        if not args.json:
            print(t(lang, "dry_run_rollback"))
        return finish()
    decision = decide(
        args,
        sanitize_text(t(lang, "confirm_rollback", id=backup.id)),
        t(lang, "not_restored_tty"),
        t(lang, "declined_rollback"),
    )
    if decision != "yes":
        return finish()
    out = service.restore(backup, db=args.db or "")
    doc["applied"] = True
    doc["result"] = outcome_dict(out)
    if args.json:
        emit_json(doc)
    if out.rolled_back:
        done = t(lang, "rolled_back", pids=", ".join(out.rolled_back))
        print(sanitize_text(done), file=sys.stderr)
    if out.rollback_failed:
        detail = "; ".join(f"{p}: {r}" for p, r in out.rollback_failed)
        conflicts = set(out.rollback_conflicts)
        cls = ConflictError if all(p in conflicts for p, _ in out.rollback_failed) else Error
        raise cls(f"not restored: {detail}")
    return 0
