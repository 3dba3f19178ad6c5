"""Publish this station's tailnet address (TC25 step 0), run by the station's owner.

Reads our own node (Self) from tailscaled's LocalAPI (or a snapshot) and prints the Mantela
extension object aboutMe.tailnet:

  {"ipv4": "100.101.1.1", "node": "station-a", "ipv6": "fd7a:115c:a1e0::1a01",
   "updated": "2026-11-28"}

  --mantela FILE   patch aboutMe.tailnet in a local mantela.json in place: every other key, the
                   key order and the file's layout stay as they are; the old file is kept as
                   FILE.<time>.bak and the new one replaces it atomically. Publish it as usual.
  --yaml           print the entry for the YAML registry (stations.yaml) instead.
  --check          read our *published* mantela.json (--url, default registry.mantela_url) and
                   say whether it still carries our address. Saving the file in the Mantela
                   editor (tkytel/mantela-editor) drops aboutMe.tailnet: it keeps only the keys
                   it knows. The daemon reports the same as sdp_guard_mantela_advertises_our_address.

The extension never holds secrets: only the address, machine name and date (Mantela files are
public). Proposal: docs/mantela-tailnet-extension.md.

自局の tailnet アドレスを周知します（TC25 手順 0）。--mantela で mantela.json の aboutMe.tailnet
だけを書き換えます（他のキー・順序・書式はそのまま、バックアップ付き）。

exit codes: 0 done (or already up to date; with --check: the published file carries our
address), 1 with --check: it does not (missing, unusable or another address), 64 wrong options,
65 unusable input file, 69 tailscaled or the published file not reachable.

examples:
  sdp-guard advertise
  sdp-guard advertise --mantela /srv/www/.well-known/mantela.json --dry-run
  sdp-guard advertise --yaml --name kanda --identifier 6f1c0b6e-...
  sdp-guard advertise --check --url https://example.jp/mantela.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any

from sdp_guard.core.catalogue import Catalogue, view
from sdp_guard.errors import InputError, UsageError

MSG: Catalogue = {
    "hint_print": {
        "en": (
            "put this object under aboutMe.tailnet in your mantela.json (or run: sdp-guard "
            "advertise --mantela FILE)"
        ),
        "ja": (
            "このオブジェクトを mantela.json の aboutMe.tailnet に置いてください（または "
            "sdp-guard advertise --mantela FILE を実行）"
        ),
    },
    "uptodate": {
        "en": "{file}: aboutMe.tailnet is already up to date ({ipv4}); nothing written",
        "ja": "{file}: aboutMe.tailnet は最新です（{ipv4}）。書き込みはしていません",
    },
    "patched": {
        "en": "{file}: aboutMe.tailnet set to {ipv4} (was: {old}); backup: {backup}",
        "ja": "{file}: aboutMe.tailnet を {ipv4} にしました（以前: {old}）。バックアップ: {backup}",
    },
    "dry": {
        "en": "dry run: {file} would change like this (nothing written):",
        "ja": "ドライラン: {file} は次のように変わります（書き込みはしていません）:",
    },
    "publish": {
        "en": (
            "next: publish the file where peers read it (the URL in their providers[].mantela), "
            "e.g. commit and push it"
        ),
        "ja": (
            "次に: 相手局が読む場所（相手の providers[].mantela の URL）"
            "へファイルを公開してください（例: commit して push）"
        ),
    },
    "secret": {
        "en": (
            "warning: {file} still publishes aboutMe.{key}, a credential; Mantela files are "
            "public, remove it"
        ),
        "ja": (
            "警告: {file} は aboutMe.{key}（認証情報）を公開しています。mantela.json "
            "は公開されるので削除してください"
        ),
    },
    "no_node": {
        "en": "warning: this machine's name {name!r} is not a valid machine name; 'node' left out",
        "ja": "警告: このマシン名 {name!r} はマシン名として不正なため 'node' を省きました",
    },
    "yaml_head": {
        "en": "# add under `stations:` in the YAML registry (stations.yaml) of your peers",
        "ja": "# 相手局の YAML レジストリ（stations.yaml）の `stations:` の下に追加してください",
    },
    "check_ok": {
        "en": "{url}: aboutMe.tailnet.ipv4 is {ipv4}, our node's address",
        "ja": "{url}: aboutMe.tailnet.ipv4 は {ipv4}（自ノードのアドレス）です",
    },
    "check_missing": {
        "en": (
            "{url}: the published mantela.json has no aboutMe.tailnet, so peers cannot read our "
            "address. If the file was saved in the Mantela editor (tkytel/mantela-editor), the "
            "editor dropped it (it keeps only the keys it knows)."
        ),
        "ja": (
            "{url}: 公開中の mantela.json に aboutMe.tailnet がないため、"
            "相手局は当局のアドレスを読めません。Mantela エディタ（tkytel/mantela-editor）"
            "で保存した場合、エディタが削除しています（知らないキーを残さないため）。"
        ),
    },
    "check_unusable": {
        "en": "{url}: aboutMe.tailnet is there but unusable ({why})",
        "ja": "{url}: aboutMe.tailnet はありますが使えません（{why}）",
    },
    "check_differs": {
        "en": "{url}: aboutMe.tailnet.ipv4 is {published}, but our node's address is {ipv4}",
        "ja": "{url}: aboutMe.tailnet.ipv4 は {published} ですが、自ノードのアドレスは {ipv4} です",
    },
    "check_fix": {
        "en": (
            "fix: sdp-guard advertise --mantela FILE (the file you publish), then publish it again"
        ),
        "ja": (
            "対処: 公開しているファイルに sdp-guard advertise --mantela FILE を実行し、"
            "公開し直してください"
        ),
    },
    "check_no_url": {
        "en": (
            "--check needs the URL of our published mantela.json: --url URL, or "
            "registry.mantela_url in the configuration"
        ),
        "ja": (
            "--check には公開中の mantela.json の URL が必要です: --url URL、または設定の "
            "registry.mantela_url"
        ),
    },
    "check_unreachable": {
        "en": "cannot read our published mantela.json: {error}",
        "ja": "公開中の mantela.json を読めません: {error}",
    },
}

_SECRET_KEYS = ("sipPassword", "sipUsername")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from sdp_guard.commands._inputs import add_config_option

    add_config_option(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--tailscale-socket",
        metavar="PATH",
        help="tailscaled LocalAPI socket (default /var/run/tailscale/tailscaled.sock)",
    )
    src.add_argument(
        "--snapshot", metavar="FILE", help="read our node from a file made by `sdp-guard snapshot`"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--mantela", metavar="FILE", help="patch aboutMe.tailnet in this local mantela.json"
    )
    out.add_argument("--yaml", action="store_true", help="print a YAML registry entry instead")
    out.add_argument(
        "--check",
        action="store_true",
        help="check that our published mantela.json still carries our address",
    )
    p.add_argument(
        "--url",
        metavar="URL",
        help="with --check: our published mantela.json (default: registry.mantela_url)",
    )
    p.add_argument(
        "--identifier",
        metavar="ID",
        help="our Mantela aboutMe.identifier: put into the YAML entry; with --mantela, the file "
        "must carry it (guards against patching another station's file)",
    )
    p.add_argument("--name", help="station name for the YAML entry (default: the machine name)")
    p.add_argument(
        "--dry-run", action="store_true", help="with --mantela: show the change, write nothing"
    )
    p.add_argument("--lang", choices=("en", "ja"), help="operator language (default: the locale)")


def run(args: argparse.Namespace) -> int:
    from sdp_guard.commands._inputs import load_config, pick_lang

    cfg = load_config(args)
    lang = pick_lang(cfg)
    m = view(MSG, lang)
    if args.dry_run and not args.mantela:
        raise UsageError("--dry-run goes with --mantela FILE")
    if args.url and not args.check:
        raise UsageError("--url goes with --check")
    ext, warnings = own_extension(_status_doc(args, cfg), datetime.date.today())
    for w in warnings:
        print(m[w[0]].format(**w[1]), file=sys.stderr)
    if args.check:
        return _check_published(args.url or cfg.settings.registry_mantela_url, ext, m)
    if args.mantela:
        return _patch_file(args.mantela, ext, args.identifier, args.dry_run, m)
    if args.yaml:
        sys.stdout.write(
            yaml_entry(ext, name=args.name, identifier=args.identifier, head=m["yaml_head"])
        )
        return 0
    sys.stdout.write(json.dumps(ext, indent=2) + "\n")
    print(m["hint_print"], file=sys.stderr)
    return 0


class PublishedUnreachable(InputError):
    """Our published mantela.json cannot be fetched."""

    exit_code = os.EX_UNAVAILABLE


def _check_published(url: str, ext: dict[str, str], m: dict[str, str]) -> int:
    from sdp_guard.adapters.mantela_http import UrllibGetter, fetch_document
    from sdp_guard.core import mantela_doc as core

    url = url.strip()
    if not url:
        raise UsageError(m["check_no_url"])
    got = fetch_document(url, UrllibGetter(), None)
    if got.doc is None:
        raise PublishedUnreachable(m["check_unreachable"].format(error=_shown(got.error)))
    state = core.advertised_state(got.doc, ext["ipv4"])
    shown_url = _shown(url)
    if state == core.ADVERTISED_OK:
        print(m["check_ok"].format(url=shown_url, ipv4=ext["ipv4"]))
        return 0
    if state == core.ADVERTISED_MISSING:
        print(m["check_missing"].format(url=shown_url))
    elif state == core.ADVERTISED_UNUSABLE:
        why = "; ".join(n for n in got.doc.notes if "tailnet" in n) or "?"
        print(m["check_unusable"].format(url=shown_url, why=_shown(why)))
    else:
        assert got.doc.tailnet is not None
        print(
            m["check_differs"].format(
                url=shown_url, published=got.doc.tailnet.ipv4, ipv4=ext["ipv4"]
            )
        )
    print(m["check_fix"])
    return 1


def _shown(text: str) -> str:
    """Outside text made safe for a terminal (control characters become ``?``)."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _status_doc(args: argparse.Namespace, cfg: Any) -> Any:
    if args.snapshot:
        from sdp_guard.adapters.snapshot import load_snapshot

        return load_snapshot(args.snapshot)[0]
    from sdp_guard.adapters.localapi import LocalAPI

    return LocalAPI(cfg.settings.tailscale_socket).status()


