"""The one write path to MikoPBX: `sdp-guard sync`, `sdp-guard rollback` and the daemon's
auto-sync all go through :class:`WriteService`.

It owns the sequence every write needs, so no caller writes it again: open MikoPBX's REST API
(with the token, if one is configured), hold ``<state_dir>/sync.lock``, open the backup store,
warn about a run that did not finish, then apply a plan (:class:`~sdp_guard.sync.engine.ApiSync`,
or :func:`~sdp_guard.sync.offline.apply_offline` for a stopped MikoPBX) or restore a backup
(:func:`~sdp_guard.sync.engine.rollback` / :func:`~sdp_guard.sync.offline.rollback_offline`).

Settings arrive as plain values (:class:`Target`); callers decide where they come from. What is
said along the way goes to two callbacks: ``progress`` (each step) and ``warn`` (something the
operator should act on); the CLI prints both to stderr, the daemon logs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sdp_guard.adapters.mikopbx_api import MikoPbxApi, read_token
from sdp_guard.core.plan import Plan
from sdp_guard.errors import InputError, UsageError
from sdp_guard.sync.backup import Backup, BackupStore, sync_lock
from sdp_guard.sync.engine import ApiSync, WriteOutcome, rollback, signals_deferred

# A journal left in one of these states belongs to a run that was killed mid-write.
UNFINISHED = ("applying", "applied", "rolling_back")
# Provider step states that may have reached MikoPBX, so a rollback looks at them.
RESTORABLE = ("writing", "written", "verified", "unknown")


@dataclass(frozen=True)
class Target:
    """Where writes go: MikoPBX's web server, its API token file ("" for none: from 127.0.0.1
    MikoPBX needs none), and the state directory holding the lock and the backups."""

    api_url: str
    token_file: str
    state_dir: str


def _quiet(msg: str) -> None:
    pass


def unfinished_runs(backups: list[Backup]) -> list[Backup]:
    """Of the newest three journals, those whose run stopped mid-write (kill -9, power loss)."""
    return [b for b in backups[-3:] if b.status in UNFINISHED]


def restorable(backup: Backup) -> tuple[list[str], bool]:
    """What a rollback of ``backup`` would look at: providers that may have been written, and
    whether the local-network change may have been."""
    pids = [p for p, e in backup.doc.get("providers", {}).items() if e.get("state") in RESTORABLE]
    ln = backup.doc.get("local_net") or {}
    return pids, ln.get("state") in ("writing", "written")


class WriteService:
    def __init__(
        self,
        target: Target,
        *,
        lang: str = "en",
        progress: Callable[[str], None] = _quiet,
        warn: Callable[[str], None] = _quiet,
    ) -> None:
        self.target = target
        self.lang = lang
        self.progress = progress
        self.warn = warn

    @property
    def store(self) -> BackupStore:
        return BackupStore(self.target.state_dir)

    def open_api(self) -> MikoPbxApi:
        token = read_token(self.target.token_file) if self.target.token_file else ""
        return MikoPbxApi(self.target.api_url, token)

    def apply(self, plan: Plan, *, offline_db: str = "") -> WriteOutcome:
        """Carry out ``plan`` under the lock, with a backup first. ``offline_db``: write that DB
        of a *stopped* MikoPBX instead (refused while the API answers)."""
        api = self.open_api()
        with sync_lock(self.target.state_dir):
            store = self.store
            self._warn_unfinished(store)
            if offline_db:
                from sdp_guard.sync.offline import apply_offline

                if api.answers():
                    raise UsageError(
                        f"MikoPBX answers at {api.base_url}: --offline-db is only for a stopped "
                        "MikoPBX",
                        "drop --offline-db to write through the API, or stop MikoPBX first",
                    )
                return apply_offline(offline_db, store, plan, self.progress)
            return ApiSync(api, store, plan, self.progress).run()

    def _warn_unfinished(self, store: BackupStore) -> None:
        from sdp_guard.sync.texts import t

        for b in unfinished_runs(store.list()):
            self.warn(t(self.lang, "unfinished", id=b.id, status=b.status))

    def pick_backup(self, bid: str | None) -> Backup | None:
        """Backup ``bid``, or (None) the newest one not yet rolled back; None when there is none.
        A damaged newest journal is an error: it is the run an operator means to undo."""
        store = self.store
        if bid:
            return store.load(bid)
        candidates = [b for b in store.list() if b.status not in ("rolled_back", "planned")]
        newest_ok = f"{candidates[-1].id}.json" if candidates else ""
        if store.damaged and store.damaged[-1][0] > newest_ok:
            name, why = store.damaged[-1]
            raise InputError(
                f"no usable backup to roll back: {why}",
                f"look at {store.dir}/{name}; to restore an older backup pass its ID",
            )
        return candidates[-1] if candidates else None

    def restore(self, backup: Backup, *, db: str = "") -> WriteOutcome:
        """Undo what ``backup`` recorded, under the lock. ``db``: for a backup made with
        --offline-db, the DB of the stopped MikoPBX (default: the one the backup names)."""
        out = WriteOutcome(backup_id=backup.id)
        with sync_lock(self.target.state_dir):
            if backup.doc.get("mode") == "offline-db":
                from sdp_guard.sync.offline import rollback_offline

                db = db or str(backup.doc.get("target") or "")
                if not db:
                    raise InputError("this backup was made with --offline-db; pass --db PATH")
                api = self.open_api()
                if api.answers():
                    raise UsageError(
                        f"MikoPBX answers at {api.base_url}: an --offline-db backup can only be "
                        "restored while MikoPBX is stopped"
                    )
                rollback_offline(db, backup, out)
            else:
                api = self.open_api()
                with signals_deferred():
                    rollback(api, backup, out, self.progress)
        return out


def outcome_dict(o: WriteOutcome) -> dict[str, object]:
    """A run's result as JSON (the ``result`` of `sync --json` and `rollback --json`)."""
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
