"""Mantela documents (tkytel/mantela 0.1.x): tolerant decoding, peer links, stations, merge.

The ``aboutMe.tailnet`` extension itself is :mod:`sdp_guard.core.mantela_ext`; the byte-preserving
writer used by ``advertise`` is :mod:`sdp_guard.core.json_patch`. Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sdp_guard.core.addresses import normalize
from sdp_guard.core.mantela_ext import TAILNET_KEY, TailnetExtension, extension_from_json
from sdp_guard.core.model import Station

_IDENT_RE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class ProviderLink:
    """One ``providers[]`` entry: a link to a peer's mantela.json."""

    identifier: str
    name: str
    prefix: str
    mantela: str
    unavailable: bool = False


@dataclass(frozen=True)
class MantelaDoc:
    """What sdp-guard reads from one mantela.json."""

    identifier: str
    name: str
    version: str = ""
    tailnet: TailnetExtension | None = None
    has_tailnet_key: bool = False
    providers: tuple[ProviderLink, ...] = ()
    notes: tuple[str, ...] = ()


class MantelaFormatError(ValueError):
    """The text is not a usable Mantela document (message says why)."""


def clean_name(text: Any) -> str:
    """Registry names contain newlines and odd spacing in the wild: one line, single spaces."""
    return " ".join(str(text or "").split())


