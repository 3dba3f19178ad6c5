"""Save the local tailnet view (LocalAPI status + whois of the peers that matter) to one JSON file.

Analyse it later with `sdp-guard check --snapshot FILE`, or attach it to a bug report. The file
holds machine names, tailnet addresses and login names (no keys); it is written mode 0600.

  sdp-guard snapshot -o tailnet.json
"""

from __future__ import annotations

import argparse
import sys

from sdp_guard.commands._inputs import add_input_options, load_config, load_inputs, now_iso


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="where to write (- for stdout)"
    )
    add_input_options(p, snapshot=False)


def run(args: argparse.Namespace) -> int:
    import json

    from sdp_guard import __version__
    from sdp_guard.adapters.snapshot import make_snapshot, write_json_atomic

    if args.output != "-":
        from sdp_guard.adapters.atomic import check_target

        check_target(args.output)  # before asking tailscaled anything
    cfg = load_config(args)
    inputs = load_inputs(args, cfg)
    doc = make_snapshot(inputs.raw_status, inputs.raw_whois, now_iso(), f"sdp-guard {__version__}")
    if args.output == "-":
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        write_json_atomic(args.output, doc)
        print(
            f"wrote {args.output} ({len(inputs.view.peers)} peers, {len(inputs.raw_whois)} whois answers)",
            file=sys.stderr,
        )
    return 0
