"""Run `sdp-guard check` on a built-in demo station that has every kind of fault.

Needs no tailscaled, no MikoPBX and no root: it writes a MikoPBX DB (real schema), a registry
and a tailnet snapshot into a temporary directory, checks them, and prints what an operator
would see. Use --keep DIR to keep the files and run other commands on them, e.g.

  sdp-guard demo --keep /tmp/demo
  sdp-guard check --db /tmp/demo/mikopbx.db --registry /tmp/demo/stations.yaml \\
                  --snapshot /tmp/demo/tailnet-snapshot.json --json

Exit code: that of check (2: the demo has critical findings, as intended).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import TYPE_CHECKING

from sdp_guard.commands._inputs import load_config, load_inputs, pick_lang

if TYPE_CHECKING:
    from sdp_guard.demo import DemoFiles
from sdp_guard.commands._report import emit, report_document


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep", metavar="DIR", help="write the demo files into DIR and keep them")
    p.add_argument(
        "--json", action="store_true", help="print the findings document instead of text"
    )
    p.add_argument(
        "--lang", choices=("en", "ja"), help="operator language (default: from the locale)"
    )
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def run(args: argparse.Namespace) -> int:
    from sdp_guard import demo

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return _run_in(args, demo.build(args.keep))
    with tempfile.TemporaryDirectory(prefix="sdp-guard-demo-") as d:
        return _run_in(args, demo.build(d))


def _run_in(args: argparse.Namespace, files: DemoFiles) -> int:
    ns = argparse.Namespace(
        config=None,
        db=files.db,
        registry=files.registry,
        snapshot=files.snapshot,
        tailscale_socket=None,
        lang=args.lang,
    )
    cfg = load_config(ns)
    if not args.json:
        print(
            "sdp-guard demo: station Ochanomizu (100.70.10.2) and four peers; see "
            "`sdp-guard demo --help` for the story.\n",
            file=sys.stderr,
        )
    inputs = load_inputs(ns, cfg)
    rc = emit(report_document(inputs, pick_lang(cfg)), args.json, args.color)
    if not args.json:
        from sdp_guard.sync.texts import demo_plan

        sys.stdout.write(demo_plan(inputs.pbx, inputs.stations, inputs.view, pick_lang(cfg)))
    return rc
