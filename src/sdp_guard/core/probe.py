"""What a probe call should look like (target, SDP address) and how its result reads (JSON, text).

``sdp_address_for`` reproduces what MikoPBX would put into the SDP toward a provider, so the probe
call carries the same ``c=`` as a real call: the ``media_address`` of sdp-guard's managed block
when there is one, the external address when ``local_net`` does not cover the tailnet (Asterisk
then rewrites the SDP for tailnet peers: design/mikopbx.md §2), else our tailnet address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sdp_guard.core import manualattrs
from sdp_guard.core.addresses import TAILNET_V4_TEXT, is_ip, normalize
from sdp_guard.core.addresses import network_covers as _covers
from sdp_guard.core.catalogue import Catalogue, view
from sdp_guard.core.diagnose import Report
from sdp_guard.core.findings import Severity
from sdp_guard.core.model import LocalNet, Provider, TailnetView

SCHEMA_VERSION = 1
EXIT_BY_VERDICT = {"two-way": 0, "one-way": 2, "no-audio": 2, "no-answer": 2}
DEFAULT_PORT = 5060

# Where the SDP address came from.
SDP_EXPLICIT = "explicit"
SDP_MEDIA_ADDRESS = "media_address"
SDP_EXTERNAL = "external"
SDP_OWN = "own"


def sdp_address_for(provider: Provider | None, local_net: LocalNet, own: str) -> tuple[str, str]:
    """(address, source) MikoPBX would put into SDP toward this provider."""
    if provider is not None:
        ma = manualattrs.media_address(provider.manualattributes)
        if ma:
            return normalize(ma), SDP_MEDIA_ADDRESS
    if (
        local_net.known
        and local_net.internet_topology == "private"
        and local_net.external_address
        and not any(_covers(n, TAILNET_V4_TEXT) for n in local_net.local_networks)
    ):
        return local_net.external_address, SDP_EXTERNAL
    return own, SDP_OWN


def destination(p: Provider, view: TailnetView | None) -> tuple[str, int] | None:
    """Where a provider's calls go, as IPv4 and port; a MagicDNS name through the tailnet view
    (never system DNS). None when that cannot be known (no host, unknown name, IPv6)."""
    from sdp_guard.core.diagnose import _Index

    host = normalize(p.host)
    if not host:
        return None
    if not is_ip(host):
        peer = _Index(view).peer_by_name(host) if view is not None else None
        if peer is None or not peer.ipv4:
            return None
        host = normalize(peer.ipv4)
    if ":" in host:
        return None
    return host, p.port or DEFAULT_PORT


def scheduled_targets(report: Report) -> list[tuple[str, Provider]]:
    """(station, provider) the daemon probes: each station with a warning or critical finding,
    through the first enabled provider matched to it (the one a finding names, if any)."""
    by_id = {m.provider.id: m.provider for m in report.matches}
    of_station: dict[str, list[Provider]] = {}
    for m in report.matches:
        if m.station is not None and not m.provider.disabled:
            of_station.setdefault(m.station.name, []).append(m.provider)
    out: dict[str, Provider] = {}
    for f in report.findings:
        if f.severity < Severity.WARNING or not f.station or f.station in out:
            continue
        named = by_id.get(f.provider or "")
        if named is not None and not named.disabled:
            out[f.station] = named
        elif of_station.get(f.station):
            out[f.station] = of_station[f.station][0]
    return sorted(out.items())


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` -> (host, port or None). ValueError when malformed."""
    t = text.strip()
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"malformed address {text!r}")
    elif t.count(":") == 1:
        host, _, port = t.partition(":")
    else:
        host, port = t, ""
    if not host:
        raise ValueError(f"no host in {text!r}")
    if port == "":
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"port {port!r} is not a number between 1 and 65535")
    return host, int(port)


class Plan(NamedTuple):
    """Everything the call needs, decided before any packet leaves."""

    target: str  # as the operator gave it
    host: str
    port: int
    number: str
    bind: str
    sdp_address: str
    sdp_source: str
    seconds: float
    provider: str | None = None
    station: str | None = None
    username: str = ""
    has_secret: bool = False


