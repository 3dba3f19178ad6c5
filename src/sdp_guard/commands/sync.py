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

As rollback and renumber: --dry-run writes nothing; --yes never asks; without it, interactive
runs ask first, and without a terminal sync only plans ("add --yes", exit 0). --json prints one
JSON document on stdout (plan, "applied", result); messages stay on stderr. Before writing,
sync warns about an earlier run that did not finish and names the rollback that undoes it.

exit codes:
  0 done, or nothing to do        1 error (anything written by this run was rolled back)
  75 another sync is running, or a provider changed since planning and was skipped
  69 the MikoPBX API is unreachable or refused     77/78 permission or configuration problem
  64 options that do not go together (e.g. --fix-local-net without --yes)
  with --dry-run --detailed-exitcode (as terraform plan): 0 no changes, 1 error, 2 changes pending
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sdp_guard.commands._inputs import add_input_options, load_inputs, pick_lang
from sdp_guard.commands._write import add_write_options, decide, emit_json, write_config

EXIT_ON_INPUT_ERROR = 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_options(p)
    g = p.add_argument_group("writing")
    add_write_options(g)
    g.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="with --dry-run: exit 2 when changes are pending (0 none, 1 error)",
    )
    g = p.add_argument_group("sync")
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


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands._write import stderr_line, write_target
    from sdp_guard.core.diagnose import evaluate
    from sdp_guard.core.plan import plan_sync
    from sdp_guard.errors import UsageError
    from sdp_guard.sync.service import WriteService, outcome_dict
    from sdp_guard.sync.texts import render_plan, t

    if args.detailed_exitcode and not args.dry_run:
        raise UsageError("--detailed-exitcode goes with --dry-run")
    cfg = write_config(args)
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
    doc: dict[str, Any] = {
        "schema_version": 1,
        "plan": plan.to_dict(),
        "applied": False,
        "result": None,
    }
    err = sys.stderr
    if not args.json:
        sys.stdout.write(render_plan(plan, lang))
    pending = 2 if (args.detailed_exitcode and not plan.is_empty) else 0
    if plan.is_empty or args.dry_run:
        if not args.json:
            print(t(lang, "nothing" if plan.is_empty else "dry_run"))
        else:
            emit_json(doc)
        return pending
    if plan.local_net_change is not None:
        print(t(lang, "restart"), file=err)
        if not args.yes:
            raise UsageError(t(lang, "needs_yes"))
    decision = decide(args, t(lang, "confirm"), t(lang, "not_applied_tty"), t(lang, "declined"))
    if decision != "yes":
        if args.json:
            emit_json(doc)
        return 0
    service = WriteService(write_target(cfg), lang=lang, progress=stderr_line, warn=stderr_line)
    outcome = service.apply(plan, offline_db=cfg.db_path if args.offline_db else "")
    doc["applied"] = True
    doc["result"] = outcome_dict(outcome)
    if args.json:
        emit_json(doc)
    return report_outcome(outcome, lang, offline=args.offline_db)


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
