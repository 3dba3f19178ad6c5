"""Prove two-way audio on a trunk: a real call to the peer's echo test, with RTP counted both ways.

Places one SIP call over UDP to TARGET for the echo number (default probe.echo_number, 186),
sends G.711 RTP for --seconds and counts what comes back. The SDP carries by default what our
MikoPBX would send toward that peer, so the probe reproduces a real call; --sdp-address ADDR
answers "would the media-address fallback fix it?" before anything is changed.

TARGET is a MikoPBX provider id (its host, port and credentials are read from the DB; the
secret is never printed or logged), a registry station name (its provider, else its address),
or host[:port] (no DB or registry needed).

verdicts:
  two-way    at least half as many RTP packets came back as we sent
  one-way    the call was answered, but audio flowed one way only (or too little came back)
  no-audio   answered, but the peer's SDP gave no usable audio stream
  no-answer  no SIP response, a failure response, or authentication refused

exit codes (monitoring-plugin convention):
  0 two-way    2 one-way, no-audio or no-answer    3 bad input or options

where it fits in TC25:
  1-2 find      sdp-guard check                  names the peer and both addresses
  before a fix  sdp-guard probe P                one-way: the fault is real, on this trunk, now
  try the fix   sdp-guard probe P --sdp-address A   two-way: the fallback would fix it
  fix           sdp-guard sync (--fallback media-address)
  after         sdp-guard probe P                two-way: done
TC25 の中での位置づけ:
  不一致の確認  sdp-guard check --lang ja
  修正前        sdp-guard probe P --lang ja      片方向なら障害はこのトランクで今起きている
  修正の試行    sdp-guard probe P --sdp-address A   双方向ならフォールバックで直る
  修正          sdp-guard sync（--fallback media-address）
  修正後        sdp-guard probe P                双方向なら完了

examples:
  sdp-guard probe SIP-TRUNK-4F2A9C1E                          # as MikoPBX would call
  sdp-guard probe kanda --sdp-address 100.102.9.9             # would the fallback fix it?
  sdp-guard probe 100.102.2.2:5060 --bind 100.101.1.1 --json
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any

from sdp_guard.commands._inputs import (
    add_config_option,
    load_config,
    now_iso,
    pick_lang,
)
from sdp_guard.errors import InputError, UsageError

EXIT_ON_INPUT_ERROR = 3
EXIT_ON_ERROR = 3
EXIT_ON_USAGE = 3
MAX_SECONDS = 60.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="TARGET", help="provider id, registry station, or host[:port]")
    p.add_argument("--number", metavar="N", help="number to call (default probe.echo_number)")
    p.add_argument(
        "--sdp-address",
        metavar="ADDR",
        default="auto",
        help="IPv4 for the SDP c= line (default auto: what our MikoPBX would send to this peer)",
    )
    p.add_argument(
        "--bind",
        metavar="ADDR",
        help="local IPv4 to call from, on an ephemeral port (default: our tailnet IPv4)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds of RTP to send (default 5, at most 60)",
    )
    add_config_option(p)
    g = p.add_argument_group("inputs (not needed for a host[:port] TARGET with --bind)")
    g.add_argument("--db", metavar="PATH", help="MikoPBX DB (default as for check)")
    g.add_argument("--registry", metavar="PATH", help="registry of advertised addresses")
    g.add_argument("--tailscale-socket", metavar="PATH", help="tailscaled LocalAPI socket")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="one JSON document on stdout")
    out.add_argument("--lang", choices=("en", "ja"), help="operator language")


def _v4(text: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an IPv4 address") from None


def run(args: argparse.Namespace) -> int:
    from sdp_guard.adapters import probe_ua
    from sdp_guard.core import probe, rtp

    cfg = load_config(args)
    lang = pick_lang(cfg)
    if not 0.2 <= args.seconds <= MAX_SECONDS:
        raise UsageError(f"--seconds must be between 0.2 and {MAX_SECONDS:g}")
    plan, secret = _plan(args, cfg)
    try:
        out = probe_ua.place_call(
            probe_ua.Call(
                host=plan.host,
                port=plan.port,
                number=plan.number,
                bind=plan.bind,
                sdp_address=plan.sdp_address,
                seconds=plan.seconds,
                username=plan.username,
                secret=secret,
            )
        )
    except OSError as e:
        raise InputError(
            f"cannot open UDP sockets on {plan.bind}: {e.strerror}",
            "pass --bind with an IPv4 address of this machine (the tailnet one)",
        ) from None
    verdict = rtp.verdict(out.answered, out.stats)
    stats: dict[str, Any] = {
        "sent": out.stats.sent,
        "received": out.stats.received,
        "loss": out.stats.loss,
        "jitter_ms": out.stats.jitter_ms,
        "rtt_ms": None if out.stats.rtt_ms is None else round(out.stats.rtt_ms, 3),
        "echoed": out.stats.echoed,
        "received_ratio": round(out.stats.received_ratio, 4),
    }
    doc = probe.document(
        plan,
        answered=out.answered,
        sip_status=out.sip_status,
        sip_reason=out.reason,
        stats=stats,
        verdict=verdict,
        media=out.media,
        authenticated=out.authenticated,
        notes=out.notes,
        probed_at=now_iso(),
        lang=lang,
    )
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(probe.to_text(doc, lang))
    return int(doc["exit_code"])


def _plan(args: argparse.Namespace, cfg: Any) -> tuple[Any, Any]:
    """Resolve TARGET, the bind address and the SDP address (no packet sent yet)."""
    from sdp_guard.adapters.probe_ua import Secret
    from sdp_guard.core import probe
    from sdp_guard.core.addresses import is_ip
    from sdp_guard.core.model import LocalNet, Provider

    number = str(args.number or cfg.settings.probe_echo_number).strip()
    if not number or any(c in number for c in " \t\r\n<>@;:\"'"):
        raise UsageError(f"--number {number!r} is not a dialable SIP user part")
    bind = _v4(args.bind, "--bind") if args.bind else ""
    if bind == "0.0.0.0":
        raise UsageError("--bind needs this machine's address, not 0.0.0.0 (it goes into SIP)")
    explicit_sdp = args.sdp_address != "auto"
    sdp = _v4(args.sdp_address, "--sdp-address") if explicit_sdp else ""

    try:
        host, port = probe.split_hostport(args.target)
    except ValueError as e:
        raise UsageError(f"TARGET: {e}") from None
    provider: Provider | None = None
    station: str | None = None
    local_net = LocalNet()
    secret = ""
    view = None
    if not is_ip(host):
        if port is not None:
            raise UsageError(
                f"TARGET {args.target!r}: a port goes with an IPv4 address, not a name",
                "give a provider id or station name alone, or host:port",
            )
        provider, station, local_net, view, fallback = _named_target(args.target, cfg)
        if provider is not None:
            host, port = _provider_destination(provider, view, cfg)
            secret = _secret(cfg, provider)
        else:
            host = fallback
    elif ":" in host:
        raise UsageError("the probe calls over IPv4 only; give an IPv4 address")
    if not bind:
        if view is None:
            view = _tailnet(cfg)
        if not view.self_ipv4:
            raise InputError(
                "tailscaled reports no IPv4 for this machine", "pass --bind ADDR explicitly"
            )
        bind = view.self_ipv4
    if explicit_sdp:
        src = probe.SDP_EXPLICIT
    else:
        sdp, src = probe.sdp_address_for(provider, local_net, bind)
    plan = probe.Plan(
        target=args.target,
        host=host,
        port=port or probe.DEFAULT_PORT,
        number=number,
        bind=bind,
        sdp_address=sdp,
        sdp_source=src,
        seconds=float(args.seconds),
        provider=provider.id if provider else None,
        station=station,
        username=provider.username if provider else "",
        has_secret=bool(secret),
    )
    return plan, Secret(secret) if secret else None


def _tailnet(cfg: Any) -> Any:
    from sdp_guard.adapters.localapi import LocalAPI, parse_status

    return parse_status(LocalAPI(cfg.settings.tailscale_socket).status())


def _named_target(name: str, cfg: Any) -> tuple[Any, str | None, Any, Any, str]:
    """(provider, station name, local_net, tailnet view, station address) for a provider/station.

    A station without a matching provider is called at its node's address in our tailnet (else
    its advertised one), with our own address in SDP.
    """
    from sdp_guard.adapters.mikopbx_db import read_pbx
    from sdp_guard.core.diagnose import locate_stations, match_providers
    from sdp_guard.core.model import LocalNet, PbxConfig
    from sdp_guard.errors import DatabaseError

    pbx: PbxConfig
    db_error: DatabaseError | None = None
    try:
        pbx = read_pbx(cfg.db_path)
    except DatabaseError as e:
        pbx, db_error = PbxConfig(), e
    for p in pbx.providers:
        if p.id == name:
            return p, None, pbx.local_net, None, ""
    from sdp_guard.adapters.inputs import load_stations

    reg_error: InputError | None = None
    try:
        stations, _ = load_stations(cfg)
    except InputError as e:
        stations, reg_error = (), e
    st = next((s for s in stations if s.name == name), None)
    if st is None:
        known = ", ".join(sorted(p.id for p in pbx.providers)[:10]) or "none"
        hint = f"providers in the DB: {known}; or give host[:port]"
        if db_error is not None:
            hint = f"the MikoPBX DB could not be read ({db_error.message}); give host[:port]"
        if reg_error is not None:
            hint += f"; the registry could not be read either ({reg_error.message})"
        raise UsageError(f"TARGET {name!r} is no provider id, registry station or address", hint)
    view = _tailnet(cfg)
    located = locate_stations(stations, view)
    matches = match_providers(pbx.providers, located, view)
    mine = [m.provider for m in matches if m.station is not None and m.station.name == name]
    chosen = next((p for p in mine if not p.disabled), mine[0] if mine else None)
    sv = next(sv for sv in located if sv.station.name == name)
    address = sv.node.ipv4 if sv.node is not None and sv.node.ipv4 else st.ipv4
    return chosen, name, pbx.local_net if chosen else LocalNet(), view, address


def _provider_destination(p: Any, view: Any, cfg: Any) -> tuple[str, int | None]:
    from sdp_guard.core.addresses import is_ip, normalize
    from sdp_guard.core.probe import destination

    dest = destination(p, view)
    if dest is None and view is None and p.host and not is_ip(normalize(p.host)):
        dest = destination(p, _tailnet(cfg))  # a MagicDNS name: ask the tailnet
    if dest is None:
        raise InputError(
            f"provider {p.id}'s host {p.host!r} is no IPv4 address or tailnet machine we know",
            "give the peer's address as host[:port]",
        )
    return dest


def _secret(cfg: Any, p: Any) -> str:
    from sdp_guard.adapters.mikopbx_db import read_provider_secret

    return read_provider_secret(cfg.db_path, p.id) if p.username else ""
