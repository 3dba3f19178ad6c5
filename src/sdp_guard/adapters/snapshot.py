"""A tailnet snapshot: LocalAPI status plus the whois answers, in one JSON file.

``{"schema_version": 1, "captured_at": "...", "tool": "...", "status": {...}, "whois": {"IP": {...} | null}}``
The documents are stored exactly as tailscaled sent them, so ``check --snapshot`` runs the same
parsing as a live check. Used for support, bug reports and offline analysis.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from sdp_guard.errors import SnapshotError

SNAPSHOT_VERSION = 1


def make_snapshot(
    status: Any, whois: Mapping[str, Any], captured_at: str, tool: str
) -> dict[str, Any]:
    return {
        "schema_version": SNAPSHOT_VERSION,
        "captured_at": captured_at,
        "tool": tool,
        "status": status,
        "whois": dict(whois),
    }


def load_snapshot(path: str) -> tuple[Any, dict[str, Any]]:
    """(status document, whois documents by address)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise SnapshotError(
            f"snapshot {path} does not exist", "make one with `sdp-guard snapshot -o FILE`"
        ) from None
    except OSError as e:
        raise SnapshotError(f"cannot read snapshot {path}: {e.strerror}") from None
    except ValueError as e:
        raise SnapshotError(f"snapshot {path} is not valid JSON: {e}") from None
    return parse_snapshot(doc, path)


def parse_snapshot(doc: Any, path: str = "snapshot") -> tuple[Any, dict[str, Any]]:
    if not isinstance(doc, Mapping) or "status" not in doc:
        raise SnapshotError(
            f"{path} is not an sdp-guard snapshot (no 'status' key)",
            "make one with `sdp-guard snapshot -o FILE`",
        )
    version = doc.get("schema_version")
    if version != SNAPSHOT_VERSION:
        raise SnapshotError(
            f"{path}: snapshot schema_version {version!r} is not supported (expected 1)",
            "capture it again with this version of sdp-guard",
        )
    whois = doc.get("whois") or {}
    if not isinstance(whois, Mapping):
        raise SnapshotError(f"{path}: 'whois' must be an object of address → whois answer")
    return doc["status"], dict(whois)


def write_json_atomic(path: str, doc: Any, mode: int = 0o600) -> None:
    """Write to a temp file beside ``path`` and rename: a reader never sees half a file."""
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


WhoisFn = Callable[[str], Any]
