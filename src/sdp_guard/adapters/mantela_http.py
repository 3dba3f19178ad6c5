"""Mantela as a registry source: our own mantela.json, then each peer's, one hop.

    own mantela.json (registry.mantela_url) --providers[].mantela--> peers' mantela.json
                                                                      └─ aboutMe.tailnet -> Station

HTTP is stdlib ``urllib`` (imported on first use), with a per-read timeout, a whole-answer
deadline, a body size limit, at most a few redirects (http/https only) and conditional requests
(``If-None-Match`` / ``If-Modified-Since``). The last good copy of every file is kept under
``<state_dir>/mantela-cache`` (directory 0700, files 0600); when a file cannot be fetched the cached
copy is used and the result is marked ``stale``.

Format: github.com/tkytel/mantela @ 5151c03 (0.1.x). Decoding is tolerant (core/mantela_doc.py): a
peer without the extension is a note, not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdp_guard.config import Config

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sdp_guard.core.mantela_doc import (
    MantelaDoc,
    MantelaFormatError,
    PeerRead,
    ProviderLink,
    decode_document,
    merge_stations,
    peer_links,
    stations_from_peers,
)
from sdp_guard.core.model import Station
from sdp_guard.errors import RegistryError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds per socket operation
DEFAULT_DEADLINE = 30.0  # seconds for a whole answer
DEFAULT_MAX_BYTES = 2 * 1024 * 1024  # real files with inline images stay far below this
MAX_REDIRECTS = 5
CACHE_DIRNAME = "mantela-cache"
USER_AGENT = "sdp-guard (+https://github.com/tkytel; Mantela tailnet reader)"


class FetchError(Exception):
    """A file could not be fetched; the message says why in operator terms."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int  # 200 or 304
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    final_url: str = ""


class Getter(Protocol):
    def __call__(self, url: str, headers: Mapping[str, str]) -> HttpAnswer: ...


