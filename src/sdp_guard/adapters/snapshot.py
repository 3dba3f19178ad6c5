"""A tailnet snapshot: LocalAPI status plus the whois answers, in one JSON file.

``{"schema_version": 1, "captured_at": "...", "tool": "...", "status": {...}, "whois": {"IP": {...} | null}}``
The documents are stored exactly as tailscaled sent them, so ``check --snapshot`` runs the same
parsing as a live check. Used for support, bug reports and offline analysis.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    from sdp_guard.adapters.bounded import TooLarge, loads_json, read_file

    try:
        doc = loads_json(read_file(path), f"snapshot {path}")
    except FileNotFoundError:
        raise SnapshotError(
            f"snapshot {path} does not exist", "make one with `sdp-guard snapshot -o FILE`"
        ) from None
    except OSError as e:
        raise SnapshotError(f"cannot read snapshot {path}: {e.strerror or e}") from e
    except TooLarge as e:
        raise SnapshotError(f"snapshot {e}") from None
    except ValueError as e:
        raise SnapshotError(f"{e}", "make one with `sdp-guard snapshot -o FILE`") from e
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
    """Write through the one atomic writer: a reader never sees half a file."""
    from sdp_guard.adapters.atomic import write_atomic

    data = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    write_atomic(path, data, mode)
