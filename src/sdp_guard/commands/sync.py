"""Rewrite MikoPBX providers that still point at old tailnet addresses (TC25 step 4).

Plans with the same core as `check`, shows the plan as a diff of the provider settings, and
applies it through MikoPBX's REST API v3 (from 127.0.0.1 no token is needed), so MikoPBX
regenerates pjsip.conf and reloads Asterisk itself. Before the first write the full prior state
of every provider goes to a backup (state_dir/backups, mode 0600); each provider is re-read
right before its write and skipped if someone changed it since planning; every write is read
back; a failure or SIGTERM/SIGINT rolls back what this run wrote.

workflow:
  1. renumber the peer in the Tailscale admin console (see `sdp-guard check`)
  2. sdp-guard sync --dry-run      show the plan, write nothing
  3. sdp-guard sync                apply it (asks first; --yes for scripts)
  undo: sdp-guard backups; sdp-guard rollback [ID]

Host changes wait until the peer has its advertised address in our tailnet ("renumber first").
--fallback media-address: when a peer knows us by another address (masquerade) and we cannot be
renumbered there, put media_address = <that address> into the provider's manual attributes, in
a marked block sdp-guard owns; the next sync removes it when the masquerade is gone.
--fix-local-net: add 100.64.0.0/10 as a local network; MikoPBX restarts Asterisk (calls drop),
so it needs --yes.
Providers disabled in MikoPBX are left alone (listed under "Waiting") unless --include-disabled.
--offline-db: write the SQLite DB of a *stopped* MikoPBX in one transaction (refused while the
API answers); MikoPBX applies it when it starts.

Interactive runs ask before writing; without a terminal and without --yes, sync only plans.

exit codes:
  0 done, or nothing to do        1 error (anything written by this run was rolled back)
  75 another sync is running, or a provider changed since planning and was skipped
  69 the MikoPBX API is unreachable or refused     77/78 permission or configuration problem
  64 options that do not go together (e.g. --fix-local-net without --yes)
  with --dry-run --detailed-exitcode (as terraform plan): 0 no changes, 1 error, 2 changes pending
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sdp_guard.commands._inputs import add_input_options, load_config, load_inputs, pick_lang

EXIT_ON_INPUT_ERROR = 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_options(p)
    g = p.add_argument_group("sync")
    g.add_argument("--dry-run", action="store_true", help="show the plan and write nothing")
    g.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    g.add_argument(
        "--fallback",
        choices=("media-address",),
        help="for masqueraded peers, set media_address in the provider's manual attributes",
    )
    g.add_argument(
        "--fix-local-net",
        action="store_true",
        help="add 100.64.0.0/10 as a MikoPBX local network (Asterisk restarts; needs --yes)",
    )
    g.add_argument(
        "--include-disabled",
        action="store_true",
        help="also change providers that are disabled in MikoPBX (left alone by default)",
    )
    g.add_argument("--api-url", metavar="URL", help="MikoPBX web server (default http://127.0.0.1)")
    g.add_argument(
        "--state-dir", metavar="DIR", help="backups and lock (default /var/lib/sdp-guard)"
    )
    g.add_argument(
        "--offline-db",
        action="store_true",
        help="write the DB of a stopped MikoPBX directly (refused while its API answers)",
    )
    g.add_argument("--json", action="store_true", help="the plan (and result) as JSON on stdout")
    g.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="with --dry-run: exit 2 when changes are pending (0 none, 1 error)",
    )


def sync_config(args: argparse.Namespace) -> Any:
    cfg = load_config(args)
    return cfg.with_overrides(
        {
            "mikopbx.api_url": getattr(args, "api_url", None),
            "state_dir": getattr(args, "state_dir", None),
        }
    )


def make_api(cfg: Any) -> Any:
    from sdp_guard.adapters.mikopbx_api import MikoPbxApi, read_token

    token_file = cfg.settings.mikopbx_api_token_file
    token = read_token(token_file) if token_file else ""
    return MikoPbxApi(cfg.settings.mikopbx_api_url, token)


def confirm(prompt: str) -> bool:
    try:
        return input(prompt).strip().lower() in ("y", "yes", "はい")
    except EOFError:
        return False


def run(args: argparse.Namespace) -> int:
    from sdp_guard.core.diagnose import evaluate
    from sdp_guard.core.plan import plan_sync
    from sdp_guard.errors import UsageError
    from sdp_guard.sync.texts import render_plan, t

    if args.detailed_exitcode and not args.dry_run:
        raise UsageError("--detailed-exitcode goes with --dry-run")
    cfg = sync_config(args)
    lang = pick_lang(cfg)
    inputs = load_inputs(args, cfg)
    report = evaluate(inputs.pbx, inputs.stations, inputs.view)
    plan = plan_sync(
        inputs.pbx,
        report,
        fallback_media_address=args.fallback == "media-address",
        fix_local_net=args.fix_local_net,
        include_disabled=args.include_disabled,
        through_api=not args.offline_db,
    )
    doc: dict[str, Any] = {"schema_version": 1, "plan": plan.to_dict(), "result": None}
    err = sys.stderr
    if not args.json:
        sys.stdout.write(render_plan(plan, lang))
    pending = 2 if (args.detailed_exitcode and not plan.is_empty) else 0
    if plan.is_empty or args.dry_run:
        if not args.json:
            print(t(lang, "nothing" if plan.is_empty else "dry_run"))
        else:
            print(json.dumps(doc, indent=2, ensure_ascii=False))
        return pending
    if plan.local_net_change is not None:
        print(t(lang, "restart"), file=err)
        if not args.yes:
            raise UsageError(t(lang, "needs_yes"))
    if not args.yes:
        if not sys.stdin.isatty():
            print(t(lang, "not_applied_tty"), file=err)
            if args.json:
                print(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        if not confirm(t(lang, "confirm")):
            print(t(lang, "declined"), file=err)
            return 0
    outcome = apply(args, cfg, plan)
    doc["result"] = outcome_dict(outcome)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    return report_outcome(outcome, lang, offline=args.offline_db)


def apply(args: argparse.Namespace, cfg: Any, plan: Any) -> Any:
    from sdp_guard.commands._inputs import pick_lang
    from sdp_guard.errors import UsageError
    from sdp_guard.sync.backup import BackupStore, sync_lock
    from sdp_guard.sync.texts import t

    state_dir = cfg.settings.state_dir
    api = make_api(cfg)
    progress = _progress
    with sync_lock(state_dir):
        store = BackupStore(state_dir)
        for b in store.list()[-3:]:
            if b.status in ("applying", "applied", "rolling_back"):
                line = t(pick_lang(cfg), "unfinished", id=b.id, status=b.status)
                print(f"sdp-guard: {line}", file=sys.stderr)
        if args.offline_db:
            from sdp_guard.sync.offline import apply_offline

            if api.answers():
                raise UsageError(
                    f"MikoPBX answers at {api.base_url}: --offline-db is only for a stopped MikoPBX",
                    "drop --offline-db to write through the API, or stop MikoPBX first",
                )
            return apply_offline(cfg.db_path, store, plan, progress)
        from sdp_guard.sync.engine import ApiSync

        return ApiSync(api, store, plan, progress).run()


def _progress(msg: str) -> None:
    from sdp_guard.core.text import sanitize_text

    print(f"sdp-guard: {sanitize_text(msg)}", file=sys.stderr)


def outcome_dict(o: Any) -> dict[str, Any]:
    return {
        "ok": o.ok,
        "backup": o.backup_id,
        "written": o.written,
        "verified": o.verified,
        "skipped": [{"provider": p, "reason": r} for p, r in o.skipped],
        "local_net": o.local_net,
        "rolled_back": o.rolled_back,
        "rollback_failed": [{"provider": p, "reason": r} for p, r in o.rollback_failed],
        "error": o.error or None,
    }


def report_outcome(o: Any, lang: str, *, offline: bool = False) -> int:
    from sdp_guard.errors import ConflictError, Error
    from sdp_guard.sync.texts import t

    err = sys.stderr
    for pid, why in o.skipped:
        print(t(lang, "skipped", pid=pid, why=why), file=err)
    if o.error:
        if o.rolled_back:
            print(t(lang, "rolled_back", pids=", ".join(o.rolled_back)), file=err)
        failed = "; ".join(f"{p}: {r}" for p, r in o.rollback_failed)
        raise Error(
            f"sync failed: {o.error}" + (f"; NOT rolled back: {failed}" if failed else ""),
            f"backup {o.backup_id}: `sdp-guard rollback {o.backup_id}` restores it"
            if o.backup_id
            else "",
        )
    if o.backup_id and o.verified:
        print(t(lang, "done", n=len(o.verified), id=o.backup_id), file=err)
        if offline:
            print(t(lang, "offline_note"), file=err)
    if o.skipped:
        raise ConflictError(
            f"{len(o.skipped)} provider(s) changed since planning and were skipped",
            "run `sdp-guard sync --dry-run` again to see the new plan",
        )
    return 0