class UrllibGetter:
    """GET with limits. Raises :class:`FetchError`; returns 200 or 304 answers only."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects

    def __call__(self, url: str, headers: Mapping[str, str]) -> HttpAnswer:
        import http.client
        import urllib.error
        import urllib.parse
        import urllib.request

        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"{url}: not an http(s) URL")

        class Redirects(urllib.request.HTTPRedirectHandler):
            max_redirections = self.max_redirects
            max_repeats = 2

            def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
                # urllib reads a redirect's whole body before following it, sized by whatever
                # Content-Length the peer claims: close it unread (a closed answer reads b"").
                fp.close()
                return super().http_error_302(req, fp, code, msg, headers)

            http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

        from sdp_guard.adapters.bounded import Deadline, DeadlineExceeded, deadline_opener

        # One deadline for the whole answer, redirects, status line and headers included: a
        # peer that sends a byte a second ends here, not never.
        deadline = Deadline(self.deadline)
        opener = deadline_opener(deadline, self.timeout, Redirects)
        req = urllib.request.Request(
            url, headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        )
        started = time.monotonic()
        try:
            resp = opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            with contextlib.suppress(Exception):
                e.close()
            if e.code == 304:
                return HttpAnswer(304, final_url=e.geturl() or url)
            if 300 <= e.code < 400:
                raise FetchError(
                    f"{url}: redirect not followed (HTTP {e.code}; more than "
                    f"{self.max_redirects} redirects, a loop, or no Location)"
                ) from None
            raise FetchError(f"{url}: HTTP {e.code} {_reason(e.code)}") from None
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, DeadlineExceeded):
                raise FetchError(f"{url}: answer not complete within {self.deadline:g} s") from e
            if isinstance(reason, TimeoutError):
                raise FetchError(f"{url}: no answer within {self.timeout:g} s") from None
            raise FetchError(f"{url}: cannot connect: {reason}") from None
        except DeadlineExceeded as e:
            raise FetchError(f"{url}: answer not complete within {self.deadline:g} s") from e
        except TimeoutError:
            raise FetchError(f"{url}: no answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise FetchError(f"{url}: request failed: {e or type(e).__name__}") from None
        with resp:
            final = resp.geturl() or url
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                raise FetchError(
                    f"{url}: answer is {int(length)} bytes, over the limit of {self.max_bytes}"
                )
            chunks: list[bytes] = []
            size = 0
            try:
                while True:
                    if time.monotonic() - started > self.deadline:
                        raise FetchError(
                            f"{url}: answer not complete within {self.deadline:g} s (too slow)"
                        )
                    chunk = resp.read1(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(
                            f"{url}: answer is over the limit of {self.max_bytes} bytes"
                        )
                    chunks.append(chunk)
            except DeadlineExceeded:
                raise FetchError(
                    f"{url}: answer not complete within {self.deadline:g} s (too slow)"
                ) from None
            except TimeoutError:
                raise FetchError(f"{url}: answer stalled for {self.timeout:g} s") from None
            except (OSError, http.client.HTTPException) as e:
                raise FetchError(f"{url}: connection broke while reading: {e}") from None
            return HttpAnswer(
                200,
                b"".join(chunks),
                etag=resp.headers.get("ETag") or "",
                last_modified=resp.headers.get("Last-Modified") or "",
                final_url=final,
            )


def _reason(code: int) -> str:
    if code == 404:
        return "Not Found (is the URL right? has the station moved its mantela.json?)"
    if code in (401, 403):
        return "access denied (the file must be public)"
    if code >= 500:
        return "server error (the station's web server has a problem; try later)"
    return ""


# --------------------------------------------------------------------------- cache


@dataclass(frozen=True)
class CacheEntry:
    url: str
    body: str
    etag: str = ""
    last_modified: str = ""
    final_url: str = ""
    saved_at: float = 0.0


class DiskCache:
    """Last good copy of each file: ``<dir>/<sha256(url)>.json``, dir 0700, files 0600."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.problem = ""  # why the cache could not be written, if it could not

    def _path(self, url: str) -> str:
        return os.path.join(self.directory, hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")

    def load(self, url: str) -> CacheEntry | None:
        from sdp_guard.adapters.bounded import loads_json, read_file

        try:
            d = loads_json(read_file(self._path(url), 4 * DEFAULT_MAX_BYTES), "mantela cache")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.debug("mantela cache for %s unreadable: %s", url, e)
            return None
        if not isinstance(d, dict) or d.get("url") != url or not isinstance(d.get("body"), str):
            return None
        return CacheEntry(
            url=url,
            body=d["body"],
            etag=str(d.get("etag") or ""),
            last_modified=str(d.get("last_modified") or ""),
            final_url=str(d.get("final_url") or ""),
            saved_at=float(d.get("saved_at") or 0.0),
        )

    def save(self, entry: CacheEntry) -> None:
        data = json.dumps(
            {
                "url": entry.url,
                "etag": entry.etag,
                "last_modified": entry.last_modified,
                "final_url": entry.final_url,
                "saved_at": entry.saved_at,
                "body": entry.body,
            },
            ensure_ascii=False,
        )
        path = self._path(entry.url)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            os.chmod(self.directory, 0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if not self.problem:
                self.problem = (
                    f"cannot write the Mantela cache in {self.directory}: {e.strerror or e}"
                )
                log.info("%s", self.problem)


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class Fetched:
    """One document: fresh, revalidated (304), or the cached copy after a failure (stale)."""

    url: str
    doc: MantelaDoc | None
    final_url: str = ""
    from_cache: bool = False
    stale: bool = False
    error: str = ""


def fetch_document(
    url: str,
    getter: Getter,
    cache: DiskCache | None,
    clock: Callable[[], float] = time.time,
) -> Fetched:
    """Fetch and decode one mantela.json; fall back to the last good copy on any failure."""
    entry = cache.load(url) if cache is not None else None
    headers: dict[str, str] = {}
    if entry is not None:
        if entry.etag:
            headers["If-None-Match"] = entry.etag
        if entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
    try:
        ans = getter(url, headers)
        if ans.status == 304:
            if entry is None:
                raise FetchError(f"{url}: answered 304 Not Modified to an unconditional request")
            doc = decode_document(entry.body)
            return Fetched(url, doc, entry.final_url or ans.final_url, from_cache=True)
        try:
            text = ans.body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FetchError(f"{url}: not UTF-8 text") from None
        try:
            doc = decode_document(text)
        except MantelaFormatError as e:
            raise FetchError(f"{url}: {e}") from None
    except FetchError as e:
        if entry is not None:
            try:
                doc = decode_document(entry.body)
            except MantelaFormatError:
                return Fetched(url, None, error=str(e))
            age = _age(clock() - entry.saved_at)
            return Fetched(
                url,
                doc,
                entry.final_url,
                from_cache=True,
                stale=True,
                error=f"{e} (using the copy cached {age} ago)",
            )
        return Fetched(url, None, error=str(e))
    if cache is not None:
        cache.save(CacheEntry(url, text, ans.etag, ans.last_modified, ans.final_url, clock()))
    return Fetched(url, doc, ans.final_url)


def _age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} days"


@dataclass(frozen=True)
class MantelaResult:
    """Stations read through Mantela and what the operator should know about the reading."""

    url: str
    own: MantelaDoc
    stations: tuple[Station, ...]
    notes: tuple[str, ...] = ()
    stale: bool = False  # some file came from the cache because fetching it failed
    unreachable: tuple[str, ...] = field(default=())  # peers neither fetched nor cached


def load_mantela(
    url: str,
    *,
    state_dir: str | None = None,
    getter: Getter | None = None,
    workers: int = 8,
    clock: Callable[[], float] = time.time,
) -> MantelaResult:
    """Read our own mantela.json at ``url`` and every peer it links to (one hop).

    Raises :class:`RegistryError` only when our own file is neither fetchable nor cached.
    """
    import urllib.parse

    get: Getter = getter or UrllibGetter()
    cache = DiskCache(os.path.join(state_dir, CACHE_DIRNAME)) if state_dir else None
    own = fetch_document(url, get, cache, clock)
    if own.doc is None:
        raise RegistryError(
            f"cannot read our own mantela.json: {own.error}",
            "check registry.mantela_url in the configuration (`sdp-guard config show`) "
            "and that the file is reachable from this machine",
        )
    notes: list[str] = []
    if own.stale:
        notes.append(f"own mantela.json: {own.error}")
    links, dup_notes = peer_links(own.doc)
    notes.extend(dup_notes)
    base = own.final_url or url
    resolved = [
        ProviderLink(
            p.identifier, p.name, p.prefix, urllib.parse.urljoin(base, p.mantela), p.unavailable
        )
        for p in links
    ]
    fetched = _fetch_all([p.mantela for p in resolved], get, cache, workers, clock)
    reads: list[PeerRead] = []
    stale = own.stale
    unreachable: list[str] = []
    for link, f in zip(resolved, fetched, strict=True):
        label = link.name or link.mantela
        if f.stale:
            stale = True
            notes.append(f"{label}: {f.error}")
        if f.doc is None:
            unreachable.append(label)
        reads.append(PeerRead(link, f.doc, f.error))
    stations, st_notes = stations_from_peers(reads)
    notes.extend(st_notes)
    if cache is not None and cache.problem:
        notes.append(cache.problem)
    return MantelaResult(
        url, own.doc, stations, tuple(notes), stale=stale, unreachable=tuple(unreachable)
    )


def _fetch_all(
    urls: Sequence[str],
    get: Getter,
    cache: DiskCache | None,
    workers: int,
    clock: Callable[[], float],
) -> list[Fetched]:
    if len(urls) <= 1 or workers <= 1:
        return [fetch_document(u, get, cache, clock) for u in urls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(urls))) as pool:
        return list(pool.map(lambda u: fetch_document(u, get, cache, clock), urls))


