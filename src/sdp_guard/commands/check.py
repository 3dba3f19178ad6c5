"""Find every cause of one-way audio between this station and its tailnet peers.

Reads the MikoPBX providers (SQLite DB), the registry of advertised addresses (YAML) and the
local tailnet view (tailscaled's LocalAPI, or a snapshot file), and reports:

  host-differs-from-advertised          a provider still points at an old address
  peer-address-differs-from-advertised  a peer has another IPv4 in our tailnet than advertised
  advertised-address-taken              that address is another machine's here (renumber impossible)
  masqueraded-toward-peer               a peer knows OUR node by another address (SDP is wrong for it)
  tailnet-not-in-local-net              MikoPBX would put its external address into SDP
  peer-not-in-tailnet                   a station a provider needs is not shared with us
  provider-unmatched                    a tailnet provider that no registry station explains

exit codes (monitoring-plugin convention):
  0 OK, no warning or critical    1 WARNING    2 CRITICAL
  3 UNKNOWN: an input is unreadable or invalid, or the options are wrong

examples:
  sdp-guard check
  sdp-guard check --json | jq '.findings[].code'
  sdp-guard check --snapshot tailnet.json --db mikopbx.db --registry stations.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from sdp_guard import __version__
from sdp_guard.commands._inputs import (
    Inputs,
    add_input_options,
    load_config,
    load_inputs,
    now_iso,
    pick_lang,
)

EXIT_ON_INPUT_ERROR = 3
EXIT_ON_ERROR = 3
EXIT_ON_USAGE = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_options(p)
    out = p.add_argument_group("output")
    out.add_argument(
        "--json", action="store_true", help="one JSON document on stdout (docs/findings-json.md)"
    )
    out.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text report (auto: only on a terminal, never with NO_COLOR)",
    )


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


def run(args: argparse.Namespace) -> int:
    lang = "en"
    try:
        cfg = load_config(args)
        lang = pick_lang(cfg)
        inputs = load_inputs(args, cfg)
        return emit(report_document(inputs, lang), args.json, args.color)
    except Exception as e:
        # Monitoring parses stdout: with --json it gets one document whatever went wrong (the
        # error itself is reported on stderr by cli.py).
        if args.json:
            _unknown_json(e, lang)
        raise


def _unknown_json(e: Exception, lang: str) -> None:
    """With --json, monitoring still gets a document when an input fails (status unknown)."""
    from sdp_guard.core.render import to_document
    from sdp_guard.errors import DatabaseError, RegistryError, SnapshotError, TailnetError

    failed = {
        DatabaseError: "mikopbx",
        RegistryError: "registry",
        TailnetError: "tailscale",
        SnapshotError: "tailscale",
    }
    which = next((name for cls, name in failed.items() if isinstance(e, cls)), None)
    reason = str(e) if hasattr(e, "message") else f"{type(e).__name__}: {e}"
    sources = {
        name: {"up": False, "detail": reason if name == which else "not checked"}
        for name in ("tailscale", "mikopbx", "registry")
    }
    doc = to_document(
        None,
        lang=lang,
        checked_at=now_iso(),
        sources=sources,
        version=__version__,
        error=reason,
    )
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
