"""Issue 14: files sdp-guard itself keeps can be damaged too (a full disk, a crash)."""

from __future__ import annotations

from pathlib import Path

from sdp_guard.adapters.mantela_http import DiskCache


def test_a_mantela_cache_file_nested_too_deep_is_ignored(tmp_path: Path) -> None:
    # Was: RecursionError out of DiskCache.load (only OSError/ValueError were expected).
    cache = DiskCache(str(tmp_path))
    url = "https://station.example/mantela.json"
    Path(cache._path(url)).write_bytes(b"[" * 200_000)
    assert cache.load(url) is None
