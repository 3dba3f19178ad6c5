"""Run the real command line in process and check what an operator would see."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Collection, Sequence
from typing import Any

from sdp_guard.cli import main

CHECK_CODES = frozenset({0, 1, 2, 3})


def run_cli(argv: Sequence[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def assert_clean(
    rc: int, out: str, err: str, codes: Collection[int], *, json_out: bool = False
) -> Any:
    """Exit code in the documented set, no traceback, no crash-path message, no raw control
    characters on the terminal, and with --json exactly one JSON document on stdout."""
    assert rc in codes, (rc, err[-500:])
    assert "Traceback" not in err, err[-2000:]
    assert "stopped on an unexpected" not in err, err[-2000:]
    for stream in (err,) if json_out else (out, err):
        bad = [c for c in stream if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0]
        assert not bad, (bad[:5], stream[-500:])
    if json_out:
        doc = json.loads(out)
        assert isinstance(doc, dict) and doc["exit_code"] == rc, (rc, out[:500])
        return doc
    return None
