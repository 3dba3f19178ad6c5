"""The findings report as check prints it, shared by `check` and `demo` (a private helper:
commands do not import one another)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from sdp_guard import __version__
from sdp_guard.commands._inputs import Inputs, now_iso


def use_color(choice: str, stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def report_document(inputs: Inputs, lang: str) -> dict[str, Any]:
    from sdp_guard.core.diagnose import evaluate
    from sdp_guard.core.render import to_document

    report = evaluate(inputs.pbx, inputs.stations, inputs.view)
    return to_document(
        report, lang=lang, checked_at=now_iso(), sources=inputs.sources, version=__version__
    )


def emit(doc: dict[str, Any], as_json: bool, color_choice: str) -> int:
    from sdp_guard.core.render import to_text

    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(to_text(doc, color=use_color(color_choice)))
    return int(doc["exit_code"])
