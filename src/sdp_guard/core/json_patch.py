"""Set ``aboutMe.tailnet`` in a mantela.json and change nothing else, byte for byte.

Used only by ``advertise``: the operator's file keeps its indentation, separators, line endings,
key order and BOM. Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sdp_guard.core.mantela_ext import TAILNET_KEY


@dataclass(frozen=True)
class _Member:
    key: str
    key_start: int  # index of the opening quote of the key
    value_start: int
    value_end: int
    lead_start: int  # start of the whitespace before the key


@dataclass(frozen=True)
class _Obj:
    start: int  # index of "{"
    end: int  # index just past "}"
    members: tuple[_Member, ...] = field(default=())


_WS = " \t\n\r"


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _scan_object(text: str, i: int) -> _Obj:
    """Member spans of the JSON object starting at ``text[i] == '{'`` (the text is valid JSON)."""
    dec = json.JSONDecoder()
    start = i
    i += 1
    members: list[_Member] = []
    while True:
        lead = i
        i = _skip_ws(text, i)
        if text[i] == "}":
            return _Obj(start, i + 1, tuple(members))
        if text[i] == ",":
            i += 1
            lead = i
            i = _skip_ws(text, i)
        key_start = i
        key, i = _scanstring(text, i + 1)
        i = _skip_ws(text, i)
        i = _skip_ws(text, i + 1)  # past ":"
        _, end = dec.raw_decode(text, i)
        members.append(_Member(key, key_start, i, end, lead))
        i = end


def _scanstring(text: str, i: int) -> tuple[str, int]:
    """Decode the JSON string whose body starts at ``text[i]``: (value, index past the quote)."""
    import json.decoder

    scan: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
    return scan(text, i)


class PatchError(ValueError):
    """The file cannot be patched (message says why)."""


def patch_text(text: str, ext: Mapping[str, Any]) -> str:
    """Set ``aboutMe.tailnet`` to ``ext`` and change nothing else, byte for byte.

    An existing ``tailnet`` value is replaced where it stands; a new one goes after the last
    member of ``aboutMe``, with the same indentation, separators and line endings as that
    member. The extension holds only ASCII, so ``ensure_ascii`` style is kept trivially.
    """
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise PatchError(f"not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("aboutMe"), dict):
        raise PatchError("no aboutMe object (is this a mantela.json?)")
    i = _skip_ws(body, 0)
    top = _scan_object(body, i)
    about_m = [m for m in top.members if m.key == "aboutMe"][-1]  # JSON: the last one wins
    about = _scan_object(body, about_m.value_start)
    unit = _indent_unit(body, top)
    key_sep = _key_separator(body, top)
    existing = [m for m in about.members if m.key == TAILNET_KEY]
    if existing:
        m = existing[-1]
        lead = body[m.lead_start : m.key_start]
        value = _render(ext, lead, unit, key_sep, _item_separator(body, about))
        return bom + body[: m.value_start] + value + body[m.value_end :]
    if about.members:
        last = about.members[-1]
        lead = body[last.lead_start : last.key_start]
        value = _render(ext, lead, unit, key_sep, _item_separator(body, about))
        piece = "," + lead + json.dumps(TAILNET_KEY) + key_sep + value
        return bom + body[: last.value_end] + piece + body[last.value_end :]
    # An empty aboutMe (not valid Mantela, but keep going): indent one unit deeper than its key.
    outer = body[about_m.lead_start : about_m.key_start]
    lead, closing = (outer + unit, outer) if "\n" in outer else ("", "")
    value = _render(ext, lead, unit, key_sep, _item_separator(body, top))
    inner = lead + json.dumps(TAILNET_KEY) + key_sep + value + closing
    return bom + body[: about.start + 1] + inner + body[about.end - 1 :]


def _indent_unit(text: str, top: _Obj) -> str:
    if not top.members:
        return "  "
    lead = text[top.members[0].lead_start : top.members[0].key_start]
    if "\n" not in lead:
        return ""
    return lead.rsplit("\n", 1)[1]


def _key_separator(text: str, obj: _Obj) -> str:
    if not obj.members:
        return ": "
    m = obj.members[0]
    _, after_key = _scanstring(text, m.key_start + 1)
    return text[after_key : m.value_start]


def _item_separator(text: str, obj: _Obj) -> str:
    """A comma plus whatever follows it before the next key on the same line (compact files)."""
    if len(obj.members) < 2:
        return ", "
    lead = text[obj.members[1].lead_start : obj.members[1].key_start]
    return "," + ("" if "\n" in lead else lead)


def _render(ext: Mapping[str, Any], lead: str, unit: str, key_sep: str, item_sep: str) -> str:
    """The extension object as the surrounding file would have written it."""
    if "\n" not in lead:
        return json.dumps(dict(ext), separators=(item_sep, key_sep))
    nl = "\r\n" if "\r\n" in lead else "\n"
    member_indent = lead.rsplit("\n", 1)[1]
    out = json.dumps(dict(ext), indent=unit, separators=(",", key_sep))
    return out.replace("\n", nl + member_indent)
