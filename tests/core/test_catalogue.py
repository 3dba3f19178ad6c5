"""Every operator text exists in English and Japanese with the same fields, in one table shape."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from sdp_guard.commands.advertise import MSG
from sdp_guard.commands.renumber import TEXT as RENUMBER
from sdp_guard.core.catalogue import LANGS, Catalogue, lookup, text
from sdp_guard.core.findings import Code
from sdp_guard.core.messages import MESSAGES, REMEDIES, UI
from sdp_guard.core.probe import TEXTS as PROBE
from sdp_guard.daemon.logtext import TEXT as DAEMON
from sdp_guard.sync.texts import T as SYNC

SRC = Path(__file__).resolve().parents[2] / "src" / "sdp_guard"
TABLES: dict[str, Catalogue] = {
    "core.messages.MESSAGES": MESSAGES,
    "core.messages.REMEDIES": REMEDIES,
    "core.messages.UI": UI,
    "core.probe.TEXTS": PROBE,
    "sync.texts.T": SYNC,
    "daemon.logtext.TEXT": DAEMON,
    "commands.advertise.MSG": MSG,
    "commands.renumber.TEXT": RENUMBER,
}


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_key_has_every_language_with_the_same_fields(name: str) -> None:
    table = TABLES[name]
    assert table, f"{name} is empty"
    for key, entry in table.items():
        assert set(entry) == set(LANGS), f"{name}[{key!r}] has {sorted(entry)}, not {LANGS}"
        assert all(entry[lang].strip() for lang in LANGS), f"{name}[{key!r}] has an empty text"
        assert _fields(entry["en"]) == _fields(entry["ja"]), (
            f"{name}[{key!r}]: en fields {sorted(_fields(entry['en']))} "
            f"!= ja fields {sorted(_fields(entry['ja']))}"
        )


def test_japanese_texts_are_translated() -> None:
    # A ja entry that is only ASCII was most likely copied from English and left untranslated;
    # the few that are language-neutral (a heading with only placeholders) are listed.
    neutral = {("core.messages.UI", "status"), ("core.probe.TEXTS", "head")}
    neutral |= {("core.probe.TEXTS", "sip")}
    untranslated = [
        (name, key)
        for name, table in TABLES.items()
        for key, entry in table.items()
        if entry["ja"].isascii() and entry["ja"] == entry["en"] and (name, key) not in neutral
    ]
    assert not untranslated


def test_every_finding_code_has_a_message_and_a_remedy() -> None:
    for code in Code:
        keys = [k for k in MESSAGES if k == code.value or k.startswith(code.value + ":")]
        assert keys, f"no message for {code.value}"
        assert all(k in REMEDIES for k in keys)


def test_lookup_falls_back_to_english_for_an_unknown_language() -> None:
    assert lookup(SYNC, "nothing", "fr") == SYNC["nothing"]["en"]
    assert text(SYNC, "rolled_back", "ja", pids="p1") == "ロールバックしました: p1。"


def _legacy_tables(tree: ast.AST) -> list[int]:
    """Dict literals keyed by language first ({"en": {...}, "ja": {...}}): the old shape."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if {"en", "ja"} <= keys and all(isinstance(v, ast.Dict) for v in node.values):
                found.append(node.lineno)
    return found


def test_no_module_keeps_a_table_of_its_own_shape() -> None:
    bad = {
        str(p.relative_to(SRC)): lines
        for p in sorted(SRC.rglob("*.py"))
        if (lines := _legacy_tables(ast.parse(p.read_text(encoding="utf-8"))))
    }
    assert not bad, f"language-first text tables (use core.catalogue's shape): {bad}"
