"""Operator messages in English and Japanese: a message and a remedy per finding code.

The tables have the one catalogue shape (:mod:`sdp_guard.core.catalogue`). Templates use
``{name}`` fields filled from the finding; missing values print as "?".
"""

from __future__ import annotations

from collections.abc import Mapping

from sdp_guard.core.catalogue import LANGS, Catalogue, lookup
from sdp_guard.core.findings import Code, Finding

__all__ = ["LANGS", "MESSAGES", "REMEDIES", "UI", "render", "template_key"]

ADMIN_URL = "https://login.tailscale.com/admin/machines"

# The message and the remedy of each finding code; host-differs has two remedies (whether
# sync can fix it now).
MESSAGES: Catalogue = {
    "host-differs-from-advertised:ready": {
        "en": (
            "Provider {provider} ({description}) points at {configured}, but station {station} "
            "advertises {advertised} and our tailnet already has it there: calls go to the wrong "
            "address."
        ),
        "ja": (
            "プロバイダ {provider}（{description}）の接続先は {configured} ですが、{station} "
            "局の広報アドレスは {advertised} で、当方の tailnet でも既にそのアドレスです。"
            "通話が誤ったアドレスへ向かいます。"
        ),
    },
    "host-differs-from-advertised:wait": {
        "en": (
            "Provider {provider} ({description}) points at {configured}, but station {station} "
            "advertises {advertised}."
        ),
        "ja": (
            "プロバイダ {provider}（{description}）の接続先は {configured} ですが、{station} "
            "局の広報アドレスは {advertised} です。"
        ),
    },
    "peer-address-differs-from-advertised": {
        "en": (
            "Station {station}'s machine {node} has {observed} in our tailnet, but its owner "
            "advertises {advertised}: audio sent to the address in its SDP is lost (one-way "
            "audio)."
        ),
        "ja": (
            "{station} 局のマシン {node} は当方の tailnet では {observed} ですが、"
            "所有者の広報アドレスは {advertised} です。SDP "
            "に載ったアドレスへの音声が届きません（片方向通話）。"
        ),
    },
    "advertised-address-taken": {
        "en": (
            "Station {station} advertises {advertised}, but in our tailnet that address belongs "
            "to another machine ({holder}): machine {node} cannot be renumbered to it."
        ),
        "ja": (
            "{station} 局の広報アドレス {advertised} は、当方の tailnet では別のマシン（{holder}）"
            "が使用中です。マシン {node} をこのアドレスに変更できません。"
        ),
    },
    "masqueraded-toward-peer": {
        "en": (
            "Peer {node} knows our machine as {masquerade}, not {observed}: tailscaled rewrites "
            "the packets but not the SDP, so {node} sends its audio to an address it cannot reach "
            "(one-way audio on provider {provider})."
        ),
        "ja": (
            "ピア {node} からは当方のマシンが {observed} ではなく {masquerade} に見えています。"
            "tailscaled はパケットは変換しますが SDP は変換しないため、{node} "
            "からの音声が届きません（プロバイダ {provider} で片方向通話）。"
        ),
    },
    "tailnet-not-in-local-net": {
        "en": (
            "MikoPBX treats tailnet peers as external: the internet interface is behind NAT "
            "(external address {external}) and 100.64.0.0/10 is not a local network, so SDP to "
            "peers carries {external} instead of our tailnet address."
        ),
        "ja": (
            "MikoPBX が tailnet のピアを外部とみなしています。インターネット側インターフェースが "
            "NAT 配下（外部アドレス {external}）で、100.64.0.0/10 "
            "がローカルネットワークではないため、SDP に tailnet アドレスではなく {external} "
            "が載ります。"
        ),
    },
    "peer-not-in-tailnet": {
        "en": (
            "Station {station} (machine {node}, advertised {advertised}) is not a peer in our "
            "tailnet: provider {provider} cannot reach it."
        ),
        "ja": (
            "{station} 局（マシン {node}、広報アドレス {advertised}）は当方の tailnet "
            "のピアではありません。プロバイダ {provider} から到達できません。"
        ),
    },
    "provider-unmatched": {
        "en": (
            "Provider {provider} ({description}) points at tailnet address {configured} but "
            "matches no station in the registry, so it cannot be checked."
        ),
        "ja": (
            "プロバイダ {provider}（{description}）は tailnet アドレス {configured} "
            "を指していますが、レジストリのどの局とも対応しないため検査できません。"
        ),
    },
}

