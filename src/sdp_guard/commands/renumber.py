"""Give a shared-in peer its advertised IPv4 in our tailnet (TC25 steps 1-3), run by the sharee.

PEER is a station name (or Mantela identifier) from the registry, or a Tailscale machine name.
Without --api-key-file this prints the whole procedure for that peer: the machine name, its
current and advertised address, the admin-console page and the "Edit machine IPv4…" step.
Live calls with that machine drop when its address changes.

With --api-key-file FILE (an API access token, file mode 0600, never printed) it does the edit
through Tailscale's control API: it finds the device among the tailnet's devices (shared-in ones
included) and sets its IPv4. As sync and rollback: --dry-run shows the request and sends nothing,
--yes sends it without asking, otherwise it asks on a terminal; without a terminal and without
--yes it sends nothing and says "add --yes". --json prints one JSON document on stdout.
--control-api-url replaces --api-url (still accepted, with a warning; deprecated).

共有されたノードのアドレスを、所有者が周知したアドレスに揃える手順（TC25 手順 1〜3）を表示します。
--api-key-file を付けると control API で実行します（--dry-run は表示のみ、--yes は確認なし、
どちらもなければ端末で確認。端末がなければ何も送りません）。

exit codes: 0 done, nothing to do, the procedure printed, or nothing sent without --yes;
1 the advertised address is taken (advertised-address-taken) or the peer is not in our tailnet;
64 wrong options; 65 unusable input; 69 tailscaled or the control API not reachable; 77 API key
refused.

examples:
  sdp-guard renumber kanda
  sdp-guard renumber kanda --lang ja
  sdp-guard renumber kanda --api-key-file /etc/sdp-guard/tailscale-api-key --dry-run
  sdp-guard renumber kanda --api-key-file /etc/sdp-guard/tailscale-api-key          # asks first
  sdp-guard renumber kanda --api-key-file /etc/sdp-guard/tailscale-api-key --yes
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from sdp_guard.commands._write import add_write_options
from sdp_guard.core import catalogue
from sdp_guard.core.catalogue import Catalogue
from sdp_guard.core.model import Station, TailnetView
from sdp_guard.errors import InputError, UsageError

ADMIN_URL = "https://login.tailscale.com/admin/machines"
TEXT: Catalogue = {
    "title": {
        "en": "Renumber {machine} in our tailnet (TC25 steps 1-3)",
        "ja": "自局 tailnet での {machine} のアドレス変更（TC25 手順 1〜3）",
    },
    "facts": {
        "en": (
            "  station:            {station}\n  machine name:       {machine}\n  current address: "
            "   {current}   (how our tailnet sees it now)\n  advertised address: {advertised}   "
            "(its address in its owner's tailnet)"
        ),
        "ja": (
            "  局:                 {station}\n  マシン名:           {machine}\n  現在のアドレス:  "
            "   {current}   （自局 tailnet での見え方）\n  周知されたアドレス: {advertised}   "
            "（所有者の tailnet でのアドレス）"
        ),
    },
    "steps": {
        "en": (
            "1. Open the admin console: {url} and find the shared-in machine {machine} (it is "
            "marked as shared in).\n2. Check that the IPv4 in its addresses column is {current}, "
            "not {advertised}.\n3. Click “…” → “Edit machine IPv4…”, enter {advertised} and "
            "save.\n4. Then run `sdp-guard check`, and `sdp-guard sync` if a MikoPBX provider "
            "still points at {current}."
        ),
        "ja": (
            "1. 管理コンソール {url} を開き、共有されたマシン {machine} を探します（shared in "
            "の表示があります）。\n2. addresses 欄の IPv4 が {advertised} ではなく {current} "
            "であることを確かめます。\n3. 「…」→「Edit machine IPv4…」を選び、{advertised} "
            "を入力して保存します。\n4. その後 `sdp-guard check` を実行し、MikoPBX "
            "のプロバイダがまだ {current} を指していれば `sdp-guard sync` を実行します。"
        ),
    },
    "calls": {
        "en": (
            'Live calls with {machine} drop when its address changes (Tailscale: "this action '
            'will break any existing connections to this machine"). Do it when the line is quiet.'
        ),
        "ja": (
            "アドレスを変えると {machine} との通話中の呼はすべて切れます（Tailscale "
            "曰く「このマシンへの既存の接続はすべて切断されます」）。"
            "通話のない時間に行ってください。"
        ),
    },
    "same": {
        "en": (
            "{machine} already has its advertised address {advertised} in our tailnet; nothing to "
            "renumber. If calls still fail, run `sdp-guard check`."
        ),
        "ja": (
            "{machine} は自局 tailnet ですでに周知アドレス {advertised} です。変更は不要です。"
            "通話に問題があれば `sdp-guard check` を実行してください。"
        ),
    },
    "taken": {
        "en": (
            "advertised-address-taken: {advertised} already belongs to {holder} in our tailnet, "
            "so {machine} cannot get it."
        ),
        "ja": (
            "advertised-address-taken: {advertised} は自局 tailnet で {holder} が使っているため、"
            "{machine} に割り当てられません。"
        ),
    },
    "taken_fix": {
        "en": (
            "Free it first (give {holder} another IPv4 in the admin console), or fall back: the "
            "owner of {station} runs `sdp-guard sync --fallback media-address` on their station."
        ),
        "ja": (
            "先に空けるか（管理コンソールで {holder} に別の IPv4 を割り当てる）、代替策として "
            "{station} の所有者が自局で `sdp-guard sync --fallback media-address` を実行します。"
        ),
    },
    "absent": {
        "en": "peer-not-in-tailnet: {station} ({machine}) is not a peer in our tailnet.",
        "ja": "peer-not-in-tailnet: {station}（{machine}）は自局 tailnet のピアにいません。",
    },
    "absent_fix": {
        "en": "Ask its owner to share the machine with this tailnet, then run this again.",
        "ja": "所有者にこの tailnet へマシンを共有してもらってから、もう一度実行してください。",
    },
    "dry": {
        "en": (
            'dry run: would send POST /api/v2/device/{device}/ip {{"ipv4": "{advertised}"}} for '
            "{machine} (now {current}). Add --yes to do it."
        ),
        "ja": (
            "ドライラン: {machine}（現在 {current}）について POST /api/v2/device/{device}/ip "
            '{{"ipv4": "{advertised}"}} を送ります。実行するには --yes を付けてください。'
        ),
    },
    "done": {
        "en": "{machine} now has {advertised} in our tailnet (was {current}).",
        "ja": "{machine} は自局 tailnet で {advertised} になりました（以前 {current}）。",
    },
    "next": {
        "en": (
            "next: `sdp-guard check`, then `sdp-guard sync` if a provider still points at "
            "{current}."
        ),
        "ja": (
            "次に: `sdp-guard check`、プロバイダがまだ {current} を指していれば `sdp-guard sync`。"
        ),
    },
    "nodevice": {
        "en": "the control API lists no device {machine} with address {current} in this tailnet",
        "ja": "control API の一覧に、アドレス {current} のマシン {machine} がありません",
    },
    "nodevice_fix": {
        "en": (
            "check the machine in {url}; the key must belong to the tailnet the peer is shared into"
        ),
        "ja": (
            "{url} でマシンを確認してください。API キーは共有先の tailnet "
            "のものである必要があります"
        ),
    },
    "self": {
        "en": (
            "{peer} is this machine; renumbering is done on the other side (the sharee). To "
            "publish our address run `sdp-guard advertise`."
        ),
        "ja": (
            "{peer} はこのマシンです。アドレス変更は共有先（相手側）で行います。"
            "自局のアドレスを周知するには `sdp-guard advertise` を実行してください。"
        ),
    },
    "unknown": {
        "en": "{peer} is neither a station in the registry nor a machine in our tailnet",
        "ja": "{peer} はレジストリの局にも自局 tailnet のマシンにもありません",
    },
    "unknown_fix": {
        "en": "see `sdp-guard check` for station names, or `tailscale status` for machine names",
        "ja": "局名は `sdp-guard check`、マシン名は `tailscale status` で確認できます",
    },
    "noadv": {
        "en": "no advertised address is known for {peer}",
        "ja": "{peer} の周知アドレスがわかりません",
    },
    "noadv_fix": {
        "en": (
            "add the station to stations.yaml (or ask its owner to run `sdp-guard advertise` and "
            "publish it), or pass --address IPV4"
        ),
        "ja": (
            "stations.yaml に局を追加する（または所有者に `sdp-guard advertise` で周知してもらう）"
            "か、--address IPV4 を指定してください"
        ),
    },
    "plan": {
        "en": (
            'would send POST /api/v2/device/{device}/ip {{"ipv4": "{advertised}"}} for '
            "{machine} (now {current})."
        ),
        "ja": (
            "{machine}（現在 {current}）について POST /api/v2/device/{device}/ip "
            '{{"ipv4": "{advertised}"}} を送ります。'
        ),
    },
    "confirm": {
        "en": "Give {machine} the address {advertised} now? [y/N] ",
        "ja": "{machine} のアドレスを今 {advertised} に変更しますか？ [y/N] ",
    },
    "not_applied_tty": {
        "en": "Not renumbered: no terminal to confirm on; add --yes to do it.",
        "ja": "未変更: 確認できる端末がありません。実行するには --yes を付けてください。",
    },
    "declined": {
        "en": "Not renumbered.",
        "ja": "変更しませんでした。",
    },
    "deprecated": {
        "en": (
            "renumber --api-url is deprecated: use --control-api-url (--api-url means MikoPBX's "
            "web server in sync and rollback)"
        ),
        "ja": (
            "renumber の --api-url は廃止予定です。--control-api-url を使ってください"
            "（sync と rollback では --api-url は MikoPBX の Web サーバーを指します）"
        ),
    },
    "two_urls": {
        "en": (
            "--api-url and --control-api-url disagree; --api-url is the deprecated spelling of "
            "--control-api-url"
        ),
        "ja": (
            "--api-url と --control-api-url が食い違っています。--api-url は "
            "--control-api-url の古い書き方です"
        ),
    },
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from sdp_guard.commands._inputs import add_config_option

    p.add_argument("peer", metavar="PEER", help="station name or identifier, or machine name")
    add_config_option(p)
    p.add_argument("--registry", metavar="PATH", help="registry of advertised addresses")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--tailscale-socket", metavar="PATH", help="tailscaled LocalAPI socket")
    src.add_argument("--snapshot", metavar="FILE", help="tailnet view from `sdp-guard snapshot`")
    p.add_argument(
        "--address",
        metavar="IPV4",
        help="the advertised address, when the registry does not have it",
    )
    p.add_argument("--lang", choices=("en", "ja"), help="operator language (default: the locale)")
    api = p.add_argument_group("doing it through the control API")
    api.add_argument(
        "--api-key-file", metavar="FILE", help="file (mode 0600) holding a tskey-api-… token"
    )
    api.add_argument("--tailnet", default="-", help="tailnet name (default '-': the key's own)")
    api.add_argument(
        "--control-api-url",
        metavar="URL",
        default=None,
        help="Tailscale control API (default https://api.tailscale.com)",
    )
    # Deprecated spelling of --control-api-url (elsewhere --api-url means MikoPBX's web server).
    api.add_argument("--api-url", dest="old_api_url", default=None, help=argparse.SUPPRESS)
    w = p.add_argument_group("writing (with --api-key-file)")
    add_write_options(w)


@dataclass(frozen=True)
class Target:
    station: str
    machine: str
    current: str  # "" when the peer is not in our tailnet
    advertised: str
    holder: str = ""  # another machine holding the advertised address here


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands._inputs import load_config, pick_lang
    from sdp_guard.commands._write import emit_json, stderr_warning

    cfg = load_config(args)
    if args.registry:
        cfg = cfg.with_overrides({"registry.file": args.registry})
    lang = pick_lang(cfg)
    t = catalogue.view(TEXT, lang)
    if args.old_api_url:
        if args.control_api_url and args.control_api_url != args.old_api_url:
            raise UsageError(t["two_urls"])
        stderr_warning(t["deprecated"])
        args.control_api_url = args.control_api_url or args.old_api_url
    if args.yes and not args.api_key_file:
        raise UsageError("--yes goes with --api-key-file FILE")
    view = _view(args, cfg)
    stations = _stations(cfg, args)
    target = resolve(args.peer, stations, view, args.address, t)
    fmt = {
        "station": target.station,
        "machine": target.machine,
        "current": target.current or "-",
        "advertised": target.advertised,
        "holder": target.holder,
        "url": ADMIN_URL,
    }
    # With --json the operator text goes to stderr and stdout carries one document.
    out = sys.stderr if args.json else sys.stdout
    doc: dict[str, Any] = {
        "schema_version": 1,
        "peer": args.peer,
        "station": target.station,
        "machine": target.machine,
        "current": target.current or None,
        "advertised": target.advertised,
        "holder": target.holder or None,
        "device": None,
        "outcome": "",
        "applied": False,
    }
    rc = 0
    if not target.current:
        out.write(t["absent"].format(**fmt) + "\n" + t["absent_fix"].format(**fmt) + "\n")
        doc["outcome"], rc = "peer-not-in-tailnet", 1
    elif target.current == target.advertised:
        out.write(t["same"].format(**fmt) + "\n")
        doc["outcome"] = "nothing-to-do"
    elif target.holder:
        out.write(t["taken"].format(**fmt) + "\n" + t["taken_fix"].format(**fmt) + "\n")
        doc["outcome"], rc = "advertised-address-taken", 1
    elif not args.api_key_file:
        out.write(procedure(fmt, t))
        doc["outcome"] = "procedure"
    else:
        rc = _via_api(args, target, fmt, t, out, doc)
    if args.json:
        emit_json(doc)
    return rc


def procedure(fmt: dict[str, str], t: dict[str, Any]) -> str:
    lines = [t["title"].format(**fmt), "", t["facts"].format(**fmt), ""]
    lines.append(t["steps"].format(**fmt))
    lines += ["", t["calls"].format(**fmt)]
    return "\n".join(lines) + "\n"


def _view(args: argparse.Namespace, cfg: Any) -> TailnetView:
    from sdp_guard.adapters.localapi import parse_status

    if args.snapshot:
        from sdp_guard.adapters.snapshot import load_snapshot

        return parse_status(load_snapshot(args.snapshot)[0])
    from sdp_guard.adapters.localapi import LocalAPI

    return parse_status(LocalAPI(cfg.settings.tailscale_socket).status())


def _stations(cfg: Any, args: argparse.Namespace) -> tuple[Station, ...]:
    from sdp_guard.adapters.registry import load_stations
    from sdp_guard.errors import RegistryError

    try:
        return load_stations(cfg)[0]
    except RegistryError:
        if args.address:  # a machine name plus --address needs no registry
            return ()
        raise


def resolve(
    peer: str,
    stations: tuple[Station, ...],
    view: TailnetView,
    address: str | None,
    t: dict[str, Any],
) -> Target:
    """Find the station and its node in our tailnet (pure; uses core.diagnose)."""
    from sdp_guard.core.addresses import first_label, is_tailnet_v4, normalize
    from sdp_guard.core.diagnose import locate_stations

    key = peer.strip().lower()
    station = next(
        (
            s
            for s in stations
            if key in (s.name.strip().lower(), s.identifier.lower(), s.node.lower())
        ),
        None,
    )
    self_names = {view.self_hostname.lower(), first_label(view.self_dns_name)} - {""}
    if station is None:
        node = next(
            (p for p in view.peers if key in (p.hostname.lower(), first_label(p.dns_name))), None
        )
        if node is None:
            if key in self_names:
                raise UsageError(t["self"].format(peer=peer))
            raise InputError(t["unknown"].format(peer=peer), t["unknown_fix"])
        # A machine name: the registry station located on that node, if any.
        for sv in locate_stations(stations, view):
            if sv.node is not None and sv.node.stable_id == node.stable_id:
                station = sv.station
                break
        if station is None:
            if not address:
                raise InputError(t["noadv"].format(peer=peer), t["noadv_fix"])
            station = Station(name=peer, ipv4=normalize(address), node=first_label(node.dns_name))
    if address:
        if not is_tailnet_v4(address):
            raise UsageError(f"--address {address}: expected an IPv4 in 100.64.0.0/10")
        station = Station(
            name=station.name,
            ipv4=normalize(address),
            node=station.node,
            identifier=station.identifier,
            ipv6=station.ipv6,
        )
    sv = locate_stations([station], view)[0]
    if sv.is_self:
        raise UsageError(t["self"].format(peer=peer))
    adv = normalize(station.ipv4)
    if sv.node is None:
        return Target(station.name, station.node or peer, "", adv)
    machine = first_label(sv.node.dns_name) or sv.node.hostname or station.node
    holder = ""
    for p in view.peers:
        if normalize(p.ipv4) == adv and p.stable_id != sv.node.stable_id:
            holder = first_label(p.dns_name) or p.hostname or p.stable_id
    if not holder and view.self_ipv4 and normalize(view.self_ipv4) == adv:
        holder = first_label(view.self_dns_name) or view.self_hostname or "this machine"
    return Target(station.name, machine, normalize(sv.node.ipv4), adv, holder)


def _via_api(
    args: argparse.Namespace,
    target: Target,
    fmt: dict[str, str],
    t: dict[str, Any],
    out: Any,
    doc: dict[str, Any],
) -> int:
    from sdp_guard.adapters.tailscale_api import (
        DEFAULT_BASE_URL,
        AddressTakenError,
        ControlApiError,
        ControlClient,
        read_api_key,
    )
    from sdp_guard.commands._write import decide

    client = ControlClient(
        read_api_key(args.api_key_file),
        base_url=args.control_api_url or DEFAULT_BASE_URL,
        tailnet=args.tailnet,
    )
    devices = client.devices()
    device = next((d for d in devices if d.ipv4 == target.current), None)
    if device is None:
        raise ControlApiError(t["nodevice"].format(**fmt), t["nodevice_fix"].format(**fmt))
    holder = next((d for d in devices if d.ipv4 == target.advertised), None)
    if holder is not None:
        fmt = {**fmt, "holder": holder.machine_name or holder.api_id}
        out.write(t["taken"].format(**fmt) + "\n" + t["taken_fix"].format(**fmt) + "\n")
        doc.update(holder=fmt["holder"], outcome="advertised-address-taken")
        return 1
    fmt = {**fmt, "device": device.api_id}
    doc["device"] = device.api_id
    if args.dry_run or not (args.yes or sys.stdin.isatty()):
        out.write(t["dry"].format(**fmt) + "\n" + t["calls"].format(**fmt) + "\n")
        doc["outcome"] = "dry-run"
    else:
        out.write(t["plan"].format(**fmt) + "\n" + t["calls"].format(**fmt) + "\n")
    if args.dry_run:
        return 0
    decision = decide(
        args, t["confirm"].format(**fmt), t["not_applied_tty"], t["declined"].format(**fmt)
    )
    if decision != "yes":
        doc["outcome"] = "not-applied"
        return 0
    try:
        client.set_ipv4(device, target.advertised)
    except AddressTakenError:
        fmt = {**fmt, "holder": "?"}
        out.write(t["taken"].format(**fmt) + "\n" + t["taken_fix"].format(**fmt) + "\n")
        doc["outcome"] = "advertised-address-taken"
        return 1
    out.write(t["done"].format(**fmt) + "\n" + t["next"].format(**fmt) + "\n")
    doc.update(outcome="renumbered", applied=True)
    return 0
