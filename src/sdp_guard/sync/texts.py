"""Operator texts for sync, backups and rollback (English and Japanese)."""

from __future__ import annotations

from collections.abc import Sequence

from sdp_guard.core.model import PbxConfig, Station, TailnetView
from sdp_guard.core.plan import Plan, Waiting

T: dict[str, dict[str, str]] = {
    "en": {
        "waiting": "Waiting (not changed by this run):",
        "confirm": "Apply these changes to MikoPBX now? [y/N] ",
        "confirm_rollback": "Restore these providers from backup {id}? [y/N] ",
        "not_applied_tty": "Not applied: no terminal to confirm on; add --yes to apply.",
        "declined": "Not applied.",
        "not_restored_tty": "Not restored: no terminal to confirm on; add --yes to restore.",
        "declined_rollback": "Not restored.",
        "dry_run_rollback": "Dry run: nothing restored.",
        "unfinished": (
            "sync run {id} did not finish ({status}); `sdp-guard rollback {id}` restores what "
            "it wrote"
        ),
        "restart": (
            "WARNING: adding 100.64.0.0/10 as a local network makes MikoPBX restart Asterisk: "
            "every call in progress drops."
        ),
        "needs_yes": "--fix-local-net restarts Asterisk (calls drop), so it needs --yes",
        "done": "Done: {n} provider(s) changed and verified; backup {id} (undo: sdp-guard rollback {id}).",
        "skipped": "{pid}: skipped, {why}; nothing was written to it. Run sdp-guard sync again.",
        "rolled_back": "Rolled back: {pids}.",
        "offline_note": (
            "Written to the DB of the stopped MikoPBX; it applies them when it starts "
            "(pjsip.conf is generated at boot)."
        ),
        "nothing": "Nothing to change.",
        "dry_run": "Dry run: nothing written.",
        "renumber-first": "renumber first",
        "advertised-taken": "advertised address taken",
        "peer-not-in-tailnet": "peer not in our tailnet",
        "needs-fallback": "masquerade (needs --fallback media-address)",
        "needs-fix-local-net": "tailnet is not a local network (needs --fix-local-net)",
        "disabled": "disabled in MikoPBX",
        "mikopbx-would-alter": "MikoPBX's API would alter its text",
    },
    "ja": {
        "waiting": "保留中（今回は変更しません）:",
        "confirm": "これらの変更を MikoPBX に適用しますか？ [y/N] ",
        "confirm_rollback": "バックアップ {id} からこれらのプロバイダを復元しますか？ [y/N] ",
        "not_applied_tty": "未適用: 確認できる端末がありません。適用するには --yes を付けてください。",
        "declined": "適用しませんでした。",
        "not_restored_tty": "未復元: 確認できる端末がありません。復元するには --yes を付けてください。",
        "declined_rollback": "復元しませんでした。",
        "dry_run_rollback": "ドライラン: 何も復元していません。",
        "unfinished": (
            "同期 {id} は完了していません（{status}）。`sdp-guard rollback {id}` で"
            "書き込んだ内容を元に戻せます"
        ),
        "restart": (
            "警告: 100.64.0.0/10 をローカルネットワークに追加すると MikoPBX は Asterisk を"
            "再起動します。通話中の呼はすべて切断されます。"
        ),
        "needs_yes": "--fix-local-net は Asterisk を再起動する（通話が切れる）ため --yes が必要です",
        "done": (
            "完了: {n} 件のプロバイダを変更し確認しました。バックアップ {id}"
            "（元に戻す: sdp-guard rollback {id}）。"
        ),
        "skipped": (
            "{pid}: スキップ（{why}）。このプロバイダには何も書き込んでいません。"
            "sdp-guard sync を再実行してください。"
        ),
        "rolled_back": "ロールバックしました: {pids}。",
        "offline_note": (
            "停止中の MikoPBX の DB に書き込みました。MikoPBX の起動時に反映されます"
            "（pjsip.conf は起動時に生成されます）。"
        ),
        "nothing": "変更はありません。",
        "dry_run": "ドライラン: 何も書き込んでいません。",
        "renumber-first": "先に番号変更が必要",
        "advertised-taken": "広報アドレスが使用中",
        "peer-not-in-tailnet": "相手が tailnet にいない",
        "needs-fallback": "マスカレード（--fallback media-address が必要）",
        "needs-fix-local-net": "tailnet がローカルネットワークではない（--fix-local-net が必要）",
        "disabled": "MikoPBX で無効化されている（変更するには --include-disabled）",
        "mikopbx-would-alter": (
            "MikoPBX の API が文字列を書き換えてしまう（MikoPBX を停止して --offline-db、"
            "または該当行を先に書き直す）"
        ),
    },
}


def t(lang: str, key: str, **kw: object) -> str:
    from sdp_guard.core.text import sanitize_text

    table = T.get(lang, T["en"])
    # Provider ids, hosts and reasons come from the DB, the API or a journal: shown escaped.
    safe = {k: sanitize_text(v) if isinstance(v, str) else v for k, v in kw.items()}
    return table.get(key, T["en"].get(key, key)).format(**safe)


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
