"""Per-boundary bookkeeping for the fuzz targets: cases run, worst time, worst memory.

Every generated case runs inside ``Budget.case()``, which measures its wall time and the peak of
memory it allocated (``tracemalloc``: Python allocations, including json/yaml/sqlite buffers
handed to Python) and fails the case when either is over the boundary's bound. The totals are
printed at the end of the run (``conftest.py``) and, with ``FUZZ_REPORT=path``, written as JSON.
"""

from __future__ import annotations

import contextlib
import os
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, settings

# CI runs the documented 1,000 generated cases per boundary; FUZZ_EXAMPLES raises it locally.
EXAMPLES = max(1000, int(os.environ.get("FUZZ_EXAMPLES", "1000")))

RESULTS: dict[str, dict[str, Any]] = {}


def fuzz_settings(examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,  # time is bounded by Budget, per case, with the boundary's own limit
        suppress_health_check=list(HealthCheck),
        derandomize=False,
        database=None,
    )


class Budget:
    def __init__(self, name: str, seconds: float = 2.0, mib: float = 64.0) -> None:
        self.name = name
        self.seconds = seconds
        self.limit = int(mib * 1024 * 1024)
        self.cases = 0
        self.worst_s = 0.0
        self.worst_bytes = 0
        self.outcomes: dict[str, int] = {}

    def __enter__(self) -> Budget:
        tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        tracemalloc.stop()
        RESULTS[self.name] = {
            "cases": self.cases,
            "worst_seconds": round(self.worst_s, 4),
            "worst_mib": round(self.worst_bytes / 1048576, 2),
            "outcomes": dict(sorted(self.outcomes.items())),
        }

    def outcome(self, label: str) -> None:
        self.outcomes[label] = self.outcomes.get(label, 0) + 1

    @contextlib.contextmanager
    def case(self) -> Iterator[None]:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        peak = max(0, tracemalloc.get_traced_memory()[1] - base)
        self.cases += 1
        self.worst_s = max(self.worst_s, dt)
        self.worst_bytes = max(self.worst_bytes, peak)
        assert dt <= self.seconds, f"{self.name}: one case took {dt:.2f} s (bound {self.seconds} s)"
        assert peak <= self.limit, f"{self.name}: one case allocated {peak / 1048576:.1f} MiB"

    def done(self, examples: int = EXAMPLES) -> None:
        assert self.cases >= examples, f"{self.name}: only {self.cases} cases ran"