def document(
    plan: Plan,
    *,
    answered: bool,
    sip_status: int,
    sip_reason: str,
    stats: Mapping[str, Any],
    verdict: str,
    media: str,
    authenticated: bool,
    notes: Sequence[str],
    probed_at: str,
    lang: str,
) -> dict[str, Any]:
    """The ``--json`` document (schema_version 1; docs/probe.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "probed_at": probed_at,
        "target": plan.target,
        "destination": f"{plan.host}:{plan.port}",
        "provider": plan.provider,
        "station": plan.station,
        "number": plan.number,
        "sdp_address": plan.sdp_address,
        "sdp_address_source": plan.sdp_source,
        "bind": plan.bind,
        "answered": answered,
        "sip_status": sip_status,
        "sip_reason": sip_reason,
        "authenticated": authenticated,
        "peer_media": media or None,
        "rtp": dict(stats),
        "verdict": verdict,
        "exit_code": EXIT_BY_VERDICT[verdict],
        "notes": list(notes),
        "lang": lang,
    }


TEXTS: Catalogue = {
    "head": {
        "en": "sdp-guard probe: {verdict}",
        "ja": "sdp-guard probe: {verdict}",
    },
    "call": {
        "en": "call      {number} at {destination}{via}, from {bind}",
        "ja": "発信      {destination} の {number}{via}、発信元 {bind}",
    },
    "via": {
        "en": " (provider {provider}{station})",
        "ja": "（プロバイダ {provider}{station}）",
    },
    "via_station": {
        "en": ", station {station}",
        "ja": "、{station} 局",
    },
    "sdp": {
        "en": "SDP c=    {sdp_address} ({source})",
        "ja": "SDP c=    {sdp_address}（{source}）",
    },
    "src:explicit": {
        "en": "given with --sdp-address",
        "ja": "--sdp-address で指定",
    },
    "src:media_address": {
        "en": "the provider's media_address, as MikoPBX sends it",
        "ja": "プロバイダの media_address。MikoPBX が送る値",
    },
    "src:external": {
        "en": "MikoPBX's external address: local_net does not cover the tailnet",
        "ja": "MikoPBX の外部アドレス。local_net が tailnet を含まないため",
    },
    "src:own": {
        "en": "our own address, as MikoPBX sends it when no other rule applies",
        "ja": "当方自身のアドレス。他の規則が当てはまらないとき MikoPBX が送る値",
    },
    "sip": {
        "en": "SIP       {sip_status} {sip_reason}{auth}",
        "ja": "SIP       {sip_status} {sip_reason}{auth}",
    },
    "sip_none": {
        "en": "SIP       no response",
        "ja": "SIP       応答なし",
    },
    "auth": {
        "en": " (after digest authentication)",
        "ja": "（ダイジェスト認証後）",
    },
    "rtp": {
        "en": (
            "RTP       sent {sent}, received {received} (loss {loss}, jitter {jitter}, round trip "
            "{rtt})"
        ),
        "ja": "RTP       送信 {sent}、受信 {received}（損失 {loss}、ジッタ {jitter}、往復 {rtt}）",
    },
    "echoed": {
        "en": "          {echoed} of the received packets were our own, echoed back",
        "ja": "          受信のうち {echoed} パケットは当方が送ったもののエコー",
    },
    "note": {
        "en": "note      {note}",
        "ja": "注記      {note}",
    },
    "two-way": {
        "en": "Audio flows both ways with {sdp_address} in our SDP.",
        "ja": "SDP に {sdp_address} を載せると音声は双方向に流れます。",
    },
    "one-way": {
        "en": (
            "The call was answered and we sent {sent} packets, but only {received} came back: the "
            "peer sends its audio to {sdp_address} and it does not reach us (one-way audio). Try "
            "the address the peer knows us by (`sdp-guard check` names it): `sdp-guard probe "
            "{target} --sdp-address ADDR`. If that is two-way, `sdp-guard sync --fallback "
            "media-address` makes real calls use it."
        ),
        "ja": (
            "通話は応答し {sent} パケットを送信しましたが、戻ったのは {received} パケットです。"
            "相手は {sdp_address} へ音声を送っており、当方に届いていません（片方向通話）。"
            "相手から見える当方のアドレス（`sdp-guard check` が表示）で `sdp-guard probe {target} "
            "--sdp-address アドレス` を試し、双方向なら `sdp-guard sync --fallback media-address` "
            "で実際の通話にも適用できます。"
        ),
    },
    "no-audio": {
        "en": (
            "The call was answered but no audio could be exchanged (see the notes): the peer's "
            "SDP answer gave no usable audio stream."
        ),
        "ja": (
            "通話は応答しましたが音声を交換できませんでした（注記を参照）。相手の SDP "
            "応答に使える音声ストリームがありません。"
        ),
    },
    "no-answer": {
        "en": (
            "No call: {why}. Check the number (--number, default probe.echo_number), the "
            "provider's host and port, and that the peer accepts calls from {bind}."
        ),
        "ja": (
            "通話できませんでした: {why}。番号（--number、既定は probe.echo_number）、"
            "プロバイダのホストとポート、相手が {bind} "
            "からの発信を受け付けるかを確認してください。"
        ),
    },
    "why_status": {
        "en": "the peer answered {sip_status} {sip_reason}",
        "ja": "相手の応答は {sip_status} {sip_reason}",
    },
    "why_auth": {
        "en": (
            "the peer asks for authentication (401/407) and the provider has no credentials, or "
            "they were refused"
        ),
        "ja": "相手が認証（401/407）を求めていますが、プロバイダに認証情報がないか拒否されました",
    },
    "why_none": {
        "en": "no SIP response from {destination}",
        "ja": "{destination} から SIP の応答がありません",
    },
    "none": {
        "en": "n/a",
        "ja": "なし",
    },
}


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def to_text(doc: Mapping[str, Any], lang: str) -> str:
    t = view(TEXTS, lang)
    r = doc["rtp"]
    none = t["none"]
    f = _Fields({k: "" if v is None else str(v) for k, v in doc.items() if not isinstance(v, dict)})
    f.update(
        sent=str(r["sent"]),
        received=str(r["received"]),
        echoed=str(r.get("echoed", 0)),
        loss=f"{r['loss'] * 100:.1f} %",
        jitter=none if r["jitter_ms"] is None else f"{r['jitter_ms']:.1f} ms",
        rtt=none if r["rtt_ms"] is None else f"{r['rtt_ms']:.1f} ms",
        source=t.get(f"src:{doc['sdp_address_source']}", doc["sdp_address_source"]),
        auth=t["auth"] if doc["authenticated"] else "",
    )
    via = ""
    if doc.get("provider"):
        station = t["via_station"].format_map(f) if doc.get("station") else ""
        via = t["via"].format_map(_Fields({**f, "station": station}))
    elif doc.get("station"):
        via = t["via_station"].format_map(f)
    f["via"] = via
    lines = [t["head"].format_map(f), "  " + t["call"].format_map(f)]
    lines.append("  " + t["sdp"].format_map(f))
    lines.append("  " + (t["sip"] if doc["sip_status"] else t["sip_none"]).format_map(f))
    if doc["answered"]:
        lines.append("  " + t["rtp"].format_map(f))
        if r.get("echoed"):
            lines.append("  " + t["echoed"].format_map(f))
    for n in doc.get("notes", ()):
        lines.append("  " + t["note"].format_map(_Fields(note=str(n))))
    verdict = doc["verdict"]
    if verdict == "no-answer":
        if doc["sip_status"] in (401, 407):
            why = t["why_auth"]
        elif doc["sip_status"]:
            why = t["why_status"].format_map(f)
        else:
            why = t["why_none"].format_map(f)
        f["why"] = why
    lines.append("")
    lines.append(t[verdict].format_map(f))
    return "\n".join(lines) + "\n"