def own_extension(
    status_doc: Any, today: datetime.date
) -> tuple[dict[str, str], list[tuple[str, dict[str, str]]]]:
    """The extension object for our own node, from a LocalAPI status document."""
    from sdp_guard.adapters.localapi import parse_status
    from sdp_guard.core.addresses import first_label
    from sdp_guard.core.mantela_ext import TailnetExtension, validate_tailnet

    view = parse_status(status_doc)
    warnings: list[tuple[str, dict[str, str]]] = []
    if not view.self_ipv4:
        raise InputError(
            "this node has no Tailscale IPv4 address",
            "check `tailscale ip -4`; the tailnet may have IPv4 disabled",
        )
    ext = TailnetExtension(
        ipv4=view.self_ipv4,
        node=first_label(view.self_dns_name) or view.self_hostname.lower(),
        ipv6=view.self_ipv6,
        updated=today.isoformat(),
    )
    obj = ext.to_json()
    problems = validate_tailnet(obj)
    if any(p.startswith("node:") for p in problems):
        warnings.append(("no_node", {"name": obj.pop("node", "")}))
    if any(p.startswith("ipv6:") for p in problems):
        obj.pop("ipv6", None)
    problems = validate_tailnet(obj)
    if problems:
        raise InputError(
            f"our node's address cannot be advertised: {'; '.join(problems)}",
            "is this a Tailscale node? compare with `tailscale status --json`",
        )
    return obj, warnings


