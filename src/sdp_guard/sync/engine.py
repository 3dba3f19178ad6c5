"""Carry out a :class:`~sdp_guard.core.plan.Plan` through MikoPBX's REST API, and undo it.

The API is the only way to write while MikoPBX runs: its ORM events regenerate pjsip.conf and
reload Asterisk; direct SQLite writes are not noticed (design/mikopbx.md §3).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sdp_guard.adapters.mikopbx_api import ApiTimeout, MikoPbxApi, flag
from sdp_guard.core import mikopbx_text
from sdp_guard.core.addresses import TAILNET_V4_TEXT, normalize
from sdp_guard.core.plan import EXTRA_HOSTS, HOST, MANUAL, Change, Plan, Value
from sdp_guard.errors import ApiError, Error
from sdp_guard.sync.backup import Backup, BackupStore, redact

log = logging.getLogger(__name__)

TAILNET_DESCRIPTION = "Tailscale tailnet (added by sdp-guard)"
NOTE = "note"  # m_Providers.note, resent with every PATCH (a PATCH without it erases it)
# A new firewall record gets MikoPBX's default rule set, which allows every service
# (src/Common/Models/FirewallRules.php getDefaultRules). Open only SIP/RTP and ICMP to the tailnet.
TAILNET_RULES = {
    "SIP": True,
    "IAX": False,
    "WEB": False,
    "SSH": False,
    "AMI": False,
    "AJAM": False,
    "ICMP": True,
}


# A write whose answer timed out is watched for this many API timeouts, every SETTLE_POLL s.
SETTLE_FACTOR = 3.0
SETTLE_POLL = 0.2


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived while writing."""


