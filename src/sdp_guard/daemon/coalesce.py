"""Burst coalescing, pure: many wake-ups close together give one evaluation.

An evaluation is due ``quiet`` seconds after the last wake-up of a burst, but never later than
``max_delay`` after its first, so a steady stream of events cannot starve it. Sources woken
during an evaluation stay pending and cause the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# 10 ms still merges what tailscaled sends for one change (a Notify plus its table-52 route
# messages arrive within a few ms) and keeps change -> /metrics p99 well under 50 ms; 50 ms alone
# used the whole budget, 20 ms left a thin margin (bench/event_latency.py, docs/benchmarks.md).
QUIET = 0.01
MAX_DELAY = 0.25


def due_at(first: float, last: float, quiet: float = QUIET, max_delay: float = MAX_DELAY) -> float:
    return min(last + quiet, first + max_delay)


@dataclass
class Pending:
    """Which sources need a fresh read, and since when (monotonic clock passed in)."""

    quiet: float = QUIET
    max_delay: float = MAX_DELAY
    sources: set[str] = field(default_factory=set)
    first: float | None = None
    last: float | None = None

    def add(self, now: float, *sources: str) -> None:
        self.sources.update(sources)
        if self.first is None:
            self.first = now
        self.last = now

    def due(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return due_at(self.first, self.last, self.quiet, self.max_delay)

    def take(self, now: float) -> frozenset[str] | None:
        """The pending sources if the burst is due (and reset), else None."""
        d = self.due()
        if d is None or now < d:
            return None
        out = frozenset(self.sources)
        self.sources.clear()
        self.first = self.last = None
        return out
