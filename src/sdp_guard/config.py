"""Settings in one declarative table: name, default, help, reader.

Precedence: command-line option > configuration file > default (``sdp-guard config show`` says which).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sdp_guard.errors import ConfigError

DEFAULT_CONFIG_PATH = "/etc/sdp-guard/config.yaml"
DB_PATHS = ("/cf/conf/mikopbx.db", "/var/spool/mikopbx/cf/conf/mikopbx.db")
# Outside Prometheus' exporter range 9100-9999 (prometheus/prometheus wiki "Default port allocations").
DEFAULT_LISTEN = "127.0.0.1:8796"


def _str(v: Any) -> str:
    if not isinstance(v, str | int | float):
        raise ValueError("expected a string")
    return str(v)


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise ValueError("expected a whole number")
    n = int(v)
    if n <= 0:
        raise ValueError("expected a positive number")
    return n


def _seconds(v: Any) -> int:
    n = _int(v)
    if n > 86400 * 7:
        raise ValueError("expected at most a week (604800 seconds)")
    return n


def _http_url(v: Any) -> str:
    """An http(s) URL with a host (and a valid port, if any)."""
    import urllib.parse

    s = _str(v).strip()
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise ValueError("expected a URL without spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(s if "://" in s else f"http://{s}")
        port = parts.port
    except ValueError as e:
        raise ValueError(f"expected an http(s) URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValueError("expected an http(s) URL such as http://127.0.0.1")
    return s


def _choice(*allowed: str) -> Callable[[Any], str]:
    def read(v: Any) -> str:
        # YAML reads a bare `off` as False.
        s = "off" if v is False else "on" if v is True else str(v)
        if s not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return s

    return read


class Option(NamedTuple):
    key: str
    default: str | int
    help: str
    reader: Callable[[Any], Any] = _str


def _off_or_minutes(v: Any) -> str | int:
    """``off`` (YAML may read it as False) or a positive number of minutes."""
    if v is False or str(v).strip().lower() == "off":
        return "off"
    try:
        return _int(v)
    except ValueError:
        raise ValueError("expected off or a positive number of minutes") from None


OPTIONS: tuple[Option, ...] = (
    Option(
        "mikopbx.db",
        "",
        "MikoPBX configuration DB (empty: /cf/conf/mikopbx.db on the appliance, "
        "/var/spool/mikopbx/cf/conf/mikopbx.db on a Docker host, whichever exists)",
    ),
    Option(
        "mikopbx.api_url",
        "http://127.0.0.1",
        "MikoPBX web server, used by sync for REST API v3",
        _http_url,
    ),
    Option(
        "mikopbx.api_token_file",
        "",
        "file (mode 0600) holding a MikoPBX API key; not needed from 127.0.0.1",
    ),
    Option(
        "tailscale.socket", "/var/run/tailscale/tailscaled.sock", "tailscaled's LocalAPI socket"
    ),
    Option("tailscale.interface", "tailscale0", "the tailnet interface the daemon watches"),
    Option("registry.file", "/etc/sdp-guard/stations.yaml", "registry of advertised addresses"),
    Option(
        "registry.mantela_url",
        "",
        "our own mantela.json; peers' files are read one hop from it (empty: off)",
    ),
    Option("state_dir", "/var/lib/sdp-guard", "backups, lock file and caches"),
    Option(
        "lang",
        "auto",
        "operator language: en, ja or auto (from the locale)",
        _choice("auto", "en", "ja"),
    ),
    Option("daemon.listen", DEFAULT_LISTEN, "metrics and /findings listener (ADDR:PORT)"),
    Option("daemon.recheck_seconds", 60, "safety re-check interval of the daemon", _seconds),
    Option(
        "daemon.auto_sync",
        "off",
        "off, or hosts: rewrite stale provider hosts after a renumber",
        _choice("off", "hosts"),
    ),
    Option("probe.echo_number", "186", "number `sdp-guard probe` calls (the stations' echo test)"),
    Option(
        "probe.schedule_minutes",
        "off",
        "off, or every how many minutes the daemon probes the stations that have findings",
        _off_or_minutes,
    ),
)

_BY_KEY = {o.key: o for o in OPTIONS}


class Settings(NamedTuple):
    """Every setting, typed: one field per row of :data:`OPTIONS`, in the same order, named by its
    key with ``_`` for ``.``, typed as its reader returns (tests/core/test_settings.py checks both).

    A NamedTuple, not a dataclass: ``check`` builds one at start-up and must not import
    ``dataclasses`` (bench figure 2).
    """

    mikopbx_db: str
    mikopbx_api_url: str
    mikopbx_api_token_file: str
    tailscale_socket: str
    tailscale_interface: str
    registry_file: str
    registry_mantela_url: str
    state_dir: str
    lang: str
    daemon_listen: str
    daemon_recheck_seconds: int
    daemon_auto_sync: str
    probe_echo_number: str
    probe_schedule_minutes: str | int


def field_name(key: str) -> str:
    """``daemon.recheck_seconds`` -> ``daemon_recheck_seconds`` (the :class:`Settings` field)."""
    return key.replace(".", "_")


class Config(NamedTuple):
    values: Mapping[str, Any]
    sources: Mapping[str, str]  # key -> "default" | "<file>" | "command line"
    path: str | None
    settings: Settings  # the same values, typed; what callers read

    @classmethod
    def of(cls, values: Mapping[str, Any], sources: Mapping[str, str], path: str | None) -> Config:
        """A Config whose :class:`Settings` are built from ``values`` along the table."""
        return cls(values, sources, path, Settings._make(values[o.key] for o in OPTIONS))

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        vals = dict(self.values)
        srcs = dict(self.sources)
        for k, v in overrides.items():
            if v is None or v == "":
                continue
            try:
                vals[k] = _BY_KEY[k].reader(v)
            except ValueError as e:
                from sdp_guard.core.text import sanitize_text
                from sdp_guard.errors import UsageError

                raise UsageError(
                    f"option for {k}: {e} (got {sanitize_text(repr(v), 80)})",
                    "see `sdp-guard COMMAND --help`",
                ) from None
            srcs[k] = "command line"
        return Config.of(vals, srcs, self.path)

    @property
    def db_path(self) -> str:
        p = self.settings.mikopbx_db
        if p:
            return p
        for cand in DB_PATHS:
            if os.path.exists(cand):
                return cand
        return DB_PATHS[0]


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and key not in _BY_KEY:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def load(path: str | None) -> Config:
    """Read the config file. A missing *default* file means defaults; a missing named file is an error."""
    values: dict[str, Any] = {o.key: o.default for o in OPTIONS}
    sources = {o.key: "default" for o in OPTIONS}
    explicit = path is not None
    path = path or DEFAULT_CONFIG_PATH
    from sdp_guard.files.capped import TooLarge, read_file

    try:
        data = read_file(path, 1024 * 1024)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(
                f"configuration file {path} does not exist",
                "create it (see `sdp-guard config show` for every setting) or drop --config",
            ) from None
        return Config.of(values, sources, None)
    except OSError as e:
        raise ConfigError(f"cannot read configuration file {path}: {e.strerror or e}") from e
    except TooLarge as e:
        raise ConfigError(f"configuration file {e}") from None
    from sdp_guard.files.yamlsafe import decode_yaml, parse_yaml

    text = decode_yaml(data, path, ConfigError)
    if not text.strip() and path != os.devnull:
        # A zero-length file is usually a write cut short; a file of comments means defaults.
        raise ConfigError(
            f"configuration file {path} is empty",
            "write the settings you need (see `sdp-guard config show`), or remove the file "
            "to use the defaults",
        )
    doc = parse_yaml(text, path, ConfigError)
    if doc is None:
        return Config.of(values, sources, path)
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    for key, raw in _flatten(doc).items():
        opt = _BY_KEY.get(key)
        if opt is None:
            known = ", ".join(sorted(_BY_KEY))
            raise ConfigError(f"{path}: unknown setting {key!r}", f"known settings: {known}")
        try:
            values[key] = opt.reader(raw)
        except ValueError as e:
            import reprlib

            raise ConfigError(f"{path}: setting {key}: {e} (got {reprlib.repr(raw)})") from None
        sources[key] = path
    return Config.of(values, sources, path)


def render(cfg: Config) -> str:
    """The effective configuration as YAML, each setting with its help and where it came from."""
    import json

    from sdp_guard.core.text import sanitize_text

    lines = [f"# effective configuration (file: {cfg.path or 'none, defaults'})"]
    section = ""
    for o in OPTIONS:
        head, _, leaf = o.key.rpartition(".")
        if head != section:
            section = head
            if head:
                lines.append(f"{head}:")
        indent = "  " if head else ""
        v = cfg.values[o.key]
        # JSON strings are YAML double-quoted scalars; escaping keeps file text off the terminal.
        shown = sanitize_text(json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v))
        lines.append(f"{indent}# {o.help} [from: {sanitize_text(cfg.sources[o.key])}]")
        lines.append(f"{indent}{leaf}: {shown}")
        if o.key == "mikopbx.db" and not v:
            lines.append(f"{indent}# -> resolves to {cfg.db_path}")
    return "\n".join(lines) + "\n"
