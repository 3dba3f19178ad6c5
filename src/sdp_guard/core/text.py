"""Text from outside (station names, peer names, remote error bodies) is data, not terminal input.

``sanitize_text`` is applied wherever such text reaches a terminal or a log line: it shows every
control character (C0, DEL, C1), line and paragraph separators and the bidirectional overrides as
a visible escape, so an ESC sequence cannot repaint a terminal and a ``\\n`` cannot forge a
journal line. Pure and fast (one ``str.translate``).
"""

from __future__ import annotations

_CODES = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_CODES += [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
_TABLE: dict[int, str] = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _CODES}


def sanitize_text(value: object, limit: int = 0) -> str:
    """``value`` as one printable line; with ``limit``, at most that many characters (+ "…")."""
    s = value if isinstance(value, str) else str(value)
    if limit and len(s) > limit:
        s = s[:limit] + "…"
    return s.translate(_TABLE)
