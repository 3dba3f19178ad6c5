"""The daemon's three inputs as reader objects: what the loop calls to read each source.

:class:`Readers` is passed to :class:`~sdp_guard.daemon.loop.Daemon`; :data:`REAL` reads the
MikoPBX DB, the registry (YAML, plus Mantela when configured) and tailscaled's LocalAPI. Tests
pass in-memory readers instead. Each reader runs in a worker thread under the evaluation's
deadline; whatever it raises becomes a failed :class:`Outcome` (see :func:`guard`), so a broken
input marks its source down and never reaches the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sdp_guard import config as config_mod
from sdp_guard.core.model import PbxConfig, Station
from sdp_guard.errors import Error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None
    detail: str = ""
    error: str = ""
    own_mantela: Any = None  # registry: our own published MantelaDoc (None: Mantela off)


RegistryReader = Callable[[config_mod.Config], Outcome]
DbReader = Callable[[str], Outcome]  # the DB path
# socket path, the providers and the stations (whois targets), timeout in seconds
TailnetReader = Callable[[str, PbxConfig, tuple[Station, ...], float], Outcome]


@dataclass(frozen=True)
class Readers:
    registry: RegistryReader
    mikopbx: DbReader
    tailscale: TailnetReader


def guard(fn: Callable[[], Outcome]) -> Outcome:
    try:
        return fn()
    except Error as e:
        return Outcome(False, error=e.message)
    except Exception as e:  # a bug or an unexpected answer: the source is down, the loop lives
        log.debug("unexpected error while reading an input", exc_info=True)  # -vv
        return Outcome(False, error=f"{type(e).__name__}: {e}")


def read_registry(cfg: config_mod.Config) -> Outcome:
    if cfg.settings.registry_mantela_url.strip():
        from sdp_guard.adapters.mantela_http import load_registry_sources
        from sdp_guard.adapters.registry import load_registry

        src = load_registry_sources(cfg, load_registry)
        own = src.mantela.own if src.mantela is not None else None
        return Outcome(True, src.stations, src.detail, own_mantela=own)
    from sdp_guard.adapters.inputs import load_stations

    stations, detail = load_stations(cfg)
    return Outcome(True, stations, detail)


def read_db(path: str) -> Outcome:
    from sdp_guard.adapters.mikopbx_db import read_pbx

    return Outcome(True, read_pbx(path), path)


def read_tailnet(
    socket_path: str, pbx: PbxConfig, stations: tuple[Station, ...], timeout: float
) -> Outcome:
    from sdp_guard.adapters.inputs import read_tailnet as read
    from sdp_guard.adapters.localapi import LocalAPI

    api = LocalAPI(socket_path, timeout=timeout)
    view, _answers = read(api.status(), api.whois, pbx, stations)
    return Outcome(True, view, socket_path)


REAL = Readers(registry=read_registry, mikopbx=read_db, tailscale=read_tailnet)
