"""Show the effective configuration: every setting, its value, its help, and where it came from.

sdp-guard config show
sdp-guard config show --config /etc/sdp-guard/config.yaml
"""

from __future__ import annotations

import argparse
import sys

from sdp_guard.commands._inputs import add_config_option


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("show",), help="show: print the effective configuration")
    add_config_option(p)


def run(args: argparse.Namespace) -> int:
    from sdp_guard import config

    sys.stdout.write(config.render(config.load(args.config)))
    return 0
