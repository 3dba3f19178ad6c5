"""The YAML registry of advertised addresses (``stations.yaml``), validated against its JSON Schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdp_guard.config import Config

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sdp_guard.core.addresses import normalize
from sdp_guard.core.model import Station
from sdp_guard.core.text import sanitize_text
from sdp_guard.errors import RegistryError
from sdp_guard.files.yamlsafe import parse_yaml

_PATH_RE = re.compile(r"\[(\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*)")

FIELD_HINTS = {
    "ipv4": "an IPv4 address in 100.64.0.0/10 (the address the owner advertises)",
    "ipv6": "an IPv6 address",
    "identifier": "printable ASCII (the Mantela aboutMe.identifier)",
    "name": "a non-empty string",
    "node": "the Tailscale machine name",
    "providers": "a list of MikoPBX provider ids such as SIP-TRUNK-4F2A9C1E",
}


def load_registry(path: str) -> tuple[Station, ...]:
    from sdp_guard.adapters.bounded import TooLarge, read_file
    from sdp_guard.files.yamlsafe import decode_yaml

    try:
        data = read_file(path)
    except FileNotFoundError:
        raise RegistryError(
            f"registry {path} does not exist",
            "create it (see README: Registry) or pass --registry PATH",
        ) from None
    except OSError as e:
        raise RegistryError(f"cannot read registry {path}: {e.strerror or e}") from e
    except TooLarge as e:
        raise RegistryError(f"registry {e}") from None
    return parse_registry(decode_yaml(data, path, RegistryError), path)


def parse_registry(text: str, path: str = "stations.yaml") -> tuple[Station, ...]:
    doc = parse_yaml(text, path, RegistryError)
    if doc is None:
        # An empty file is far more often a write cut short (or an editor's truncate-then-
        # write) than a registry emptied on purpose: reading it as "no stations" would clear
        # every finding.
        raise RegistryError(
            f"{path} is empty",
            "a registry without stations says so: `stations: []`",
        )
    _validate(doc, text, path)
    stations = tuple(_station(d) for d in doc["stations"])
    _check_unique(stations, text, path)
    return stations


def _validate(doc: Any, text: str, path: str) -> None:
    from sdp_guard.schemas._errors import JsonSchemaValueException
    from sdp_guard.schemas._stations_validator import validate

    try:
        validate(doc)
    except JsonSchemaValueException as e:
        steps = _steps(e.name or "data")
        raise RegistryError(_describe(e, steps, doc, text, path), _hint(e, steps)) from None


def _steps(name: str) -> list[str | int]:
    out: list[str | int] = []
    for idx, key in _PATH_RE.findall(name.removeprefix("data")):
        out.append(int(idx) if idx else key)
    return out


def _describe(e: Any, steps: list[str | int], doc: Any, text: str, path: str) -> str:
    line = _line_of(text, steps)
    where = f"{path}:{line}" if line else path
    if len(steps) >= 2 and steps[0] == "stations" and isinstance(steps[1], int):
        i = steps[1]
        entry = doc["stations"][i] if isinstance(doc.get("stations"), list) else None
        label = f"station #{i + 1}"
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            label += f" ({entry['name']})"
        field = ".".join(str(s) for s in steps[2:])
        what = _rule_text(e, field)
        return f"{where}: {label}: {what}"
    return f"{where}: {_rule_text(e, '.'.join(str(s) for s in steps))}"


def _rule_text(e: Any, field: str) -> str:
    rule = e.rule
    if rule == "required":
        return str(e.message).split(" must ", 1)[-1].replace("contain", "must contain", 1)
    if rule == "additionalProperties":
        extra = (
            sorted(set(e.value) - set(e.definition.get("properties", {})))
            if isinstance(e.value, Mapping)
            else []
        )
        known = ", ".join(e.definition.get("properties", {}))
        return f"unknown field(s) {', '.join(extra)} (known: {known})"
    leaf = field.split(".")[-1] if field else "document"
    expected = FIELD_HINTS.get(leaf, e.message.split(" must ", 1)[-1])
    if not field:
        return f"expected a mapping with a 'stations' list ({e.message.removeprefix('data ')})"
    return f"field {field}: expected {expected}, got {_short(e.value)}"


def _short(value: Any) -> str:
    """A value for an error message: bounded however large (or alias-expanded) it is."""
    import reprlib

    return sanitize_text(reprlib.repr(value), 120)


def _hint(e: Any, steps: list[str | int]) -> str:
    if steps and steps[-1] == "ipv4":
        return "use the IPv4 the station's owner sees in their own tailnet (100.64.0.0/10)"
    return "see the registry format in the README (Registry)"


def _line_of(text: str, steps: Sequence[str | int]) -> int | None:
    """Line number of the YAML node at ``steps`` (only computed on error)."""
    import yaml

    try:
        node: Any = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = None
    for step in steps:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            node = next((v for k, v in node.value if k.value == step), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _station(d: Mapping[str, Any]) -> Station:
    return Station(
        name=str(d["name"]).strip(),
        ipv4=normalize(str(d["ipv4"])),
        node=str(d.get("node") or "").strip(),
        identifier=str(d.get("identifier") or "").strip(),
        ipv6=normalize(str(d.get("ipv6") or "")),
        providers=tuple(str(p).strip() for p in d.get("providers") or ()),
    )


def _check_unique(stations: Sequence[Station], text: str, path: str) -> None:
    keys: list[tuple[str, str]] = [("name", "name"), ("ipv4", "ipv4"), ("identifier", "identifier")]
    keys.append(("node", "node"))
    for attr, label in keys:
        seen: dict[str, int] = {}
        for i, s in enumerate(stations):
            v = getattr(s, attr)
            k = v.lower() if isinstance(v, str) else v
            if not k:
                continue
            if k in seen:
                j = seen[k]
                line = _line_of(text, ["stations", i])
                where = f"{path}:{line}" if line else path
                raise RegistryError(
                    f"{where}: station #{i + 1} ({s.name}) has the same {label} {v!r} as "
                    f"station #{j + 1} ({stations[j].name})",
                    f"each station needs its own {label}; two stations cannot advertise one address"
                    if attr == "ipv4"
                    else f"each station needs its own {label}",
                )
            seen[k] = i
    owner: dict[str, str] = {}
    for s in stations:
        for pid in s.providers:
            if pid in owner and owner[pid] != s.name:
                raise RegistryError(
                    f"{path}: provider {pid} is listed under both {owner[pid]} and {s.name}",
                    "a MikoPBX provider trunks to one station; keep it under one entry",
                )
            owner[pid] = s.name


def load_stations(cfg: Config) -> tuple[tuple[Station, ...], str]:
    """stations.yaml plus, when ``registry.mantela_url`` is set, peers' Mantela files (YAML wins).

    Returns (stations, a one-line description of the sources for reports).
    """
    if not cfg.settings.registry_mantela_url.strip():
        # Mantela off: same result as load_registry_sources, without importing it (~15 ms of
        # `check` start-up; bench/check_startup.py).
        path = cfg.settings.registry_file
        stations = load_registry(path)
        return stations, f"{path} ({len(stations)} stations)"
    from sdp_guard.adapters.mantela_http import load_registry_sources

    src = load_registry_sources(cfg, load_registry)
    return src.stations, src.detail
