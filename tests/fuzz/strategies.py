"""Hostile input generators shared by the fuzz targets.

Each boundary mixes three kinds of case: documents of the right shape with hostile values (control
characters, ESC sequences, Shift_JIS bytes, huge numbers, wrong types), the same documents
damaged as a crash or a truncated write damages them (cut, spliced, bytes replaced), and the
known attacks (nesting far beyond any parser's depth, alias bombs, oversize lines).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

NASTY_TEXT = [
    "\x1b[2J\x1b[31mRED",  # clears and repaints a terminal
    "name\nsdp-guard: finding cleared",  # forges a journal line
    "\r\x00\x07\x7f\x9b",
    "\u202eevil\u202c",  # bidi override
    "渋谷局",
    "",
    " ",
    "x" * 5000,
    "9" * 5000,
]
SJIS = "局名: 渋谷".encode("shift_jis")  # a legacy-encoded comment or value


def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40))


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**30, max_value=10**60),
        st.floats(),
        nasty_text(),
    )


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(nasty_text(), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def damaged(data: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """``data`` cut short, spliced with hostile bytes, or with bytes replaced."""

    @st.composite
    def build(draw: Any) -> bytes:
        b = draw(data)
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from(["cut", "insert", "replace", "repeat"]))
            at = draw(st.integers(0, len(b))) if b else 0
            if op == "cut":
                b = b[:at]
            elif op == "insert":
                piece = draw(
                    st.one_of(
                        st.binary(max_size=8),
                        st.sampled_from(
                            [SJIS, b"\xff\xfe", b"\x1b[2J", b"\n", b"\x00", b"{", b"["]
                        ),
                    )
                )
                b = b[:at] + piece + b[at:]
            elif op == "replace" and b:
                b = b[:at] + bytes([draw(st.integers(0, 255))]) + b[at + 1 :]
            elif op == "repeat":
                b = b[:at] + b[at : at + 64] * draw(st.integers(2, 50)) + b[at + 64 :]
        return b

    return build()


def deep(open_: bytes, close: bytes, inner: bytes = b"") -> st.SearchStrategy[bytes]:
    return st.integers(900, 200_000).map(lambda n: open_ * n + inner + close * n)


def deep_json() -> st.SearchStrategy[bytes]:
    return st.one_of(
        deep(b"[", b"]"),
        deep(b'{"a":', b"}", b"1"),
        st.integers(900, 200_000).map(lambda n: b'{"Peer":' + b"[" * n),  # unterminated
    )


def as_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _set(doc[head], rest, value)}
    copy = list(doc)
    copy[head] = _set(copy[head], rest, value)
    return copy


def perturbed(real: Any, values: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """The real document with one to three of its subtrees replaced by hostile values (or
    dropped, for object members)."""
    values = values if values is not None else json_values()
    paths = _paths(real)

    @st.composite
    def build(draw: Any) -> Any:
        doc = real
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths))
            try:
                if path and draw(st.booleans()) and draw(st.booleans()):  # drop a member
                    parent = _get(doc, path[:-1])
                    if isinstance(parent, dict) and path[-1] in parent:
                        rest = {k: v for k, v in parent.items() if k != path[-1]}
                        doc = _set(doc, path[:-1], rest)
                        continue
                doc = _set(doc, path, draw(values))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier change removed this path
        return doc

    return build()


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def json_document(real: Any) -> st.SearchStrategy[bytes]:
    """Bytes of: the real document perturbed, damaged, nested too deep, or any JSON at all."""
    real_bytes = as_json(real)
    return st.one_of(
        perturbed(real).map(as_json),
        damaged(st.just(real_bytes)),
        damaged(perturbed(real).map(as_json)),
        deep_json(),
        json_values().map(as_json),
        st.binary(max_size=200),
    )
