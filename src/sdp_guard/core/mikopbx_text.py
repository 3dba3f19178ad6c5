"""What MikoPBX's REST API does to the text it stores, predicted before sync sends it (pure).

From github.com/mikopbx/Core @ e26e6b973bbef6a0d4d1064fe495e62c70f475df (files identical in
release 2026.1.223), paths under ``src/PBXCoreREST/Lib/``:

- Every provider save sanitizes ``note``, ``description`` and ``manualattributes``
  (``Providers/SaveRecordAction.php`` l.84, l.94 → ``Common/AbstractSaveRecordAction.php``
  l.84-109): first the field's rules (``Common/BaseActionHelper.php`` l.166-170 ``trim``;
  l.197-203 cut to ``maxLength`` characters: note 500, description 255,
  ``Providers/DataStructure.php`` l.448-464), then ``TextFieldProcessor::sanitizeForStorage``
  (``Common/TextFieldProcessor.php`` l.51-87): trim, NUL bytes, dangerous tags, ``javascript:``/
  ``vbscript:``/``data:text/html`` runs, ``<form>`` tags and **``/\\s*on\\w+\\s*=\\s*[^>]*/i``**,
  which removes e.g. ``rewrite_contact = yes``, ``context=…``, ``max_contacts=…``,
  ``tone_zone=…``, ``connected_line_method=…`` **and everything after them** (no ``>`` in a
  pjsip option), mikopbx/Core#1029.
- What is still "dangerous" after that (``TextFieldProcessor.php`` l.164-218, e.g. ``update …
  set`` on one line) makes MikoPBX refuse the whole save (``AbstractSaveRecordAction.php``
  l.99-105).

PCRE without ``/u`` treats ``\\w``/``\\s`` as ASCII, hence ``re.ASCII``. Trimming the ends of a text
is expected and harmless (sync compares trimmed text); anything else is an alteration.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sdp_guard.core.manualattrs import mask_secrets

PHP_TRIM = " \t\n\r\0\x0b"  # PHP trim()'s default characters
MAX_LENGTH = {"note": 500, "description": 255}
_TAGS = ("script", "iframe", "object", "embed", "applet", "meta", "link", "style")
_F = re.IGNORECASE | re.ASCII
_SANITIZE: tuple[re.Pattern[str], ...] = (
    *(
        p
        for t in _TAGS
        for p in (
            re.compile(rf"<{t}\b[^<]*(?:(?!</{t}>)<[^<]*)*</{t}>", _F | re.MULTILINE),
            re.compile(rf"<{t}\b[^>]*/>", _F | re.MULTILINE),
        )
    ),
    re.compile(r"javascript:[^\"']*[\"']?", _F),
    re.compile(r"vbscript:[^\"']*[\"']?", _F),
    re.compile(r"data:text/html[^\"']*[\"']?", _F),
    re.compile(r"\s*on\w+\s*=\s*[^>]*", _F),
    re.compile(r"</?form[^>]*>", _F),
)
_REFUSE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<script\b[^<]*(?:(?!</script>)<[^<]*)*</script>", _F | re.M), "script tag"),
    (re.compile(r"<iframe\b[^<]*(?:(?!</iframe>)<[^<]*)*</iframe>", _F | re.M), "iframe tag"),
    (re.compile(r"javascript:[^\"']*[\"']?", _F), "javascript: URL"),
    (re.compile(r"vbscript:[^\"']*[\"']?", _F), "vbscript: URL"),
    (re.compile(r"data:text/(html|javascript)[^\"']*[\"']?", _F), "data: URL"),
    (re.compile(r"\s*on\w+\s*=\s*[^>]*", _F), "event handler"),
    (re.compile(r"<\?php|<\?=", _F), "PHP tag"),
    (re.compile(r"<!--#\w+", _F), "server-side include"),
    (
        re.compile(
            r"(\bunion\b.*\bselect\b|\bdelete\b.*\bfrom\b|\binsert\b.*\binto\b|\bupdate\b.*\bset\b)",
            _F,
        ),
        "SQL-like words (union…select, delete…from, insert…into, update…set) on one line",
    ),
)


def sanitize_for_storage(text: str) -> str:
    """``TextFieldProcessor::sanitizeForStorage``."""
    if not text:
        return ""
    text = text.strip(PHP_TRIM).replace("\0", "")
    for pat in _SANITIZE:
        text = pat.sub("", text)
    return text


def stored(field: str, text: str) -> str:
    """The text MikoPBX stores when sent ``text`` for ``field`` (note/description/manualattributes)."""
    text = text.strip(PHP_TRIM)
    limit = MAX_LENGTH.get(field)
    if limit is not None:
        text = text[:limit]
    return sanitize_for_storage(text)


def refusals(field: str, text: str) -> tuple[str, ...]:
    """Why MikoPBX would refuse the save of this text (empty: it accepts it)."""
    kept = stored(field, text)
    return tuple(why for pat, why in _REFUSE if pat.search(kept))


@dataclass(frozen=True)
class Alteration:
    """What MikoPBX would do to one text field sync sends."""

    field: str
    lines: tuple[tuple[int, str], ...]  # (1-based line number in the sent text, the line)
    cut: bool  # longer than the field's maximum length
    refused: tuple[str, ...]  # the save would be refused as a whole, for these reasons

    def describe(self, limit: int = 5) -> str:
        name = {"manualattributes": "manual attributes"}.get(self.field, self.field)
        if self.refused:
            return f"MikoPBX would refuse to save the {name} ({', '.join(self.refused)})"
        parts = []
        if self.lines:
            shown = "; ".join(
                f"line {n} `{shown_text(mask_secrets(t))}`" for n, t in self.lines[:limit]
            )
            more = len(self.lines) - limit
            parts.append(
                f"MikoPBX's API would remove or change {name} {shown}"
                + (f" and {more} more line(s)" if more > 0 else "")
            )
        if self.cut:
            parts.append(
                f"it keeps only the first {MAX_LENGTH[self.field]} characters of the {name}"
            )
        return "; ".join(parts)


def alteration(field: str, text: str) -> Alteration | None:
    """None when MikoPBX keeps ``text`` (up to trimming its ends), else what it would do."""
    refused = refusals(field, text)
    base = text.strip(PHP_TRIM)
    kept = stored(field, text)
    if kept == base and not refused:
        return None
    limit = MAX_LENGTH.get(field)
    cut = limit is not None and len(base) > limit
    first = text[: len(text) - len(text.lstrip(PHP_TRIM))].count("\n")  # lines trimmed in front
    old_lines = base.split("\n")
    new_lines = kept.split("\n")
    lines: list[tuple[int, str]] = []
    sm = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag in ("replace", "delete"):
            lines += [(first + i + 1, old_lines[i]) for i in range(i1, i2)]
    return Alteration(field, tuple(lines), cut, refused)


def shown_text(text: str, limit: int = 80) -> str:
    """One line of outside text made safe to print: control characters become ``?``."""
    s = "".join(c if c.isprintable() else "?" for c in text)
    return s if len(s) <= limit else s[: limit - 1] + "…"