@dataclass(frozen=True)
class RegistrySources:
    """The YAML registry merged with the Mantela source (YAML entries win)."""

    stations: tuple[Station, ...]
    detail: str
    mantela: MantelaResult | None = None
    notes: tuple[str, ...] = ()


def load_registry_sources(
    cfg: Config,
    load_yaml: Callable[[str], tuple[Station, ...]],
    *,
    getter: Getter | None = None,
) -> RegistrySources:
    """YAML registry plus, when ``registry.mantela_url`` is set, the stations read via Mantela.

    With Mantela on, a missing *default* stations.yaml is fine (Mantela alone is a registry); a
    file named in the configuration or on the command line must exist.
    """
    path = cfg.settings.registry_file
    url = cfg.settings.registry_mantela_url.strip()
    yaml_st: tuple[Station, ...]
    if not url:
        yaml_st = load_yaml(path)
        return RegistrySources(yaml_st, f"{path} ({len(yaml_st)} stations)")
    explicit = cfg.sources.get("registry.file", "default") != "default"
    if not explicit and not os.path.exists(path):
        yaml_st = ()
        yaml_detail = f"{path} (absent)"
    else:
        yaml_st = load_yaml(path)
        yaml_detail = f"{path} ({len(yaml_st)} stations)"
    state_dir = cfg.settings.state_dir or None
    res = load_mantela(url, state_dir=state_dir, getter=getter)
    merged, notes = merge_stations(yaml_st, res.stations)
    stale = ", stale" if res.stale else ""
    detail = f"{yaml_detail} + Mantela {url} ({len(res.stations)} stations{stale})"
    return RegistrySources(merged, detail, res, (*res.notes, *notes))
