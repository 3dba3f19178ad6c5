"""The daemon's transition lines (one per change) in English and Japanese. Pure.

Each line names the finding code, provider, station and the addresses involved, then the
operator message from :mod:`sdp_guard.core.messages`, so a journal line alone says what broke.
"""

from __future__ import annotations

from sdp_guard.core import catalogue
from sdp_guard.core.catalogue import Catalogue
from sdp_guard.core.findings import Finding
from sdp_guard.core.messages import render
from sdp_guard.daemon.state import Transition

TEXT: Catalogue = {
    "appeared": {
        "en": "finding appeared",
        "ja": "検出",
    },
    "cleared": {
        "en": "finding cleared",
        "ja": "解消",
    },
    "changed": {
        "en": "finding changed",
        "ja": "変化",
    },
    "down": {
        "en": "source {source} down: {error}; keeping its last good view{since}",
        "ja": "入力 {source} が利用不可: {error}。最後に正常だった内容を使い続けます{since}",
    },
    "down_since": {
        "en": " from {when}",
        "ja": "（{when} 時点）",
    },
    "down_none": {
        "en": "source {source} down: {error}; no good view yet, findings wait for it",
        "ja": "入力 {source} が利用不可: {error}。正常な内容がまだないため判定を保留します",
    },
    "up": {
        "en": "source {source} up again: {detail}",
        "ja": "入力 {source} が復旧: {detail}",
    },
    "ready": {
        "en": "ready: {summary}",
        "ja": "準備完了: {summary}",
    },
    "stopping": {
        "en": "stopping on {signal}",
        "ja": "{signal} により停止します",
    },
    "reloaded": {
        "en": "configuration reloaded ({path})",
        "ja": "設定を再読み込みしました（{path}）",
    },
    "reload_failed": {
        "en": "configuration not reloaded, keeping the previous one: {error}",
        "ja": "設定を再読み込みできません。以前の設定を使い続けます: {error}",
    },
    "sync_applied": {
        "en": "auto-sync applied for {providers}: {plan}",
        "ja": "自動同期を適用しました（{providers}）: {plan}",
    },
    "sync_failed": {
        "en": "auto-sync failed: {error}",
        "ja": "自動同期に失敗しました: {error}",
    },
    "listening": {
        "en": "metrics on http://{listen}/metrics, findings on /findings",
        "ja": "メトリクス http://{listen}/metrics、検出結果 /findings",
    },
    "netlink_off": {
        "en": "netlink on {interface} not watched: {error} (the bus and the re-check still apply)",
        "ja": "{interface} の netlink を監視できません: {error}（バスと定期再確認は有効）",
    },
    "watch_failed": {
        "en": "cannot watch {path}: {error} (the re-check still applies)",
        "ja": "{path} を監視できません: {error}（定期再確認は有効）",
    },
    "listen_exposed": {
        "en": (
            "metrics listen on {listen}, not only on loopback: /findings carries station names "
            "and tailnet addresses; restrict access (firewall) or listen on 127.0.0.1"
        ),
        "ja": (
            "メトリクスがループバック以外の {listen} で待ち受けています。/findings には局名と "
            "tailnet アドレスが含まれます。ファイアウォールで制限するか 127.0.0.1 "
            "で待ち受けてください"
        ),
    },
}


def text(lang: str, key: str, **kw: object) -> str:
    return catalogue.text(TEXT, key, lang, **kw)


def _where(f: Finding) -> str:
    parts = [f"{f.severity.label} {f.code.value}"]
    for label, value in (
        ("provider", f.provider),
        ("station", f.station),
        ("node", f.node),
        ("configured", f.configured),
        ("advertised", f.advertised),
        ("observed", f.observed),
        ("masquerade", f.masquerade),
    ):
        if value:
            parts.append(f"{label}={value}")
    return " ".join(parts)


def transition_line(t: Transition, lang: str) -> str:
    """One line per transition, e.g. ``finding appeared: critical host-differs-… provider=…``."""
    head = text(lang, t.kind)
    if t.kind == "cleared":
        return f"{head}: {_where(t.finding)}"
    message, _remedy = render(t.finding, lang)
    if t.kind == "changed" and t.before is not None:
        return f"{head}: {_where(t.finding)} (was: {_where(t.before)}): {message}"
    return f"{head}: {_where(t.finding)}: {message}"