def decode_document(text: str) -> MantelaDoc:
    """Tolerant decoding of a mantela.json (0.1.x, older and mixed versions).

    Only ``aboutMe`` must be an object; everything else degrades to notes.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise MantelaFormatError(
            f"not valid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    except (ValueError, RecursionError) as e:
        raise MantelaFormatError(f"not valid JSON: {e}") from None
    if not isinstance(doc, Mapping):
        raise MantelaFormatError(f"expected a JSON object at the top, got {type(doc).__name__}")
    about = doc.get("aboutMe")
    if not isinstance(about, Mapping):
        raise MantelaFormatError("no aboutMe object (is this a mantela.json?)")
    notes: list[str] = []
    version = doc.get("version")
    version_s = version if isinstance(version, str) else ""
    if not version_s:
        notes.append("no version field")
    elif not version_s.startswith("0.1"):
        notes.append(f"version {version_s!r} is not 0.1.x; read as 0.1.x")
    ident = about.get("identifier")
    ident_s = ident.strip() if isinstance(ident, str) else ""
    if not ident_s:
        notes.append("aboutMe.identifier is missing")
    elif not _IDENT_RE.fullmatch(ident_s):
        notes.append(f"aboutMe.identifier {ident_s!r} is not printable ASCII")
    name = clean_name(about.get("name"))
    if not name:
        notes.append("aboutMe.name is missing")
    ext: TailnetExtension | None = None
    has_key = TAILNET_KEY in about
    if has_key:
        ext, ext_notes = extension_from_json(about[TAILNET_KEY])
        notes.extend(ext_notes)
    providers: list[ProviderLink] = []
    raw = doc.get("providers")
    if raw is None:
        notes.append("no providers list")
    elif not isinstance(raw, list):
        notes.append("providers is not a list; ignored")
    else:
        for i, p in enumerate(raw):
            if not isinstance(p, Mapping):
                notes.append(f"providers[{i}] is not an object; ignored")
                continue
            url = p.get("mantela")
            if not isinstance(url, str) or not url.strip():
                notes.append(f"providers[{i}] ({clean_name(p.get('name'))}) has no mantela URL")
                continue
            pid = p.get("identifier")
            prefix = p.get("prefix")
            providers.append(
                ProviderLink(
                    identifier=pid.strip() if isinstance(pid, str) else "",
                    name=clean_name(p.get("name")),
                    prefix=str(prefix) if isinstance(prefix, str | int) else "",
                    mantela=url.strip(),
                    unavailable=p.get("unavailable") is True,
                )
            )
    return MantelaDoc(
        identifier=ident_s,
        name=name,
        version=version_s,
        tailnet=ext,
        has_tailnet_key=has_key,
        providers=tuple(providers),
        notes=tuple(notes),
    )


# What our own published mantela.json says about our address (advertise --check, the daemon).
ADVERTISED_OK = "ok"  # aboutMe.tailnet.ipv4 is our node's address
ADVERTISED_MISSING = "missing"  # no aboutMe.tailnet at all (e.g. saved with the Mantela editor)
ADVERTISED_UNUSABLE = "unusable"  # the key is there but its ipv4 is missing or invalid
ADVERTISED_DIFFERS = "differs"  # a valid address, not ours


def advertised_state(own: MantelaDoc, self_ipv4: str) -> str:
    """Whether our own published Mantela still carries our tailnet address.

    tkytel/mantela-editor parses with zod objects that strip keys they do not declare, so saving a
    file there silently drops ``aboutMe.tailnet`` (docs/mantela-tailnet-extension.md).
    """
    if own.tailnet is not None:
        same = normalize(own.tailnet.ipv4) == normalize(self_ipv4)
        return ADVERTISED_OK if same else ADVERTISED_DIFFERS
    return ADVERTISED_UNUSABLE if own.has_tailnet_key else ADVERTISED_MISSING


def peer_links(own: MantelaDoc) -> tuple[list[ProviderLink], list[str]]:
    """The peers to read, without our own self-entry (hop prefix) and duplicate entries."""
    out: list[ProviderLink] = []
    notes: list[str] = []
    seen_url: set[str] = set()
    seen_id: set[str] = set()
    for p in own.providers:
        if own.identifier and p.identifier == own.identifier:
            continue
        if p.mantela in seen_url or (p.identifier and p.identifier in seen_id):
            notes.append(f"{p.name or p.mantela}: listed more than once; read once")
            continue
        seen_url.add(p.mantela)
        if p.identifier:
            seen_id.add(p.identifier)
        out.append(p)
    return out, notes


# --------------------------------------------------------------------------- stations


@dataclass(frozen=True)
class PeerRead:
    """The outcome of reading one peer: its document, or why not."""

    link: ProviderLink
    doc: MantelaDoc | None
    error: str = ""


def stations_from_peers(reads: Sequence[PeerRead]) -> tuple[tuple[Station, ...], list[str]]:
    """Station records from peers that publish the extension, with unique, stable names.

    A peer without the extension (or with an unusable one) is a note, not an error.
    """
    notes: list[str] = []
    found: list[tuple[str, str, TailnetExtension]] = []  # (identifier, name, ext)
    for r in reads:
        label = r.link.name or r.link.mantela
        if r.doc is None:
            notes.append(f"{label}: {r.error or 'not read'}")
            continue
        d = r.doc
        label = d.name or label
        ident = d.identifier or r.link.identifier
        if d.identifier and r.link.identifier and d.identifier != r.link.identifier:
            notes.append(
                f"{label}: its aboutMe.identifier {d.identifier} differs from the link's "
                f"{r.link.identifier}; the file's own value is used"
            )
        for n in d.notes:
            notes.append(f"{label}: {n}")
        if d.tailnet is None:
            if not d.has_tailnet_key:
                notes.append(f"{label}: publishes no aboutMe.tailnet (advertised address unknown)")
            continue
        found.append((ident, d.name or r.link.name or ident, d.tailnet))
    names = unique_names([(ident, name) for ident, name, _ in found])
    stations = tuple(
        Station(
            name=nm,
            ipv4=ext.ipv4,
            node=ext.node,
            identifier=ident,
            ipv6=ext.ipv6,
            source="mantela",
        )
        for (ident, _, ext), nm in zip(found, names, strict=True)
    )
    return stations, notes


def unique_names(items: Sequence[tuple[str, str]], taken: Iterable[str] = ()) -> list[str]:
    """Disambiguate equal names by the identifier, so a name does not depend on fetch order."""
    taken_l = {t.strip().lower() for t in taken}
    count: dict[str, int] = {}
    for _, name in items:
        count[name.lower()] = count.get(name.lower(), 0) + 1
    out: list[str] = []
    used: set[str] = set(taken_l)
    for ident, name in items:
        nm = name
        if count[name.lower()] > 1 or name.lower() in taken_l:
            nm = f"{name} [{ident[:12] or 'no-id'}]"
        base, i = nm, 2
        while nm.lower() in used:
            nm = f"{base} #{i}"
            i += 1
        used.add(nm.lower())
        out.append(nm)
    return out


def merge_stations(
    yaml_stations: Sequence[Station], mantela_stations: Sequence[Station]
) -> tuple[tuple[Station, ...], list[str]]:
    """YAML entries override Mantela ones; joined by identifier, then by name.

    A YAML entry replaces the whole Mantela record (only a missing ``identifier`` is taken from
    Mantela). Mantela stations that no YAML entry claims are added after the YAML ones, renamed
    (``name [identifier]``) if their name is already used.
    """
    notes: list[str] = []
    by_id = {s.identifier: i for i, s in enumerate(yaml_stations) if s.identifier}
    by_name = {s.name.strip().lower(): i for i, s in enumerate(yaml_stations)}
    merged = list(yaml_stations)
    claimed: set[int] = set()
    rest: list[Station] = []
    for m in mantela_stations:
        i = by_id.get(m.identifier) if m.identifier else None
        if i is None:
            j = by_name.get(m.name.strip().lower())
            # Same name but two different identifiers: two stations, not an override.
            if j is not None and not (yaml_stations[j].identifier and m.identifier):
                i = j
        if i is None or i in claimed:
            rest.append(m)
            continue
        claimed.add(i)
        y = yaml_stations[i]
        if normalize(y.ipv4) != normalize(m.ipv4):
            notes.append(
                f"{y.name}: stations.yaml says {y.ipv4}, its Mantela file says {m.ipv4}; "
                "stations.yaml wins"
            )
        if not y.identifier and m.identifier:
            merged[i] = y._replace(identifier=m.identifier)
    names = unique_names([(m.identifier, m.name) for m in rest], taken=[s.name for s in merged])
    merged.extend(m._replace(name=n) for m, n in zip(rest, names, strict=True))
    return tuple(merged), notes