REMEDIES: Catalogue = {
    "host-differs-from-advertised:ready": {
        "en": (
            "Run `sdp-guard sync --dry-run`, then `sdp-guard sync` to set the provider's host and "
            "accepted hosts to {advertised} (by hand: MikoPBX → Call Routing → Telephony "
            "providers → {description})."
        ),
        "ja": (
            "`sdp-guard sync --dry-run` で確認後、`sdp-guard sync` "
            "でプロバイダのホストと受付ホストを {advertised} に更新してください（手作業の場合: "
            "MikoPBX →「ルーティング」→「電話プロバイダ」→ {description}）。"
        ),
    },
    "host-differs-from-advertised:wait": {
        "en": (
            "Renumber first: in the Tailscale admin console ({admin_url}) open machine {node}, "
            "choose “…” → “Edit machine IPv4…” and set {advertised} (now {observed}); then run "
            "`sdp-guard sync`."
        ),
        "ja": (
            "先にアドレスを変更してください: Tailscale 管理コンソール（{admin_url}）でマシン "
            "{node} を開き、「…」→「Edit machine IPv4…」で {advertised}（現在 {observed}）"
            "に設定し、その後 `sdp-guard sync` を実行してください。"
        ),
    },
    "peer-address-differs-from-advertised": {
        "en": (
            "In the Tailscale admin console ({admin_url}) find machine {node}, choose “…” → “Edit "
            "machine IPv4…” and set {advertised} (currently {observed}); live calls to it drop. "
            "Then run `sdp-guard sync`. Or: `sdp-guard renumber {station}`."
        ),
        "ja": (
            "Tailscale 管理コンソール（{admin_url}）でマシン {node} を探し、「…」→「Edit machine "
            "IPv4…」で {advertised}（現在 {observed}）に設定してください。"
            "このマシンとの通話中の呼は切断されます。その後 `sdp-guard sync` "
            "を実行してください（`sdp-guard renumber {station}` でも手順を表示できます）。"
        ),
    },
    "advertised-address-taken": {
        "en": (
            "Free {advertised} in your tailnet (renumber {holder}), or ask station {station}'s "
            "owner to run `sdp-guard sync --fallback media-address` so their SDP carries the "
            "address you know them by ({observed})."
        ),
        "ja": (
            "当方の tailnet で {advertised} を空ける（{holder} のアドレスを変更する）か、"
            "{station} 局の所有者に `sdp-guard sync --fallback media-address` の実行を依頼し、"
            "当方から見えるアドレス（{observed}）を SDP に載せてもらってください。"
        ),
    },
    "masqueraded-toward-peer": {
        "en": (
            "Ask {node}'s operator to set our machine {self_node} to {observed} in their tailnet "
            "(admin console → “Edit machine IPv4…”). If that address is taken there, run "
            "`sdp-guard sync --fallback media-address` here: the SDP toward {node} alone then "
            "carries {masquerade}. To hear it before changing anything: `sdp-guard probe "
            "{provider}` (one-way now) and `sdp-guard probe {provider} --sdp-address "
            "{masquerade}` (two-way with the fallback)."
        ),
        "ja": (
            "{node} の運用者に、相手側 tailnet で当方のマシン {self_node} を {observed} "
            "に設定するよう依頼してください（管理コンソール →「Edit machine IPv4…」）。"
            "そのアドレスが使用中なら、こちらで `sdp-guard sync --fallback media-address` "
            "を実行すると、{node} 向けの SDP だけが {masquerade} を載せます。"
            "変更前に通話で確かめるには `sdp-guard probe {provider}`（現状は片方向）と `sdp-guard "
            "probe {provider} --sdp-address {masquerade}`（フォールバック後は双方向）"
            "を実行してください。"
        ),
    },
    "tailnet-not-in-local-net": {
        "en": (
            "Run `sdp-guard sync --fix-local-net --yes` (MikoPBX restarts Asterisk: calls drop), "
            "or in MikoPBX add 100.64.0.0/10 as a local network (network filters, “local "
            "network”)."
        ),
        "ja": (
            "`sdp-guard sync --fix-local-net --yes` を実行する（MikoPBX が Asterisk "
            "を再起動し通話が切れます）か、MikoPBX で 100.64.0.0/10 "
            "をローカルネットワークとして追加してください（ネットワークフィルタの「ローカルネット"
            "ワーク」）。"
        ),
    },
    "peer-not-in-tailnet": {
        "en": (
            "Ask station {station}'s owner to share machine {node} with your tailnet, accept the "
            "share, then run `sdp-guard check` again."
        ),
        "ja": (
            "{station} 局の所有者にマシン {node} を当方の tailnet へ共有してもらい、"
            "共有を承認してから `sdp-guard check` を再実行してください。"
        ),
    },
    "provider-unmatched": {
        "en": (
            "Add the station to the registry with `providers: [{provider}]`, or correct the host."
        ),
        "ja": (
            "レジストリに `providers: [{provider}]` を付けて局を追加するか、"
            "ホスト設定を確認してください。"
        ),
    },
}


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _fields(f: Finding) -> Mapping[str, str]:
    d = _Fields(
        provider=f.provider or "?",
        station=f.station or "?",
        configured=f.configured or "?",
        advertised=f.advertised or "?",
        observed=f.observed or "?",
        masquerade=f.masquerade or "?",
        node=f.node or "?",
        admin_url=ADMIN_URL,
    )
    for k, v in f.params:
        d[k] = v or "?"
    if d["description"] == "?":
        d["description"] = f.provider or "?"
    return d


def template_key(f: Finding) -> str:
    if f.code is Code.HOST_DIFFERS:
        return f"{f.code.value}:{'ready' if f.param('ready') == 'yes' else 'wait'}"
    return f.code.value


def render(f: Finding, lang: str) -> tuple[str, str]:
    """(message, remedy) for one finding in ``lang`` (en or ja)."""
    key = template_key(f)
    msg, remedy = lookup(MESSAGES, key, lang), lookup(REMEDIES, key, lang)
    fields = _fields(f)
    return msg.format_map(fields), remedy.format_map(fields)


# Short UI strings for the text report.
UI: Catalogue = {
    "ok": {
        "en": "OK: no problem found",
        "ja": "OK: 問題は見つかりませんでした",
    },
    "summary": {
        "en": (
            "{critical} critical, {warning} warning, {info} info; {providers} providers, {peers} "
            "tailnet peers, {stations} stations"
        ),
        "ja": (
            "重大 {critical} 件、警告 {warning} 件、情報 {info} 件（プロバイダ {providers}、"
            "tailnet ピア {peers}、局 {stations}）"
        ),
    },
    "remedy": {
        "en": "fix",
        "ja": "対処",
    },
    "status": {
        "en": "sdp-guard {status}",
        "ja": "sdp-guard {status}",
    },
    "providers": {
        "en": "Providers",
        "ja": "プロバイダ",
    },
    "unmatched": {
        "en": "no station",
        "ja": "対応する局なし",
    },
}
