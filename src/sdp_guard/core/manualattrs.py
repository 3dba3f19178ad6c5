"""The sdp-guard-owned ``media_address`` block in a provider's manual attributes.

MikoPBX appends a provider's manual attributes to the generated pjsip.conf sections
(``Util::parseIniSettings``, mikopbx/Core @ e26e6b97 ``src/Core/System/Util.php``). Facts this
module relies on, all from that function:

- Lines are split on ``\\n`` only; a line whose trimmed form starts with ``[`` opens a section.
- **A repeated section name starts that section afresh** (``$manual_data[$section_name] = []``), so
  a second ``[endpoint]`` would wipe the operator's first one. The block therefore goes *inside*
  the last ``[endpoint]`` section, after the operator's lines (for scalar keys the later one wins),
  and brings its own ``[endpoint]`` header only when the text has none.
- Lines without ``=`` are skipped, so the marker comments (which contain no ``=``) are inert.

Everything outside the block is kept byte for byte: ``remove_media_address(set_media_address(t, a))
== t`` for any text ``t`` without marker lines (property-tested). Note that MikoPBX's REST API
trims the whole text on save (``TextFieldProcessor::sanitizeForStorage``), so a trailing newline
the operator typed does not survive *any* API save, ours or the UI's.
"""

from __future__ import annotations

BEGIN = "; sdp-guard: begin media_address block (managed by sdp-guard sync, edits are overwritten)"
END = "; sdp-guard: end"
KEY = "media_address"


def _line_starts(text: str) -> list[int]:
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


def _line_at(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start:] if end == -1 else text[start:end]


_PHP_TRIM = " \t\n\r\0\x0b"  # PHP trim()'s default characters, not Python's Unicode whitespace


def _section_name(line: str) -> str | None:
    """The section a line opens, as parseIniSettings sees it: any trimmed line starting with ``[``
    (it splits on ``"\n["``), even without ``]``; the name stops at the first ``]``."""
    s = line.strip(_PHP_TRIM)
    if not s.startswith("["):
        return None
    pos = s.find("]")
    inner = s[1:pos] if pos != -1 else s[1:]
    return inner.replace("]", "").strip(_PHP_TRIM)


def _find_block(text: str) -> tuple[int, int] | None:
    """(start offset of the BEGIN line, offset just past the END line's content) or None."""
    begin: int | None = None
    for st in _line_starts(text):
        if st > len(text):
            break
        line = _line_at(text, st).rstrip("\r")
        if begin is None and line == BEGIN:
            begin = st
        elif begin is not None and line == END:
            return begin, st + len(_line_at(text, st))
    return None


def media_address(text: str) -> str | None:
    """The address inside the sdp-guard block, or None when there is no block."""
    span = _find_block(text)
    if span is None:
        return None
    for line in text[span[0] : span[1]].split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip() == KEY:
            return value.strip()
    return ""


def remove_media_address(text: str) -> str:
    """The text without the sdp-guard block (and without the newline the block brought)."""
    span = _find_block(text)
    if span is None:
        return text
    b, e = span
    if e < len(text) and text[e] == "\n":
        return text[:b] + text[e + 1 :]
    # The block is the tail without a final newline: it was appended after a "\n" it added.
    if b > 0 and text[b - 1] == "\n":
        b -= 1
    return text[:b] + text[e:]


def set_media_address(text: str, address: str) -> str:
    """Put ``media_address = address`` in the block at the end of the last ``[endpoint]``."""
    base = remove_media_address(text)
    starts = [s for s in _line_starts(base) if s <= len(base)]
    last_endpoint: int | None = None
    for idx, st in enumerate(starts):
        if _section_name(_line_at(base, st)) == "endpoint":
            last_endpoint = idx
    lines = [BEGIN]
    if last_endpoint is None:
        lines.append("[endpoint]")
        offset = len(base)
    else:
        offset = len(base)
        for st in starts[last_endpoint + 1 :]:
            if _section_name(_line_at(base, st)) is not None:
                offset = st
                break
    lines += [f"{KEY} = {address}", END]
    body = "\n".join(lines)
    if offset == len(base) and base and not base.endswith("\n"):
        return base + "\n" + body
    return base[:offset] + body + "\n" + base[offset:]


SECRET_KEYS = frozenset({"password", "secret"})
MASK = "********"


def mask_secrets(text: str) -> str:
    """The text with the value of every ``password =``/``secret =`` line replaced by ``********``
    (for diffs, logs and printed plans; the backup journal keeps the real text to restore it)."""
    out = []
    for line in text.split("\n"):
        key, sep, _ = line.partition("=")
        if sep and key.strip(_PHP_TRIM).lower() in SECRET_KEYS:
            line = f"{key}= {MASK}"
        out.append(line)
    return "\n".join(out)
