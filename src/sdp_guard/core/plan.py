"""What ``sdp-guard sync`` would change: a pure, immutable plan (after kopf's ``diffs.py``).

``plan_sync(pbx, report, ...)`` decides; adapters only carry a plan out. A plan holds

- ``changes``: one :class:`Change` per provider field (``host``, ``additional_hosts``,
  ``manualattributes``) or the PBX-wide ``local_net`` change, each with the old and the new value;
- ``waiting``: providers that need something done elsewhere first, each with a reason
  (``renumber-first``: the peer does not have its advertised address in our tailnet yet, ...);
- ``current``: the providers as they were when planned, so the diff shows context.

Rules (issue 4):

- A host change is planned only when the peer's address in our tailnet already equals the address
  its owner advertises. The new host is that advertised IPv4, a literal, never a MagicDNS name.
- The extra hosts (``m_SipHosts``) keep every unrelated address in place and in order; only stale
  ones (the old host, the peer's old tailnet address) are replaced by the advertised address.
- ``--fallback media-address`` puts the address the peer knows us by into the sdp-guard block of
  the provider's manual attributes (:mod:`sdp_guard.core.manualattrs`). Once present, the block
  follows the masquerade on every later sync and is removed when the masquerade disappears.
- ``--fix-local-net`` adds ``100.64.0.0/10`` to MikoPBX's local networks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdp_guard.core import manualattrs, mikopbx_text
from sdp_guard.core.addresses import TAILNET_V4_TEXT, is_ip, network_covers, normalize
from sdp_guard.core.diagnose import Report, stale_addresses
from sdp_guard.core.findings import Code
from sdp_guard.core.model import PbxConfig, Provider

SCHEMA_VERSION = 1

HOST = "host"
EXTRA_HOSTS = "additional_hosts"
MANUAL = "manualattributes"
LOCAL_NET = "local_net"

Value = str | tuple[str, ...] | None


@dataclass(frozen=True)
class Change:
    """One field of one provider (``provider=None``: the PBX-wide ``local_net``)."""

    op: str  # "change" | "add" | "remove"
    provider: str | None
    field: str
    old: Value
    new: Value

    def to_dict(self) -> dict[str, Any]:
        def j(v: Value) -> Any:
            return list(v) if isinstance(v, tuple) else v

        def shown(v: Value) -> Any:
            if self.field == MANUAL and isinstance(v, str):
                return manualattrs.mask_secrets(v)
            return j(v)

        return {
            "op": self.op,
            "provider": self.provider,
            "field": self.field,
            "old": shown(self.old),
            "new": shown(self.new),
        }


@dataclass(frozen=True)
class Waiting:
    """A provider (or the PBX) that sync leaves alone for now, and why."""

    provider: str | None
    station: str | None
    # renumber-first | advertised-taken | peer-not-in-tailnet | needs-fallback | needs-fix-local-net
    # | disabled | mikopbx-would-alter
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "station": self.station,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    current: tuple[Provider, ...] = field(default=(), compare=False)
    # providers disabled in MikoPBX that this plan changes anyway (--include-disabled)
    disabled: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def provider_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for c in self.changes:
            if c.provider is not None:
                seen.setdefault(c.provider, None)
        return tuple(seen)

    @property
    def local_net_change(self) -> Change | None:
        return next((c for c in self.changes if c.field == LOCAL_NET), None)

    def changes_for(self, provider_id: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.provider == provider_id)

    @property
    def summary(self) -> str:
        n = len(self.provider_ids)
        parts = []
        if n or self.local_net_change is None:
            parts.append(f"{n} provider{'s' if n != 1 else ''} to change")
        if self.local_net_change is not None:
            parts.append(f"local network {TAILNET_V4_TEXT} to add")
        text = "Plan: " + ", ".join(parts)
        if self.disabled:
            text += f" ({len(self.disabled)} disabled in MikoPBX, --include-disabled)"
        if self.waiting:
            text += f"; {len(self.waiting)} waiting"
        return text

    def render_diff(self) -> str:
        """Unified diff of the settings an operator sees in MikoPBX, "current" vs "planned"."""
        out: list[str] = []
        by_id = {p.id: p for p in self.current}
        for pid in self.provider_ids:
            cur = by_id.get(pid, Provider(id=pid))
            new = apply_changes(cur, self.changes_for(pid))
            label = f"{pid} ({cur.description})" if cur.description else pid
            if pid in self.disabled:
                label += " [disabled in MikoPBX]"
            out.extend(
                difflib.unified_diff(
                    settings_lines(cur),
                    settings_lines(new),
                    fromfile=f"current {label}",
                    tofile=f"planned {label}",
                    lineterm="",
                )
            )
        ln = self.local_net_change
        if ln is not None:
            old = list(ln.old or ())
            new_nets = list(ln.new or ())
            out.extend(
                difflib.unified_diff(
                    [f"local network: {n}" for n in old],
                    [f"local network: {n}" for n in new_nets],
                    fromfile="current local networks (MikoPBX network filters)",
                    tofile="planned local networks (Asterisk restarts: calls drop)",
                    lineterm="",
                )
            )
        return "\n".join(out) + ("\n" if out else "")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "summary": self.summary,
            "providers_to_change": list(self.provider_ids),
            "disabled_included": list(self.disabled),
            "changes": [c.to_dict() for c in self.changes],
            "waiting": [w.to_dict() for w in self.waiting],
        }


def settings_lines(p: Provider) -> list[str]:
    """The provider as an operator sees it in MikoPBX (never the secret)."""
    lines = [
        f"description: {p.description}",
        f"host: {p.host}",
        f"port: {p.port if p.port is not None else ''}",
        f"registration: {p.registration_type}",
    ]
    if p.extra_hosts:
        lines += [f"additional host: {a}" for a in p.extra_hosts]
    else:
        lines.append("additional hosts: (none)")
    if p.manualattributes:
        lines.append("manual attributes:")
        text = p.manualattributes[:-1] if p.manualattributes.endswith("\n") else p.manualattributes
        text = manualattrs.mask_secrets(text)
        lines += [f"  {line}" for line in text.split("\n")]
    else:
        lines.append("manual attributes: (none)")
    return lines


def apply_changes(p: Provider, changes: Iterable[Change]) -> Provider:
    """The provider after the changes (pure; the offline writer and the tests use it)."""
    for c in changes:
        if c.provider != p.id:
            continue
        if c.field == HOST:
            p = p._replace(host=str(c.new or ""))
        elif c.field == EXTRA_HOSTS:
            p = p._replace(extra_hosts=tuple(c.new or ()))
        elif c.field == MANUAL:
            p = p._replace(manualattributes=str(c.new or ""))
    return p


def new_extra_hosts(extra: Sequence[str], stale: Iterable[str], advertised: str) -> tuple[str, ...]:
    """Replace stale entries by the advertised address (once); keep everything else verbatim."""
    stale_set = {normalize(s) for s in stale}
    adv = normalize(advertised)
    have_adv = any(normalize(a) == adv for a in extra)
    out: list[str] = []
    for a in extra:
        n = normalize(a)
        if n in stale_set:
            if not have_adv:
                out.append(adv)
                have_adv = True
            continue
        out.append(a)
    return tuple(out)


def plan_sync(
    pbx: PbxConfig,
    report: Report,
    *,
    fallback_media_address: bool = False,
    fix_local_net: bool = False,
    include_disabled: bool = False,
    through_api: bool = True,
) -> Plan:
    """Decide every change from the same report ``check`` prints (pure).

    A provider disabled in MikoPBX is left alone (``check`` only informs about it), unless
    ``include_disabled``; then the plan names it. ``through_api``: the texts sync would send
    (the note it always resends, new manual attributes) are checked against what MikoPBX's API
    does to them (:mod:`sdp_guard.core.mikopbx_text`); a provider whose text it would alter waits,
    with the lines named.
    """
    changes: list[Change] = []
    waiting: list[Waiting] = []
    touched: dict[str, Provider] = {}
    located = {sv.station.name: sv for sv in report.stations}
    taken = {f.station for f in report.findings if f.code is Code.ADVERTISED_TAKEN}

    for m in report.matches:
        p, s = m.provider, m.station
        if s is None:
            continue
        sv = located.get(s.name)
        if sv is None or sv.is_self:
            continue
        adv = normalize(s.ipv4)
        observed = normalize(sv.node.ipv4) if sv.node is not None and sv.node.ipv4 else None
        stale = stale_addresses(p, adv, observed)
        if not stale:
            continue
        node = s.node or (sv.node.hostname if sv.node is not None else "") or "?"
        if observed != adv or not is_ip(adv):
            if s.name in taken:
                reason = "advertised-taken"
                detail = (
                    f"{adv} belongs to another machine in our tailnet; renumbering {node} is "
                    "impossible until it is freed (the peer can use --fallback media-address)"
                )
            elif sv.node is None:
                reason = "peer-not-in-tailnet"
                detail = f"machine {node} ({adv}) is not a peer in our tailnet"
            else:
                reason = "renumber-first"
                detail = (
                    f"renumber machine {node} to {adv} in the Tailscale admin console first "
                    f"(now {observed})"
                )
            waiting.append(Waiting(p.id, s.name, reason, detail))
            continue
        host = normalize(p.host)
        if host and host != adv:
            changes.append(Change("change", p.id, HOST, p.host, adv))
        extra = new_extra_hosts(p.extra_hosts, stale, adv)
        if extra != tuple(p.extra_hosts):
            changes.append(Change("change", p.id, EXTRA_HOSTS, tuple(p.extra_hosts), extra))
        touched[p.id] = p

    # The media_address fallback: follow the masquerade findings exactly as check reports them.
    masq: dict[str, str] = {}
    station_of: dict[str, str | None] = {}
    for f in report.findings:
        if f.code is Code.MASQUERADED and f.provider and f.masquerade:
            masq.setdefault(f.provider, f.masquerade)
            station_of.setdefault(f.provider, f.station)
    for p in pbx.providers:
        current = manualattrs.media_address(p.manualattributes)
        want = masq.get(p.id)
        if want is not None and current is None and not fallback_media_address:
            waiting.append(
                Waiting(
                    p.id,
                    station_of.get(p.id),
                    "needs-fallback",
                    f"the peer knows us as {want}; have it renumber us, or run with "
                    "--fallback media-address",
                )
            )
            continue
        if want is not None and current != want:
            new = manualattrs.set_media_address(p.manualattributes, want)
            op = "add" if current is None else "change"
        elif want is None and current is not None:
            new = manualattrs.remove_media_address(p.manualattributes)
            op = "remove"
        else:
            continue
        changes.append(Change(op, p.id, MANUAL, p.manualattributes, new))
        touched[p.id] = p

    if any(f.code is Code.NOT_IN_LOCAL_NET for f in report.findings):
        nets = tuple(pbx.local_net.local_networks)
        if not any(network_covers(n, TAILNET_V4_TEXT) for n in nets):
            if fix_local_net:
                changes.append(Change("add", None, LOCAL_NET, nets, (*nets, TAILNET_V4_TEXT)))
            else:
                waiting.append(
                    Waiting(
                        None,
                        None,
                        "needs-fix-local-net",
                        f"{TAILNET_V4_TEXT} is not a local network; run with --fix-local-net --yes "
                        "(Asterisk restarts, calls drop)",
                    )
                )

    off = {p.id for p in pbx.providers if p.disabled} & {c.provider for c in changes if c.provider}
    if off and not include_disabled:
        for p in pbx.providers:
            if p.id in off:
                station = next((w.station for w in waiting if w.provider == p.id), None)
                station = station or next(
                    (m.station.name for m in report.matches if m.provider.id == p.id and m.station),
                    None,
                )
                waiting.append(
                    Waiting(
                        p.id,
                        station,
                        "disabled",
                        "disabled in MikoPBX, so sync leaves it alone; add --include-disabled "
                        "to change it too",
                    )
                )
                touched.pop(p.id, None)
        changes = [c for c in changes if c.provider not in off]
        off = set()

    if through_api:
        changed = {c.provider for c in changes if c.provider}
        for p in pbx.providers:
            if p.id not in changed:
                continue
            sent = {"note": p.note}
            for c in changes:
                if c.provider == p.id and c.field == MANUAL:
                    sent[MANUAL] = str(c.new or "")
            alts = [a for f, t in sent.items() if (a := mikopbx_text.alteration(f, t)) is not None]
            if not alts:
                continue
            station = next(
                (m.station.name for m in report.matches if m.provider.id == p.id and m.station),
                None,
            )
            waiting.append(Waiting(p.id, station, "mikopbx-would-alter", _alter_detail(alts)))
            touched.pop(p.id, None)
            off.discard(p.id)
            changes = [c for c in changes if c.provider != p.id]

    order = {p.id: i for i, p in enumerate(pbx.providers)}
    changes.sort(
        key=lambda c: (c.provider is None, order.get(c.provider or "", 0), _FIELD_ORDER[c.field])
    )
    before = tuple(sorted(touched.values(), key=lambda p: order.get(p.id, 0)))
    disabled = tuple(p.id for p in pbx.providers if p.id in off)
    return Plan(tuple(changes), tuple(waiting), before, disabled)


_FIELD_ORDER = {HOST: 0, EXTRA_HOSTS: 1, MANUAL: 2, LOCAL_NET: 3}


def _alter_detail(alts: Sequence[mikopbx_text.Alteration]) -> str:
    what = "; ".join(a.describe() for a in alts)
    return (
        f"{what}. Nothing was sent. To keep those lines: stop MikoPBX and run `sdp-guard sync "
        "--offline-db` (it writes the DB directly), or rewrite them first (MikoPBX's web UI saves "
        "through the same API and alters them the same way)"
    )
