"""Operator texts for sync, backups and rollback (English and Japanese)."""

from __future__ import annotations

from collections.abc import Sequence

from sdp_guard.core.catalogue import Catalogue, text
from sdp_guard.core.model import PbxConfig, Station, TailnetView
from sdp_guard.core.plan import Plan, Waiting

T: Catalogue = {
    "waiting": {
        "en": "Waiting (not changed by this run):",
        "ja": "保留中（今回は変更しません）:",
    },
    "confirm": {
        "en": "Apply these changes to MikoPBX now? [y/N] ",
        "ja": "これらの変更を MikoPBX に適用しますか？ [y/N] ",
    },
    "confirm_rollback": {
        "en": "Restore these providers from backup {id}? [y/N] ",
        "ja": "バックアップ {id} からこれらのプロバイダを復元しますか？ [y/N] ",
    },
    "not_applied_tty": {
        "en": "Not applied: no terminal to confirm on; add --yes to apply.",
        "ja": "未適用: 確認できる端末がありません。適用するには --yes を付けてください。",
    },
    "declined": {
        "en": "Not applied.",
        "ja": "適用しませんでした。",
    },
    "restart": {
        "en": (
            "WARNING: adding 100.64.0.0/10 as a local network makes MikoPBX restart Asterisk: "
            "every call in progress drops."
        ),
        "ja": (
            "警告: 100.64.0.0/10 をローカルネットワークに追加すると MikoPBX は Asterisk "
            "を再起動します。通話中の呼はすべて切断されます。"
        ),
    },
    "needs_yes": {
        "en": "--fix-local-net restarts Asterisk (calls drop), so it needs --yes",
        "ja": "--fix-local-net は Asterisk を再起動する（通話が切れる）ため --yes が必要です",
    },
    "done": {
        "en": (
            "Done: {n} provider(s) changed and verified; backup {id} (undo: sdp-guard rollback "
            "{id})."
        ),
        "ja": (
            "完了: {n} 件のプロバイダを変更し確認しました。バックアップ {id}（元に戻す: sdp-guard "
            "rollback {id}）。"
        ),
    },
    "skipped": {
        "en": "{pid}: skipped, {why}; nothing was written to it. Run sdp-guard sync again.",
        "ja": (
            "{pid}: スキップ（{why}）。このプロバイダには何も書き込んでいません。sdp-guard sync "
            "を再実行してください。"
        ),
    },
    "rolled_back": {
        "en": "Rolled back: {pids}.",
        "ja": "ロールバックしました: {pids}。",
    },
    "offline_note": {
        "en": (
            "Written to the DB of the stopped MikoPBX; it applies them when it starts (pjsip.conf "
            "is generated at boot)."
        ),
        "ja": (
            "停止中の MikoPBX の DB に書き込みました。MikoPBX の起動時に反映されます（pjsip.conf "
            "は起動時に生成されます）。"
        ),
    },
    "nothing": {
        "en": "Nothing to change.",
        "ja": "変更はありません。",
    },
    "dry_run": {
        "en": "Dry run: nothing written.",
        "ja": "ドライラン: 何も書き込んでいません。",
    },
    "unfinished": {
        "en": (
            "warning: sync run {id} did not finish ({status}); "
            "`sdp-guard rollback {id}` restores what it wrote"
        ),
        "ja": (
            "警告: 同期 {id} は完了していません（{status}）。"
            "`sdp-guard rollback {id}` で書き込んだ内容を元に戻せます"
        ),
    },
    "rollback_none": {
        "en": "nothing to roll back in {dir}",
        "ja": "{dir} に元に戻せるバックアップはありません",
    },
    "rollback_backup": {
        "en": "backup {id} ({status}, {mode}): {pids}",
        "ja": "バックアップ {id}（{status}、{mode}）: {pids}",
    },
    "rollback_nothing_left": {
        "en": "nothing this backup wrote is left to restore",
        "ja": "このバックアップが書き込んだもので復元が必要なものは残っていません",
    },
    "not_restored_tty": {
        "en": "Not restored: no terminal to confirm on; add --yes to restore.",
        "ja": "未復元: 確認できる端末がありません。復元するには --yes を付けてください。",
    },
    "declined_rollback": {
        "en": "Not restored.",
        "ja": "復元しませんでした。",
    },
    "dry_run_rollback": {
        "en": "Dry run: nothing restored.",
        "ja": "ドライラン: 何も復元していません。",
    },
    "renumber-first": {
        "en": "renumber first",
        "ja": "先に番号変更が必要",
    },
    "advertised-taken": {
        "en": "advertised address taken",
        "ja": "広報アドレスが使用中",
    },
    "peer-not-in-tailnet": {
        "en": "peer not in our tailnet",
        "ja": "相手が tailnet にいない",
    },
    "needs-fallback": {
        "en": "masquerade (needs --fallback media-address)",
        "ja": "マスカレード（--fallback media-address が必要）",
    },
    "needs-fix-local-net": {
        "en": "tailnet is not a local network (needs --fix-local-net)",
        "ja": "tailnet がローカルネットワークではない（--fix-local-net が必要）",
    },
    "disabled": {
        "en": "disabled in MikoPBX",
        "ja": "MikoPBX で無効化されている（変更するには --include-disabled）",
    },
    "mikopbx-would-alter": {
        "en": "MikoPBX's API would alter its text",
        "ja": (
            "MikoPBX の API が文字列を書き換えてしまう（MikoPBX を停止して --offline-db、"
            "または該当行を先に書き直す）"
        ),
    },
}


