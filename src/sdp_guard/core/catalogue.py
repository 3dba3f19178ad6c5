"""The one shape of every operator-text table, and the one lookup.

A table maps a message key to its text per language::

    TEXTS: Catalogue = {"done": {"en": "Done.", "ja": "完了しました。"}}

Templates use ``str.format`` fields; a language without an entry falls back to English. Every key
has both languages with the same fields (tests/core/test_catalogue.py checks all tables).
"""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("en", "ja")

Catalogue = Mapping[str, Mapping[str, str]]


def lookup(table: Catalogue, key: str, lang: str) -> str:
    """The template of ``key`` in ``lang`` (English when that language has none)."""
    entry = table[key]
    return entry.get(lang) or entry["en"]


def text(table: Catalogue, key: str, lang: str, **fields: object) -> str:
    """The message of ``key`` in ``lang`` with its fields filled in."""
    return lookup(table, key, lang).format(**fields)


def view(table: Catalogue, lang: str) -> dict[str, str]:
    """All templates of one language, for code that renders many of them."""
    return {key: lookup(table, key, lang) for key in table}
