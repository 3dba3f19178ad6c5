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
        b: bytes = draw(data)
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
        perturbed(real, scalars()).map(as_json),
        damaged(st.just(real_bytes)),
        damaged(perturbed(real).map(as_json)),
        deep_json(),
        json_values().map(as_json),
        st.binary(max_size=200),
    )


def _chunked(body: bytes, sizes: list[int], bad: bytes | None) -> bytes:
    out = b""
    rest = body
    for n in sizes:
        if not rest:
            break
        piece, rest = rest[: max(1, n)], rest[max(1, n) :]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    if rest:
        out += f"{len(rest):x}\r\n".encode() + rest + b"\r\n"
    return out + (bad if bad is not None else b"0\r\n\r\n")


def http_answers(bodies: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Whole HTTP/1.x answers, well- and malformed: status line, headers, framing and body."""
    status_line = st.one_of(
        st.sampled_from([200, 200, 200, 404, 401, 403, 422, 500, 301, 302, 304]).map(
            lambda c: f"HTTP/1.1 {c} X\r\n".encode()
        ),
        st.sampled_from(
            [
                b"HTTP/1.1 abc OK\r\n",
                b"HTTP/1.1 99999 Big\r\n",
                b"garbage\r\n",
                b"\r\n",
                b"",
                b"HTTP/1.1 200 " + b"O" * 70000 + b"\r\n",
                b"HTTP/9.9 200 OK\r\n",
                b"HTTP/1.1 200 \x1b[2J\r\n",
            ]
        ),
    )
    header = st.one_of(
        st.sampled_from(
            [
                b"Content-Type: application/json\r\n",
                b"Content-Length: -1\r\n",
                b"Content-Length: 99999999999999\r\n",
                b"Content-Length: abc\r\n",
                b"Transfer-Encoding: gzip\r\n",
                b"Location: /x\r\n",
                b"Location: ftp://x/\r\n",
                b"X-Huge: " + b"h" * 70000 + b"\r\n",
                b"no colon here\r\n",
                b"\x00\xff: \x1b\r\n",
            ]
        ),
        st.binary(max_size=30).map(
            lambda b: b"X-" + b.replace(b"\r", b"").replace(b"\n", b"") + b": v\r\n"
        ),
    )

    @st.composite
    def build(draw: Any) -> bytes:
        if draw(st.integers(0, 2)) == 0:  # a well-formed answer: the body is what is hostile
            body: bytes = draw(bodies)
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        head: bytes = draw(status_line)
        headers = draw(st.lists(header, max_size=4))
        if draw(st.integers(0, 20)) == 0:
            headers += [b"X-Many: 1\r\n"] * 150
        body = draw(bodies)
        framing = draw(st.sampled_from(["length", "length", "chunked", "close", "short", "long"]))
        if framing == "length":
            headers.append(f"Content-Length: {len(body)}\r\n".encode())
        elif framing == "short":
            headers.append(f"Content-Length: {len(body) + draw(st.integers(1, 1000))}\r\n".encode())
        elif framing == "long":
            headers.append(f"Content-Length: {max(0, len(body) - 5)}\r\n".encode())
        elif framing == "chunked":
            headers.append(b"Transfer-Encoding: chunked\r\n")
            bad = draw(
                st.one_of(st.none(), st.sampled_from([b"zz\r\n", b"", b"5\r\nab", b"-1\r\n"]))
            )
            body = _chunked(body, draw(st.lists(st.integers(1, 64), max_size=4)), bad)
        return head + b"".join(headers) + b"\r\n" + body

    return build()
