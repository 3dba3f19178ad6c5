"""Restore providers from a sync backup (default: the newest one not yet rolled back).

Goes through the same path as sync: MikoPBX's REST API (or, for a backup made with
--offline-db, the DB of the stopped MikoPBX), one provider at a time, with compare-and-swap: a
provider is restored only while it still holds what sync wrote; one someone changed since is
left alone and reported (exit 75). Interactive runs ask first; scripts pass --yes.

exit codes: 0 restored (or nothing to restore), 1 error, 65 no such backup (or a damaged one),
75 another sync is running or a provider changed since sync, 69 API unreachable, 77 the state
directory cannot be read by this user (run as root)
"""

from __future__ import annotations

import argparse
import sys

from sdp_guard.commands._inputs import add_config_option


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("id", nargs="?", metavar="ID", help="backup id from `sdp-guard backups`")
    p.add_argument("--yes", "-y", action="store_true", help="restore without asking")
    p.add_argument("--api-url", metavar="URL", help="MikoPBX web server (default http://127.0.0.1)")
    p.add_argument("--state-dir", metavar="DIR", help="default /var/lib/sdp-guard")
    p.add_argument("--db", metavar="PATH", help="the DB, for backups made with --offline-db")
    p.add_argument("--lang", choices=("en", "ja"), help="operator language")


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands._inputs import pick_lang
    from sdp_guard.commands.sync import confirm, make_api, sync_config
    from sdp_guard.core.text import sanitize_text
    from sdp_guard.errors import ConflictError, Error, InputError, UsageError
    from sdp_guard.sync.backup import BackupStore, sync_lock
    from sdp_guard.sync.engine import Outcome, rollback, signals_deferred
    from sdp_guard.sync.texts import t

    cfg = sync_config(args)
    lang = pick_lang(cfg)
    state_dir = cfg.settings.state_dir
    store = BackupStore(state_dir)
    if args.id:
        backup = store.load(args.id)
    else:
        candidates = [b for b in store.list() if b.status not in ("rolled_back", "planned")]
        newest_ok = f"{candidates[-1].id}.json" if candidates else ""
        if store.damaged and store.damaged[-1][0] > newest_ok:
            # The newest journal is the run an operator means to undo: never skip it silently.
            name, why = store.damaged[-1]
            raise InputError(
                f"no usable backup to roll back: {why}",
                f"look at {store.dir}/{name}; to restore an older backup pass its ID",
            )
        if not candidates:
            print(t(lang, "rollback_none", dir=store.dir), file=sys.stderr)
            return 0
        backup = candidates[-1]
    pids = [
        p
        for p, e in backup.doc.get("providers", {}).items()
        if e.get("state") in ("writing", "written", "verified", "unknown")
    ]
    ln = backup.doc.get("local_net") or {}
    mode = backup.doc.get("mode")  # any JSON value: the whole line is shown escaped
    pids_text = ", ".join(pids) or "-"
    line = t(lang, "rollback_backup", id=backup.id, status=backup.status, mode=mode, pids=pids_text)
    print(sanitize_text(line), file=sys.stderr)
    if not pids and ln.get("state") not in ("writing", "written"):
        print(t(lang, "rollback_nothing_left"), file=sys.stderr)
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(t(lang, "rollback_no_tty"))
        if not confirm(t(lang, "confirm_rollback", id=backup.id)):
            print(t(lang, "declined"), file=sys.stderr)
            return 0
    out = Outcome(backup_id=backup.id)
    with sync_lock(state_dir):
        if backup.doc.get("mode") == "offline-db":
            from sdp_guard.sync.offline import rollback_offline

            db = args.db or str(backup.doc.get("target") or "")
            if not db:
                raise InputError("this backup was made with --offline-db; pass --db PATH")
            api = make_api(cfg)
            if api.answers():
                raise UsageError(
                    f"MikoPBX answers at {api.base_url}: an --offline-db backup can only be "
                    "restored while MikoPBX is stopped"
                )
            rollback_offline(db, backup, out)
        else:
            api = make_api(cfg)
            with signals_deferred():
                rollback(api, backup, out, _progress)
    if out.rolled_back:
        print(t(lang, "rolled_back", pids=", ".join(out.rolled_back)), file=sys.stderr)
    if out.rollback_failed:
        detail = "; ".join(f"{p}: {r}" for p, r in out.rollback_failed)
        conflicts = set(out.rollback_conflicts)
        cls = ConflictError if all(p in conflicts for p, _ in out.rollback_failed) else Error
        raise cls(f"not restored: {detail}")
    return 0


def _progress(msg: str) -> None:
    from sdp_guard.core.text import sanitize_text

    print(f"sdp-guard: {sanitize_text(msg)}", file=sys.stderr)