def t(lang: str, key: str, **kw: object) -> str:
    """The text of ``key``; a key with no entry (an unknown waiting reason) is shown as it is."""
    from sdp_guard.core.text import sanitize_text

    # Provider ids, hosts and reasons come from the DB, the API or a journal: shown escaped.
    safe = {k: sanitize_text(v) if isinstance(v, str) else v for k, v in kw.items()}
    return text(T, key, lang, **safe) if key in T else key.format(**safe)


def summary(plan: Plan, lang: str) -> str:
    if lang != "ja":
        return plan.summary
    n = len(plan.provider_ids)
    parts = [f"変更するプロバイダ {n} 件"]
    if plan.local_net_change is not None:
        parts.append("ローカルネットワーク 100.64.0.0/10 を追加")
    text = "計画: " + "、".join(parts)
    if plan.disabled:
        text += f"（うち無効なプロバイダ {len(plan.disabled)} 件、--include-disabled）"
    if plan.waiting:
        text += f"（保留 {len(plan.waiting)} 件）"
    return text


def waiting_line(w: Waiting, lang: str) -> str:
    who = w.provider or "MikoPBX"
    station = f" [{w.station}]" if w.station else ""
    return f"  {who}{station}: {t(lang, w.reason)}: {w.detail}"


def render_plan(plan: Plan, lang: str) -> str:
    lines = []
    diff = plan.render_diff()
    if diff:
        lines.append(diff.rstrip("\n"))
        lines.append("")
    lines.append(summary(plan, lang) if lang == "ja" else plan.summary)
    if lang == "ja":
        lines.append(plan.summary)
    if plan.waiting:
        lines.append(t(lang, "waiting"))
        lines += [waiting_line(w, lang) for w in plan.waiting]
    from sdp_guard.core.text import sanitize_text

    return "\n".join(sanitize_text(line) for line in "\n".join(lines).split("\n")) + "\n"


DEMO_COMMAND = "sdp-guard sync --dry-run --fallback media-address --fix-local-net"


def demo_plan(pbx: PbxConfig, stations: Sequence[Station], view: TailnetView, lang: str) -> str:
    """The sync plan for the demo network, as `sdp-guard demo` prints it after the findings."""
    from sdp_guard.core.diagnose import evaluate
    from sdp_guard.core.plan import plan_sync

    plan = plan_sync(
        pbx, evaluate(pbx, stations, view), fallback_media_address=True, fix_local_net=True
    )
    head = "同期計画" if lang == "ja" else "What sync would change"
    return f"\n{head} ({DEMO_COMMAND}):\n\n{render_plan(plan, lang)}"
