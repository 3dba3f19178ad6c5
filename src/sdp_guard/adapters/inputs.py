"""Load all three inputs (MikoPBX DB, registry, tailnet) for one evaluation.

Shared by the commands and the daemon, so both see exactly the same view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sdp_guard.config import Config
from sdp_guard.core.model import PbxConfig, Station, TailnetView

MISSING = object()  # a whois answer the snapshot does not hold (not asked, not "404")


class Inputs(NamedTuple):
    pbx: PbxConfig
    stations: tuple[Station, ...]
    view: TailnetView
    sources: dict[str, dict[str, Any]]
    raw_status: Any
    raw_whois: dict[str, Any]


def read_tailnet(
    status_doc: Any,
    whois_for: Callable[[str], Any],
    pbx: PbxConfig,
    stations: tuple[Station, ...],
) -> tuple[TailnetView, dict[str, Any]]:
    """Parse status, ask whois for the peers that matter, attach the answers."""
    from sdp_guard.adapters.localapi import apply_whois, parse_status
    from sdp_guard.core.diagnose import whois_targets
    from sdp_guard.errors import TailnetError

    try:
        view = parse_status(status_doc)
        answers: dict[str, Any] = {}
        for addr in whois_targets(pbx.providers, stations, view):
            ans = whois_for(addr)
            if ans is not MISSING:
                answers[addr] = ans
        return apply_whois(view, answers), answers
    except (TypeError, AttributeError, KeyError, ValueError) as e:
        # A shape no check above foresaw: still a clear "unexpected answer", never a crash.
        raise TailnetError(
            f"unexpected LocalAPI answer ({type(e).__name__}: {e})",
            "is this a tailscaled socket? compare with `tailscale status --json`",
        ) from e


def load_stations(cfg: Config) -> tuple[tuple[Station, ...], str]:
    from sdp_guard.adapters.registry import load_stations as load

    return load(cfg)


def live_tailnet(
    cfg: Config, pbx: PbxConfig, stations: tuple[Station, ...]
) -> tuple[TailnetView, Any, dict[str, Any], str]:
    from sdp_guard.adapters.localapi import LocalAPI

    api = LocalAPI(cfg.settings.tailscale_socket)
    status_doc = api.status()
    view, answers = read_tailnet(status_doc, api.whois, pbx, stations)
    return view, status_doc, answers, cfg.settings.tailscale_socket


def snapshot_tailnet(
    path: str, pbx: PbxConfig, stations: tuple[Station, ...]
) -> tuple[TailnetView, Any, dict[str, Any], str]:
    from sdp_guard.adapters.snapshot import load_snapshot

    status_doc, whois_docs = load_snapshot(path)
    view, answers = read_tailnet(status_doc, lambda a: whois_docs.get(a, MISSING), pbx, stations)
    return view, status_doc, answers, f"snapshot {path}"


def load_inputs(cfg: Config, snapshot: str | None = None) -> Inputs:
    from sdp_guard.adapters.mikopbx_db import read_pbx

    db = cfg.db_path
    pbx = read_pbx(db)
    stations, reg_detail = load_stations(cfg)
    if snapshot:
        view, status_doc, answers, ts_detail = snapshot_tailnet(snapshot, pbx, stations)
    else:
        view, status_doc, answers, ts_detail = live_tailnet(cfg, pbx, stations)
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
