"""Markdown tables of a bench/run result, for docs/benchmarks.md.

.venv/bin/python bench/_report.py bench/results/latest.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _targets(fig: dict[str, Any]) -> list[str]:
    out = []
    for t in fig.get("targets", ()):
        verdict = "met" if t["met"] else "**missed**"
        out.append(f"| {t['name']} | {t['value']:g}{t['unit']} | {t['limit']:g} | {verdict} |")
    return out


def report(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        f"Run of {m['date']}: {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, "
        f"Python {m['python']}, load average at start {m['load']}, "
        f"{doc['total_seconds']} s in total.",
        "",
        "| figure | target | value | limit | verdict |",
        "|---|---|---|---|---|",
    ]
    figs = doc["figures"]
    for key in sorted(figs, key=int):
        fig = figs[key]
        if fig.get("broken"):
            lines.append(f"| {key} | (script broke, exit {fig['exit']}) | | | |")
            continue
        for row in _targets(fig):
            lines.append(f"| {key} |{row[1:]}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(report(json.loads(Path(sys.argv[1]).read_text())))