def yaml_entry(
    ext: dict[str, str], *, name: str | None, identifier: str | None, head: str = ""
) -> str:
    """One ``stations:`` list item; strings quoted JSON-style, which YAML reads as is."""
    lines = [head] if head else []
    lines.append(f"  - name: {json.dumps(name or ext.get('node') or ext['ipv4'])}")
    lines.append(f"    ipv4: {ext['ipv4']}")
    if ext.get("node"):
        lines.append(f"    node: {ext['node']}")
    if identifier:
        lines.append(f"    identifier: {json.dumps(identifier)}")
    if ext.get("ipv6"):
        lines.append(f'    ipv6: "{ext["ipv6"]}"')
    return "\n".join(lines) + "\n"


def _patch_file(
    path: str, ext: dict[str, str], identifier: str | None, dry_run: bool, m: dict[str, str]
) -> int:
    from sdp_guard.adapters.bounded import TooLarge, read_file
    from sdp_guard.core.json_patch import PatchError, patch_text

    try:
        text = read_file(path, 16 * 1024 * 1024).decode("utf-8")
    except TooLarge as e:
        raise InputError(str(e)) from None
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist", "give the path of your local mantela.json"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        current = json.loads(text.lstrip("\ufeff")).get("aboutMe", {}).get("tailnet")
    except (ValueError, AttributeError):
        current = None
    if isinstance(current, dict) and isinstance(current.get("updated"), str):
        same = all(current.get(k) == ext.get(k) for k in ("ipv4", "node", "ipv6"))
        if same:  # "updated" is when the value last changed: no daily churn from cron
            ext = {**ext, "updated": current["updated"]}
    try:
        new = patch_text(text, ext)
    except PatchError as e:
        raise InputError(
            f"{path}: {e}", "fix the file first (it must be a valid mantela.json)"
        ) from None
    doc = json.loads(text.lstrip("\ufeff"))
    about = doc["aboutMe"]
    if identifier and about.get("identifier") != identifier:
        raise UsageError(
            f"{path} belongs to {about.get('identifier')!r}, not to --identifier {identifier!r}",
            "check that this is your own station's mantela.json",
        )
    for key in _SECRET_KEYS:
        if about.get(key):
            print(m["secret"].format(file=path, key=key), file=sys.stderr)
    old = about.get("tailnet")
    if new == text:
        print(m["uptodate"].format(file=path, ipv4=ext["ipv4"]))
        return 0
    if dry_run:
        import difflib

        print(m["dry"].format(file=path))
        sys.stdout.writelines(
            difflib.unified_diff(
                text.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"{path} (current)",
                tofile=f"{path} (planned)",
            )
        )
        return 0
    backup = write_with_backup(path, text, new)
    old_s = old.get("ipv4", "?") if isinstance(old, dict) else "-"
    print(m["patched"].format(file=path, ipv4=ext["ipv4"], old=old_s, backup=backup))
    print(m["publish"], file=sys.stderr)
    return 0


def write_with_backup(path: str, old: str, new: str) -> str:
    """Keep ``old`` as ``path.<UTC time>.bak``, then replace ``path`` atomically (same mode)."""
    from sdp_guard.adapters.atomic import check_target, write_atomic

    st = check_target(path)
    if st is None:
        raise InputError(f"{path} does not exist", "give the path of your local mantela.json")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = f"{path}.{stamp}.bak"
    n = 1
    while os.path.lexists(backup):
        n += 1
        backup = f"{path}.{stamp}-{n}.bak"
    mode = st.st_mode & 0o7777
    write_atomic(backup, old.encode("utf-8"), mode)
    write_atomic(path, new.encode("utf-8"), mode, owner=(st.st_uid, st.st_gid))
    return backup
