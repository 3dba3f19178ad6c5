"""The ``aboutMe.tailnet`` extension of Mantela (tkytel/mantela 0.1.x): its value and its rules.

The extension carries the advertised address of a station's Tailscale node (TC25 step 0):

    "aboutMe": {..., "tailnet": {"ipv4": "100.101.1.1", "node": "station-a",
                                 "ipv6": "fd7a:115c:a1e0::1a01", "updated": "2026-11-28"}}

Its JSON Schema is ``sdp_guard/schemas/mantela-tailnet.schema.json``; :func:`validate_tailnet`
is the same rule set in plain code (tests check that both agree). Nothing here does I/O.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sdp_guard.core.addresses import TAILNET_V4, normalize

TAILNET_KEY = "tailnet"
TAILSCALE_V6 = ipaddress.IPv6Network("fd7a:115c:a1e0::/48")
EXTENSION_FIELDS = ("ipv4", "node", "ipv6", "updated")

_NODE_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DATE_RE = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
_V4_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


@dataclass(frozen=True)
class TailnetExtension:
    """The value of ``aboutMe.tailnet``."""

    ipv4: str
    node: str = ""
    ipv6: str = ""
    updated: str = ""  # YYYY-MM-DD

    def to_json(self) -> dict[str, str]:
        """Fields in the documented order, empty optional fields left out."""
        out = {"ipv4": self.ipv4}
        for k in ("node", "ipv6", "updated"):
            v = getattr(self, k)
            if v:
                out[k] = v
        return out


def _check_ipv4(v: Any) -> str | None:
    if not isinstance(v, str):
        return "ipv4: expected a string"
    if not _V4_RE.fullmatch(v):
        return f"ipv4: {v!r} is not a dotted-quad IPv4 address"
    try:
        ip = ipaddress.IPv4Address(v)
    except ValueError:
        return f"ipv4: {v!r} is not a valid IPv4 address"
    if ip not in TAILNET_V4:
        return f"ipv4: {v} is outside Tailscale's range 100.64.0.0/10"
    return None


def _check_ipv6(v: Any) -> str | None:
    if not isinstance(v, str):
        return "ipv6: expected a string"
    try:
        ip = ipaddress.IPv6Address(v)
    except ValueError:
        return f"ipv6: {v!r} is not a valid IPv6 address"
    if ip.scope_id or ip not in TAILSCALE_V6:
        return f"ipv6: {v} is outside Tailscale's range fd7a:115c:a1e0::/48"
    return None


def _check_node(v: Any) -> str | None:
    if not isinstance(v, str):
        return "node: expected a string"
    if not _NODE_RE.fullmatch(v):
        return f"node: {v!r} is not a machine name (letters, digits and '-', at most 63)"
    return None


def _check_updated(v: Any) -> str | None:
    if not isinstance(v, str):
        return "updated: expected a string"
    if not _DATE_RE.fullmatch(v):
        return f"updated: {v!r} is not a date in the form YYYY-MM-DD"
    try:
        datetime.date.fromisoformat(v)
    except ValueError:
        return f"updated: {v!r} is not a calendar date"
    return None


_CHECKS = {"ipv4": _check_ipv4, "node": _check_node, "ipv6": _check_ipv6, "updated": _check_updated}


def validate_tailnet(obj: Any, *, strict: bool = True) -> list[str]:
    """Problems with an ``aboutMe.tailnet`` value; [] when it is valid.

    ``strict`` (the schema's rule, used when publishing) also rejects unknown keys, so nothing
    else (an invite link, a key) can ride along in a public file.
    """
    if not isinstance(obj, Mapping):
        return [f"expected an object, got {type(obj).__name__}"]
    problems: list[str] = []
    if "ipv4" not in obj:
        problems.append("ipv4: missing (the node's IPv4 in its owner's tailnet)")
    for key, check in _CHECKS.items():
        if key in obj:
            p = check(obj[key])
            if p:
                problems.append(p)
    if strict:
        extra = sorted(str(k) for k in obj if k not in _CHECKS)
        if extra:
            problems.append(
                f"unknown key(s) {', '.join(extra)} (allowed: {', '.join(EXTENSION_FIELDS)})"
            )
    return problems


def extension_from_json(obj: Any) -> tuple[TailnetExtension | None, list[str]]:
    """Tolerant reading of a published extension: (value or None, notes).

    Unknown keys are ignored (a note); an invalid optional field is dropped (a note); an invalid
    or missing ``ipv4`` makes the whole extension unusable.
    """
    if not isinstance(obj, Mapping):
        return None, [f"aboutMe.tailnet is not an object ({type(obj).__name__})"]
    notes: list[str] = []
    extra = sorted(str(k) for k in obj if k not in _CHECKS)
    if extra:
        notes.append(f"aboutMe.tailnet: ignored unknown key(s) {', '.join(extra)}")
    bad = _check_ipv4(obj.get("ipv4")) if "ipv4" in obj else "ipv4: missing"
    if bad:
        return None, [*notes, f"aboutMe.tailnet unusable: {bad}"]
    vals: dict[str, str] = {"ipv4": normalize(obj["ipv4"])}
    for key in ("node", "ipv6", "updated"):
        if key not in obj:
            continue
        p = _CHECKS[key](obj[key])
        if p:
            notes.append(f"aboutMe.tailnet: ignored {p}")
        else:
            vals[key] = normalize(obj[key]) if key == "ipv6" else str(obj[key])
    return TailnetExtension(**vals), notes
