from __future__ import annotations

import json
import os
from typing import Any

from tests.fuzz.budget import RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("fuzz boundaries: generated cases, worst time, worst memory")
    for name, r in sorted(RESULTS.items()):
        tr.write_line(
            f"{name:28} {r['cases']:6d} cases  worst {r['worst_seconds'] * 1000:8.1f} ms  "
            f"{r['worst_mib']:7.2f} MiB  {r['outcomes']}"
        )
    path = os.environ.get("FUZZ_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(RESULTS, f, indent=2, sort_keys=True)
