"""Mantela (tkytel/mantela 0.1.x) and its ``aboutMe.tailnet`` extension: decode, merge, patch.

The extension carries the advertised address of a station's Tailscale node (TC25 step 0):

    "aboutMe": {..., "tailnet": {"ipv4": "100.101.1.1", "node": "station-a",
                                 "ipv6": "fd7a:115c:a1e0::1a01", "updated": "2026-11-28"}}

Its JSON Schema is ``sdp_guard/schemas/mantela-tailnet.schema.json``; :func:`validate_tailnet`
is the same rule set in plain code (tests check that both agree). Nothing here does I/O.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdp_guard.core.addresses import TAILNET_V4, normalize
from sdp_guard.core.model import Station

TAILNET_KEY = "tailnet"
TAILSCALE_V6 = ipaddress.IPv6Network("fd7a:115c:a1e0::/48")
EXTENSION_FIELDS = ("ipv4", "node", "ipv6", "updated")

_NODE_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DATE_RE = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
_V4_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_IDENT_RE = re.compile(r"[\x21-\x7e]+")


# --------------------------------------------------------------------------- the extension


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


# --------------------------------------------------------------------------- documents


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


# --------------------------------------------------------------------------- the patcher


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


def set_extension(doc: Mapping[str, Any], ext: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed-document view of :func:`patch_text` (for tests and dry runs)."""
    out = dict(doc)
    about = dict(out["aboutMe"])
    about[TAILNET_KEY] = dict(ext)
    out["aboutMe"] = about
    return out
