"""Pure diffs that decide what the daemon logs, and its counters.

The published :class:`Snapshot` type lives with its reader, :mod:`sdp_guard.adapters.metrics`
(layers: daemon > adapters > core), and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sdp_guard.adapters.metrics import (
    SOURCES,
    SYNC_RESULTS,
    WAKE_KINDS,
    ProviderRow,
    Snapshot,
    SourceStatus,
)
from sdp_guard.core.findings import Finding

__all__ = [
    "SOURCES",
    "SYNC_RESULTS",
    "WAKE_KINDS",
    "Counters",
    "ProviderRow",
    "Snapshot",
    "SourceStatus",
    "Transition",
    "diff_findings",
    "diff_sources",
    "finding_key",
]


@dataclass(frozen=True)
class Transition:
    kind: str  # appeared | cleared | changed
    finding: Finding
    before: Finding | None = None


def finding_key(f: Finding) -> tuple[str, str, str, str]:
    """What makes a finding 'the same one' across evaluations (addresses may change)."""
    return (f.code.value, f.provider or "", f.station or "", f.node or "")


def _addresses(f: Finding) -> tuple[object, ...]:
    return (f.severity, f.configured, f.advertised, f.observed, f.masquerade)


def diff_findings(old: Sequence[Finding], new: Sequence[Finding]) -> tuple[Transition, ...]:
    """Pure: what appeared, cleared, or changed (severity or an address) between two evaluations."""
    before = {finding_key(f): f for f in old}
    after = {finding_key(f): f for f in new}
    out: list[Transition] = []
    for k, f in after.items():
        prev = before.get(k)
        if prev is None:
            out.append(Transition("appeared", f))
        elif _addresses(prev) != _addresses(f):
            out.append(Transition("changed", f, prev))
    for k, f in before.items():
        if k not in after:
            out.append(Transition("cleared", f))
    order = {"appeared": 0, "changed": 1, "cleared": 2}
    out.sort(key=lambda t: (order[t.kind], t.finding.sort_key))
    return tuple(out)


def diff_sources(old: Mapping[str, bool], new: Mapping[str, bool]) -> tuple[tuple[str, bool], ...]:
    """Pure: (source, now_up) for each source whose up/down state changed.

    A source seen for the first time counts as a change only when it starts down (starting up is
    not news; starting down is).
    """
    out = []
    for name, up in new.items():
        was = old.get(name)
        if (was is None and not up) or (was is not None and was != up):
            out.append((name, up))
    return tuple(out)


@dataclass
class Counters:
    """Mutable counters owned by the loop thread; copied into each Snapshot."""

    syncs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYNC_RESULTS, 0))
    wakeups: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WAKE_KINDS, 0))
