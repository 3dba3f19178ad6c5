"""Input options shared by check, snapshot, sync and daemon, and loading all three inputs."""

from __future__ import annotations

import argparse
import locale
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sdp_guard import config as config_mod
from sdp_guard.core.model import PbxConfig, Station, TailnetView


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
    lang = str(cfg.get("lang"))
    if lang in ("en", "ja"):
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        v = os.environ.get(var, "")
        if v:
            return "ja" if v.lower().startswith("ja") else "en"
    loc = locale.getlocale()[0] or ""
    return "ja" if loc.lower().startswith("ja") else "en"


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Inputs:
    pbx: PbxConfig
    stations: tuple[Station, ...]
    view: TailnetView
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw_status: Any = None
    raw_whois: dict[str, Any] = field(default_factory=dict)


def read_tailnet(
    status_doc: Any, whois_for: Any, pbx: PbxConfig, stations: tuple[Station, ...]
) -> tuple[TailnetView, dict[str, Any]]:
    """Parse status, ask whois for the peers that matter, attach the answers."""
    from sdp_guard.adapters.localapi import apply_whois, parse_status
    from sdp_guard.core.diagnose import whois_targets

    view = parse_status(status_doc)
    answers: dict[str, Any] = {}
    for addr in whois_targets(pbx.providers, stations, view):
        ans = whois_for(addr)
        if ans is not _MISSING:
            answers[addr] = ans
    return apply_whois(view, answers), answers


_MISSING = object()


def load_stations(cfg: config_mod.Config) -> tuple[tuple[Station, ...], str]:
    from sdp_guard.adapters.registry import load_registry

    path = str(cfg.get("registry.file"))
    stations = load_registry(path)
    return stations, f"{path} ({len(stations)} stations)"


def load_inputs(args: argparse.Namespace, cfg: config_mod.Config) -> Inputs:
    from sdp_guard.adapters.mikopbx_db import read_pbx

    db = cfg.db_path
    pbx = read_pbx(db)
    stations, reg_detail = load_stations(cfg)
    snap = getattr(args, "snapshot", None)
    if snap:
        from sdp_guard.adapters.snapshot import load_snapshot

        status_doc, whois_docs = load_snapshot(snap)

        def whois_for(addr: str) -> Any:
            return whois_docs.get(addr, _MISSING)

        ts_detail = f"snapshot {snap}"
    else:
        from sdp_guard.adapters.localapi import LocalAPI

        api = LocalAPI(str(cfg.get("tailscale.socket")))
        status_doc = api.status()
        whois_for = api.whois
        ts_detail = str(cfg.get("tailscale.socket"))
    view, answers = read_tailnet(status_doc, whois_for, pbx, stations)
    return Inputs(
        pbx=pbx,
        stations=stations,
        view=view,
        sources={
            "mikopbx": {"up": True, "detail": db},
            "tailscale": {"up": True, "detail": ts_detail},
            "registry": {"up": True, "detail": reg_detail},
        },
        raw_status=status_doc,
        raw_whois=answers,
    )
