"""``daemon.auto_sync: hosts``: the host-only part of ``sdp-guard sync --yes``.

The daemon decides *whether*: a plan from a view in which every source is up, restricted to the
``host`` and ``additional_hosts`` changes (``plan_sync`` plans those only once the peer already
has its advertised address in our tailnet). Never the media-address fallback, never local_net.
The write goes through the same engine as ``sdp-guard sync`` (:class:`~sdp_guard.sync.engine.
ApiSync`: lock, backup, compare-and-swap, REST PATCH, verify, roll back), so the daemon writes
to MikoPBX in no other way than the command does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sdp_guard import config as config_mod
from sdp_guard.core.diagnose import Report
from sdp_guard.core.model import PbxConfig
from sdp_guard.core.plan import EXTRA_HOSTS, HOST, Plan, plan_sync


@dataclass(frozen=True)
class Result:
    ok: bool
    written: tuple[str, ...]
    backup: str | None
    error: str
    interrupted: bool


def host_plan(pbx: PbxConfig, report: Report) -> Plan:
    """Pure: the host-only plan the daemon may apply (empty when there is nothing to do)."""
    plan = plan_sync(pbx, report)
    changes = tuple(c for c in plan.changes if c.field in (HOST, EXTRA_HOSTS))
    return Plan(changes=changes, waiting=(), current=plan.current)


def apply(
    cfg: config_mod.Config, plan: Plan, progress: Callable[[str], None] = lambda s: None
) -> Result:
    """Run the plan through MikoPBX's REST API (must be called on the main thread: the engine
    turns SIGTERM into a rollback while it writes)."""
    from sdp_guard.adapters.mikopbx_api import MikoPbxApi, read_token
    from sdp_guard.sync.backup import BackupStore, sync_lock
    from sdp_guard.sync.engine import ApiSync

    token_file = cfg.settings.mikopbx_api_token_file
    token = read_token(token_file) if token_file else ""
    api = MikoPbxApi(cfg.settings.mikopbx_api_url, token)
    state_dir = cfg.settings.state_dir
    with sync_lock(state_dir):
        out = ApiSync(api, BackupStore(state_dir), plan, progress).run()
    skipped = "; ".join(f"{p}: {why}" for p, why in out.skipped)
    error = "; ".join(x for x in (out.error, skipped) if x)
    return Result(
        ok=out.ok,
        written=tuple(out.written),
        backup=out.backup_id,
        error=error,
        interrupted=out.interrupted,
    )
