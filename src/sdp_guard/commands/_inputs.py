"""Input options shared by check, snapshot, sync and daemon, and loading all three inputs."""

from __future__ import annotations

import argparse
import os
import time

from sdp_guard import config as config_mod
from sdp_guard.adapters.inputs import Inputs, load_stations, read_tailnet

__all__ = [
    "Inputs",
    "add_config_option",
    "add_input_options",
    "load_config",
    "load_inputs",
    "load_stations",
    "now_iso",
    "pick_lang",
    "read_tailnet",
]


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help=f"configuration file (default {config_mod.DEFAULT_CONFIG_PATH} if it exists)",
    )


def add_input_options(p: argparse.ArgumentParser, *, snapshot: bool = True) -> None:
    add_config_option(p)
    g = p.add_argument_group("inputs")
    g.add_argument(
        "--db",
        metavar="PATH",
        help="MikoPBX DB (default: /cf/conf/mikopbx.db, or "
        "/var/spool/mikopbx/cf/conf/mikopbx.db on a Docker host)",
    )
    g.add_argument(
        "--registry",
        metavar="PATH",
        help="registry of advertised addresses (default /etc/sdp-guard/stations.yaml)",
    )
    src = g.add_mutually_exclusive_group()
    src.add_argument(
        "--tailscale-socket",
        metavar="PATH",
        help="tailscaled LocalAPI socket (default /var/run/tailscale/tailscaled.sock)",
    )
    if snapshot:
        src.add_argument(
            "--snapshot",
            metavar="FILE",
            help="read the tailnet view from a file made by `sdp-guard snapshot`",
        )
    g.add_argument(
        "--lang", choices=("en", "ja"), help="operator language (default: from the locale)"
    )


def load_config(args: argparse.Namespace) -> config_mod.Config:
    cfg = config_mod.load(getattr(args, "config", None))
    return cfg.with_overrides(
        {
            "mikopbx.db": getattr(args, "db", None),
            "registry.file": getattr(args, "registry", None),
            "tailscale.socket": getattr(args, "tailscale_socket", None),
            "lang": getattr(args, "lang", None),
        }
    )


def pick_lang(cfg: config_mod.Config) -> str:
    lang = cfg.settings.lang
    if lang in ("en", "ja"):
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        v = os.environ.get(var, "")
        if v:
            return "ja" if v.lower().startswith("ja") else "en"
    import locale  # only when no locale variable decided it (start-up time is measured)

    loc = locale.getlocale()[0] or ""
    return "ja" if loc.lower().startswith("ja") else "en"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def load_inputs(args: argparse.Namespace, cfg: config_mod.Config) -> Inputs:
    from sdp_guard.adapters.inputs import load_inputs as load

    return load(cfg, getattr(args, "snapshot", None))