class VerifyError(Error):
    """A provider did not read back as written."""


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into :class:`Interrupted` (so the caller's rollback runs)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGTERM/SIGINT while rolling back; they are reported, not acted on."""
    got: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        got.append(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield got
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# ------------------------------------------------------------------------- pure comparisons


def fields_of(state: dict[str, Any]) -> dict[str, Value]:
    """The plan's fields as the API shows them."""
    hosts = state.get("additionalHosts") or []
    return {
        HOST: str(state.get("host") or "").strip(),
        EXTRA_HOSTS: tuple(
            str(h.get("address") or "").strip()
            for h in hosts
            if isinstance(h, dict) and str(h.get("address") or "").strip()
        ),
        MANUAL: str(state.get("manualattributes") or ""),
    }


def same(name: str, a: Value, b: Value) -> bool:
    """Equal as MikoPBX stores them (it trims text fields on every save)."""
    if name in (MANUAL, HOST, NOTE):
        trim = mikopbx_text.PHP_TRIM
        return str(a or "").strip(trim) == str(b or "").strip(trim)
    return tuple(a or ()) == tuple(b or ())


def differs(current: dict[str, Value], expected: dict[str, Value]) -> list[str]:
    return [k for k, v in expected.items() if not same(k, current.get(k), v)]


def read_fields(state: dict[str, Any]) -> dict[str, Value]:
    """:func:`fields_of` plus the note (``m_Providers.note``)."""
    return {**fields_of(state), NOTE: str(state.get("note") or "")}


def sent_fields(body: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body in the plan's field names (JSON-ready), for verify to compare against."""
    out: dict[str, Any] = {
        NOTE: body.get("note", ""),
        EXTRA_HOSTS: [h.get("address", "") for h in body.get("additionalHosts", [])],
    }
    if "host" in body:
        out[HOST] = body["host"]
    if "manualattributes" in body:
        out[MANUAL] = body["manualattributes"]
    return out


def altered_texts(body: dict[str, Any]) -> list[mikopbx_text.Alteration]:
    """What MikoPBX's API would do to the texts of this PATCH body (empty: it keeps them)."""
    out = []
    for key in ("note", "manualattributes"):
        if key in body:
            a = mikopbx_text.alteration(key, str(body[key] or ""))
            if a is not None:
                out.append(a)
    return out


def patch_body(current: dict[str, Any], values: dict[str, Value]) -> dict[str, Any]:
    """A PATCH that survives both traps: ``note`` and the full ``additionalHosts`` always go along."""
    cur = fields_of(current)
    hosts = values.get(EXTRA_HOSTS, cur[EXTRA_HOSTS])
    body: dict[str, Any] = {
        "note": str(current.get("note") or ""),
        "additionalHosts": [{"address": a} for a in (hosts or ())],
    }
    if HOST in values:
        body["host"] = values[HOST]
    if MANUAL in values:
        body["manualattributes"] = values[MANUAL]
    return body


# ------------------------------------------------------------------------------ the run


@dataclass
class WriteOutcome:
    backup_id: str | None = None
    written: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (provider, why)
    local_net: str = ""  # "", "added", "enabled", "skipped: ..."
    rolled_back: list[str] = field(default_factory=list)
    rollback_failed: list[tuple[str, str]] = field(default_factory=list)
    # providers (of rollback_failed) left alone because someone changed them since sync
    rollback_conflicts: list[str] = field(default_factory=list)
    error: str = ""
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not (self.skipped or self.error or self.rollback_failed)


class ApiSync:
    """Apply a plan through the REST API with backup, compare-and-swap, verify and rollback.

    State machine of a run (kept in the backup journal, ``status``)::

        planned ──backup written──▶ applying ──each PATCH──▶ applied ──re-read ok──▶ verified
           │                          │  │                                            │
           │ nothing to write         │  └─ error / SIGTERM / SIGINT ─▶ rolling_back ─┤
           ▼                          ▼                                  │            ▼
        (no backup)          skipped (CAS refused)            rolled_back | rollback_incomplete
                                                                                committed

    - *planned*: the plan exists; nothing is written. Each provider is re-read first and compared
      with what the plan was made from (compare-and-swap); a changed provider is skipped.
    - The **backup** (full prior state of every provider about to change) is fsynced before the
      first write. A ``kill -9`` at any later point leaves every provider either untouched or
      fully written (each PATCH is one MikoPBX transaction), and the journal says which may have
      been written, so ``sdp-guard rollback`` can restore them.
    - *applying*: immediately before each PATCH the provider is read again (CAS); the PATCH always
      resends ``note`` and the full ``additionalHosts`` (the two API traps).
    - *verified*: every written provider reads back as planned. *committed*: done.
    - On any error or SIGTERM/SIGINT: *rolling_back* undoes, newest first, what this run wrote
      (again with CAS: a provider someone changed meanwhile is left alone and reported). Signals
      are deferred while rolling back.
    """

    def __init__(
        self,
        api: MikoPbxApi,
        store: BackupStore,
        plan: Plan,
        progress: Callable[[str], None] = lambda s: None,
    ) -> None:
        self.api = api
        self.store = store
        self.plan = plan
        self.progress = progress
        self.outcome = WriteOutcome()
        self.backup: Backup | None = None
        # how long a timed-out write is watched for landing late
        self.settle = SETTLE_FACTOR * api.timeout

    def run(self) -> WriteOutcome:
        plan, out = self.plan, self.outcome
        before: dict[str, dict[str, Any]] = {}
        for pid in plan.provider_ids:
            state = self.api.get_provider(pid)
            bad = differs(fields_of(state), _olds(plan.changes_for(pid)))
            if bad:
                out.skipped.append((pid, f"changed since planning ({', '.join(bad)})"))
                continue
            before[pid] = state
        ln = plan.local_net_change
        filters_before: list[dict[str, Any]] | None = None
        if ln is not None:
            filters_before = self.api.list_filters()
            if _tailnet_local(filters_before):
                out.local_net = "skipped: already a local network"
                filters_before = None
        if not before and filters_before is None:
            return out
        backup = self.store.create("api", self.api.base_url, plan.to_dict())
        for pid, state in before.items():
            changes = plan.changes_for(pid)
            backup.doc["providers"][pid] = {
                "before": redact(state),
                "after": {c.field: _j(c.new) for c in changes},
                "fields": [c.field for c in changes],
                "state": "planned",
            }
        if filters_before is not None:
            backup.doc["local_net"] = {"before": filters_before, "state": "planned"}
        backup.save()
        self.backup = backup
        out.backup_id = backup.id
        self.progress(f"backup {backup.path}")
        try:
            with signals_raise():
                backup.set_status("applying")
                for pid in before:
                    self._write_one(pid)
                if filters_before is not None:
                    self._local_net(filters_before)
                backup.set_status("applied")
                for pid in out.written:
                    self._verify_one(pid)
                backup.set_status("verified")
            backup.set_status("committed")
        except BaseException as e:
            # Anything at all (a bug, MemoryError, SystemExit) undoes what this run wrote; only
            # the expected failures end here, the rest is re-raised once the rollback is done.
            out.interrupted = isinstance(e, Interrupted)
            out.error = f"interrupted by {e}" if out.interrupted else (str(e) or type(e).__name__)
            self.progress(f"error: {out.error}; rolling back what this run wrote")
            with signals_deferred():
                rollback(self.api, backup, out, self.progress)
            if not isinstance(e, (Error, Interrupted, OSError)):
                raise
        return out

    def _write_one(self, pid: str) -> None:
        assert self.backup is not None
        entry = self.backup.doc["providers"][pid]
        current = self.api.get_provider(pid)
        bad = differs(fields_of(current), {k: v for k, v in fields_of(entry["before"]).items()})
        if bad:
            self.outcome.skipped.append((pid, f"changed since planning ({', '.join(bad)})"))
            self.backup.set_provider(pid, "skipped")
            return
        values = {k: _value(k, v) for k, v in entry["after"].items()}
        body = patch_body(current, values)
        alts = altered_texts(body)
        if alts:  # the plan checked these too, but the note may have changed since
            why = "; ".join(a.describe() for a in alts)
            self.outcome.skipped.append((pid, f"not written: {why}"))
            self.backup.set_provider(pid, "skipped")
            return
        entry["sent"] = sent_fields(body)
        self.backup.set_provider(pid, "writing")
        try:
            saved = self.api.patch_provider(pid, body)
        except ApiTimeout:
            # The PATCH may still land after we gave up: watch before deciding, and never call
            # it "not written" on the strength of one early read.
            landed = self._settle(pid, entry["before"])
            if landed is None:
                self.backup.set_provider(pid, "unknown")
                raise
            self.progress(f"{pid}: MikoPBX answered late, but the write landed")
            saved = landed
        # What MikoPBX actually stored (it trims and filters text): rollback accepts this too.
        entry["read_back"] = {k: _j(v) for k, v in fields_of(saved).items() if k in values}
        self.backup.set_provider(pid, "written")
        self.outcome.written.append(pid)
        self.progress(f"{pid}: written")

    def _settle(self, pid: str, before: dict[str, Any]) -> dict[str, Any] | None:
        """After a timed-out write: the provider once it differs from ``before``, or None if it
        still does not after ``settle`` seconds (the write may land even later)."""
        deadline = time.monotonic() + self.settle
        old = fields_of(before)
        while True:
            with contextlib.suppress(ApiError):
                now = self.api.get_provider(pid)
                if differs(fields_of(now), old) or str(now.get("note") or "") != str(
                    before.get("note") or ""
                ):
                    return now
            if time.monotonic() >= deadline:
                return None
            time.sleep(SETTLE_POLL)

    def _verify_one(self, pid: str) -> None:
        assert self.backup is not None
        entry = self.backup.doc["providers"][pid]
        now = self.api.get_provider(pid)
        # Every field the PATCH carried, not only the planned ones: MikoPBX may alter any of them.
        sent = entry.get("sent") or {
            **{k: v for k, v in fields_of(entry["before"]).items() if k == EXTRA_HOSTS},
            NOTE: str(entry["before"].get("note") or ""),
            **entry["after"],
        }
        bad = differs(read_fields(now), {k: _value(k, v) for k, v in sent.items()})
        if bad:
            raise VerifyError(f"{pid} does not read back as written ({', '.join(bad)})")
        self.backup.set_provider(pid, "verified")
        self.outcome.verified.append(pid)
        self.progress(f"{pid}: verified")

    def _local_net(self, filters: list[dict[str, Any]]) -> None:
        assert self.backup is not None
        entry = self.backup.doc["local_net"]
        existing = _tailnet_filter(filters)
        if existing is not None:
            entry.update(action="enable", id=str(existing.get("id")), state="writing")
            self.backup.save()
            self.api.patch_filter(str(existing.get("id")), {"local_network": True})
            self.outcome.local_net = "enabled"
        else:
            entry.update(action="create", state="writing")
            self.backup.save()
            made = self.api.create_filter(
                {
                    "network": TAILNET_V4_TEXT.split("/")[0],
                    "subnet": TAILNET_V4_TEXT.split("/")[1],
                    "local_network": True,
                    "newer_block_ip": False,
                    "description": TAILNET_DESCRIPTION,
                    "currentRules": TAILNET_RULES,
                }
            )
            entry["id"] = str(made.get("id", ""))
            self.outcome.local_net = "added"
        entry["state"] = "written"
        self.backup.save()
        self.progress(f"local network {TAILNET_V4_TEXT}: {self.outcome.local_net}")


def rollback(
    api: MikoPbxApi,
    backup: Backup,
    out: WriteOutcome,
    progress: Callable[[str], None] = lambda s: None,
) -> WriteOutcome:
    """Undo what ``backup`` recorded, newest first, each provider with compare-and-swap."""
    backup.set_status("rolling_back")
    ln = backup.doc.get("local_net")
    if ln and ln.get("state") in ("writing", "written"):
        try:
            _undo_local_net(api, ln)
            ln["state"] = "rolled_back"
            backup.save()
        except Exception as e:
            out.rollback_failed.append(("local_net", str(e)))
    for pid in reversed(list(backup.doc["providers"])):
        entry = backup.doc["providers"][pid]
        if entry.get("state") not in ("writing", "written", "verified", "unknown"):
            continue
        try:
            current = api.get_provider(pid)
            cur = fields_of(current)
            before = fields_of(entry["before"])
            fields = list(entry["fields"])
            after = {k: _value(k, v) for k, v in entry["after"].items()}
            read_back = {k: _value(k, v) for k, v in (entry.get("read_back") or {}).items()}
            if not differs(cur, {k: before[k] for k in fields}):
                if entry.get("state") == "unknown":
                    # Its answer timed out: it may land later, so it stays on the books.
                    out.rollback_failed.append(
                        (
                            pid,
                            "its write timed out and had not landed when checked; run "
                            f"`sdp-guard rollback {backup.id}` again later",
                        )
                    )
                    continue
                entry["state"] = "not_written"  # the write never landed
                backup.save()
                continue
            if differs(cur, after) and (not read_back or differs(cur, read_back)):
                out.rollback_failed.append(
                    (pid, f"changed by someone else since sync ({', '.join(differs(cur, after))})")
                )
                out.rollback_conflicts.append(pid)
                continue
            # The note comes from the backup too: if MikoPBX altered it, this restores it.
            body = patch_body(
                {**current, "note": entry["before"].get("note", current.get("note"))},
                {k: before[k] for k in fields},
            )
            api.patch_provider(pid, body)
            # "Rolled back" only when it reads back as the backup, every field we sent.
            want = {
                **{k: v for k, v in read_fields(entry["before"]).items() if k in fields},
                NOTE: str(entry["before"].get("note") or ""),
                EXTRA_HOSTS: before[EXTRA_HOSTS] if EXTRA_HOSTS in fields else cur[EXTRA_HOSTS],
            }
            off = differs(read_fields(api.get_provider(pid)), want)
            if off:
                entry["state"] = "restore_differs"
                backup.save()
                out.rollback_failed.append(
                    (
                        pid,
                        f"restored, but MikoPBX stored something else ({', '.join(off)}); "
                        f"compare it with backup {backup.id}",
                    )
                )
                continue
            entry["state"] = "rolled_back"
            backup.save()
            out.rolled_back.append(pid)
            progress(f"{pid}: restored")
        except Exception as e:  # one provider's failure must not stop the others' restore
            out.rollback_failed.append((pid, str(e) or type(e).__name__))
    backup.set_status("rollback_incomplete" if out.rollback_failed else "rolled_back")
    return out


def _undo_local_net(api: MikoPbxApi, ln: dict[str, Any]) -> None:
    filters = api.list_filters()
    if ln.get("action") == "enable" and ln.get("id"):
        api.patch_filter(str(ln["id"]), {"local_network": False})
        return
    made = str(ln.get("id") or "")
    for f in filters:
        if normalize(str(f.get("permit", ""))) != TAILNET_V4_TEXT:
            continue
        # The record this run created: by the id MikoPBX answered, else by our description.
        if (made and f.get("id") == made) or (
            not made and str(f.get("description") or "").strip() == TAILNET_DESCRIPTION
        ):
            api.delete_filter(str(f.get("id")))


def _tailnet_filter(filters: list[dict[str, Any]]) -> dict[str, Any] | None:
    for f in filters:
        if normalize(str(f.get("permit", "")).strip()) == TAILNET_V4_TEXT:
            return f
    return None


def _tailnet_local(filters: list[dict[str, Any]]) -> bool:
    from sdp_guard.core.addresses import network_covers

    return any(
        flag(f.get("local_network")) and network_covers(str(f.get("permit", "")), TAILNET_V4_TEXT)
        for f in filters
    )


def _olds(changes: tuple[Change, ...]) -> dict[str, Value]:
    return {c.field: c.old for c in changes}


def _j(v: Value) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _value(name: str, v: Any) -> Value:
    if name == EXTRA_HOSTS:
        return tuple(str(x) for x in (v or ()))
    return None if v is None else str(v)
