"""Prometheus exposition over the daemon's last evaluation, and its HTTP listener.

Imported only by the daemon. :class:`SnapshotCollector` follows client_python's custom-collector
protocol: ``collect()`` builds fresh metric families from one immutable
:class:`~sdp_guard.daemon.state.Snapshot` (never from live state), ``describe()`` is trivial.
Conventions (prometheus docs, naming.md / writing_exporters.md): prefix ``sdp_guard_``, base
units, ``_info`` for metadata, ``_timestamp_seconds`` instead of "age", an ``_up`` per source,
labelled series pre-initialised to 0, provider ids as labels and never an IP address.

The listener (``ThreadingHTTPServer``, 127.0.0.1 by default) serves ``/metrics``, ``/findings``
(the findings document of the last evaluation, docs/findings-json.md) and a landing page ``/``.

Both documents are held gzip-compressed (at 10,000 providers: 15 MB of findings JSON and 6.8 MB of
exposition become about 0.7 MB and 0.25 MB; bench/memory.py). A client that sends
``Accept-Encoding: gzip`` (Prometheus does) gets them as they are, any other the plain bytes.
"""

from __future__ import annotations

import html
import logging
import os
import platform
import selectors
import socket
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, gzip_accepted
from prometheus_client.registry import Collector

from sdp_guard import __version__
from sdp_guard.adapters.heap import release_memory, trim
from sdp_guard.core.findings import ALL_CODES, Code, Finding, Severity

log = logging.getLogger(__name__)

SOURCES = ("tailscale", "mikopbx", "registry")
SYNC_RESULTS = ("applied", "failed", "unavailable")
WAKE_KINDS = ("bus", "netlink", "inotify", "signal", "recheck", "late-read")


@dataclass(frozen=True)
class SourceStatus:
    """One input. ``up`` False: the last read failed; the last good view is still in use."""

    name: str
    up: bool = False
    detail: str = ""
    error: str = ""
    since: float = 0.0  # wall clock of the last up/down change
    last_success: float | None = None  # wall clock of the last good read
    has_view: bool = False  # a good view exists (from now or from before)


@dataclass(frozen=True, slots=True)
class ProviderRow:
    id: str
    station: str  # "" when unmatched


@dataclass(frozen=True, slots=True)
class ProbeRow:
    """The last scheduled probe toward a station (probe.schedule_minutes)."""

    station: str
    provider: str
    verdict: str  # two-way | one-way | no-audio | no-answer
    received_ratio: float
    sent: int
    received: int
    sip_status: int
    sdp_address: str
    at: float  # wall clock

    def doc(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(self.at, UTC).replace(microsecond=0).isoformat()
        return {
            "station": self.station,
            "provider": self.provider,
            "verdict": self.verdict,
            "received_ratio": self.received_ratio,
            "sent": self.sent,
            "received": self.received,
            "sip_status": self.sip_status,
            "sdp_address": self.sdp_address,
            "probed_at": at.replace("+00:00", "Z"),
        }


PROBE_VERDICTS = ("two-way", "one-way", "no-audio", "no-answer")
GZIP_WBITS = 31  # zlib with a gzip header and trailer (RFC 1952)


def gzip_bytes(*chunks: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    return b"".join([*(z.compress(c) for c in chunks), z.flush()])


def gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, GZIP_WBITS)


def encode_document(doc: Mapping[str, Any]) -> bytes:
    """The findings document as gzip-compressed compact JSON (the C encoder; 1 MiB at a time, so
    neither the whole text's UTF-8 copy nor an indented copy is ever held)."""
    import json

    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    step = 1 << 20
    return gzip_bytes(*(text[i : i + step].encode("utf-8") for i in range(0, len(text), step)))


def not_evaluated_document(started_at: float, lang: str = "en") -> bytes:
    """The findings document served before the first evaluation (status unknown), gzip."""
    import time

    from sdp_guard.core.render import to_document

    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at))
    doc = to_document(
        None,
        lang=lang,
        checked_at=when,
        sources={s: {"up": False, "detail": "not checked yet"} for s in SOURCES},
        version=__version__,
        error="not evaluated yet",
    )
    return encode_document(doc)


UNKNOWN_DOCUMENT = not_evaluated_document(0.0)


@dataclass(frozen=True)
class Snapshot:
    started_at: float
    recheck_seconds: float
    evaluations: int = 0
    evaluated_at: float | None = None  # wall clock of the last finished evaluation
    duration: float = 0.0
    sources: tuple[SourceStatus, ...] = tuple(SourceStatus(s) for s in SOURCES)
    complete: bool = False  # every source has a good view: findings mean something
    findings: tuple[Finding, ...] = ()
    providers: tuple[ProviderRow, ...] = ()
    peers: int = 0
    stations: int = 0
    syncs: tuple[tuple[str, int], ...] = tuple((r, 0) for r in SYNC_RESULTS)
    wakeups: tuple[tuple[str, int], ...] = tuple((k, 0) for k in WAKE_KINDS)
    interface_present: bool | None = None  # None: netlink not watched
    interface_addresses: int = 0
    peer_routes: int = 0
    document_gz: bytes = UNKNOWN_DOCUMENT  # the findings document, gzip (encode_document)
    summary: str = "starting"
    # core.mantela.advertised_state of our own published mantela.json; None: Mantela off
    mantela_advertised: str | None = None
    probes: tuple[ProbeRow, ...] = ()  # the last scheduled probe per station

    @property
    def document(self) -> bytes:
        """The findings document (JSON, UTF-8)."""
        return gunzip(self.document_gz)

    def source(self, name: str) -> SourceStatus:
        for s in self.sources:
            if s.name == name:
                return s
        return SourceStatus(name)


CACHED = "Cached from the last evaluation."
# Codes that can name a provider (the PBX-wide local_net one cannot).
PROVIDER_CODES = tuple(c for c in ALL_CODES if c != Code.NOT_IN_LOCAL_NET.value)
SEVERITIES = tuple(s.label for s in Severity)


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        return iter(families(self._snapshot()))


def families(snap: Snapshot) -> list[Any]:
    """Every metric family for one snapshot (pure: same snapshot, same output)."""
    out: list[Any] = []
    info = InfoMetricFamily("sdp_guard_build", "sdp-guard version and the Python running it.")
    info.add_metric([], {"version": __version__, "python": platform.python_version()})
    out.append(info)
    out.append(
        GaugeMetricFamily(
            "sdp_guard_start_time_seconds",
            "When the daemon started (Unix time).",
            value=snap.started_at,
        )
    )
    out.append(
        GaugeMetricFamily(
            "sdp_guard_recheck_interval_seconds",
            "Configured safety re-check interval; evaluations are at least this frequent.",
            value=snap.recheck_seconds,
        )
    )

    up = GaugeMetricFamily(
        "sdp_guard_source_up",
        "1 if the last read of this input succeeded, 0 if it failed (its last good view is kept).",
        labels=["source"],
    )
    last_ok = GaugeMetricFamily(
        "sdp_guard_source_last_success_timestamp_seconds",
        "When this input was last read successfully (Unix time; 0: never).",
        labels=["source"],
    )
    for name in SOURCES:
        s = snap.source(name)
        up.add_metric([name], 1.0 if s.up else 0.0)
        last_ok.add_metric([name], s.last_success or 0.0)
    out += [up, last_ok]

    out.append(
        GaugeMetricFamily(
            "sdp_guard_view_complete",
            "1 when every input has a good view, so the finding metrics are meaningful. " + CACHED,
            value=1.0 if snap.complete else 0.0,
        )
    )
    counts = {(c, s): 0 for c in ALL_CODES for s in SEVERITIES}
    for f in snap.findings:
        counts[(f.code.value, f.severity.label)] += 1
    fam = GaugeMetricFamily(
        "sdp_guard_findings",
        "Findings by code and severity. " + CACHED,
        labels=["code", "severity"],
    )
    for (code, sev), n in counts.items():
        fam.add_metric([code, sev], float(n))
    out.append(fam)

    problem = GaugeMetricFamily(
        "sdp_guard_provider_problem",
        "1 if the provider has a finding of this code at warning or critical severity, else 0. "
        + CACHED,
        labels=["provider", "station", "code"],
    )
    active = {
        (f.provider, f.code.value)
        for f in snap.findings
        if f.provider and f.severity >= Severity.WARNING
    }
    for p in snap.providers:
        for code in PROVIDER_CODES:
            problem.add_metric([p.id, p.station, code], 1.0 if (p.id, code) in active else 0.0)
    out.append(problem)

    if snap.mantela_advertised is not None:
        pub = GaugeMetricFamily(
            "sdp_guard_mantela_advertises_our_address",
            "1 if our own published mantela.json carries our tailnet address in aboutMe.tailnet, "
            "else 0 (state: missing, e.g. dropped by the Mantela editor; unusable; differs). "
            "Absent when Mantela is off. " + CACHED,
            labels=["state"],
        )
        pub.add_metric([snap.mantela_advertised], 1.0 if snap.mantela_advertised == "ok" else 0.0)
        out.append(pub)

    for name, help_text, value in (
        ("sdp_guard_providers", "MikoPBX SIP providers (trunks). " + CACHED, len(snap.providers)),
        ("sdp_guard_tailnet_peers", "Peers in our tailnet view. " + CACHED, snap.peers),
        ("sdp_guard_registry_stations", "Stations in the registry. " + CACHED, snap.stations),
    ):
        out.append(GaugeMetricFamily(name, help_text, value=float(value)))

    out.append(
        GaugeMetricFamily(
            "sdp_guard_last_evaluation_timestamp_seconds",
            "When the last evaluation finished (Unix time; 0: none yet).",
            value=snap.evaluated_at or 0.0,
        )
    )
    out.append(
        GaugeMetricFamily(
            "sdp_guard_last_evaluation_duration_seconds",
            "How long the last evaluation took, reading the inputs included.",
            value=snap.duration,
        )
    )
    out.append(
        CounterMetricFamily(
            "sdp_guard_evaluations", "Evaluations since start.", value=float(snap.evaluations)
        )
    )
    syncs = CounterMetricFamily(
        "sdp_guard_syncs",
        "Automatic host syncs (daemon.auto_sync: hosts) by result.",
        labels=["result"],
    )
    for result, n in snap.syncs:
        syncs.add_metric([result], float(n))
    out.append(syncs)
    wake = CounterMetricFamily(
        "sdp_guard_wakeups",
        "What woke the daemon (bus, netlink, inotify, signal, recheck, late-read).",
        labels=["reason"],
    )
    for reason, n in snap.wakeups:
        wake.add_metric([reason], float(n))
    out.append(wake)

    if snap.probes:
        out += _probe_families(snap.probes)

    if snap.interface_present is not None:
        out.append(
            GaugeMetricFamily(
                "sdp_guard_tailnet_interface_present",
                "1 if the tailnet interface (tailscale0) exists. " + CACHED,
                value=1.0 if snap.interface_present else 0.0,
            )
        )
        out.append(
            GaugeMetricFamily(
                "sdp_guard_tailnet_interface_addresses",
                "Addresses on the tailnet interface (normally one /32 and one /128). " + CACHED,
                value=float(snap.interface_addresses),
            )
        )
        out.append(
            GaugeMetricFamily(
                "sdp_guard_tailnet_peer_routes",
                "Host routes to peers in routing table 52. " + CACHED,
                value=float(snap.peer_routes),
            )
        )
    return out


def _probe_families(rows: Iterable[ProbeRow]) -> list[Any]:
    ratio = GaugeMetricFamily(
        "sdp_guard_probe_rtp_received_ratio",
        "RTP packets that came back in the last scheduled probe call, per packet sent (0 to 1).",
        labels=["station"],
    )
    verdict = GaugeMetricFamily(
        "sdp_guard_probe_verdict",
        "1 for the verdict of the last scheduled probe call toward the station, else 0.",
        labels=["station", "verdict"],
    )
    when = GaugeMetricFamily(
        "sdp_guard_probe_timestamp_seconds",
        "When the last scheduled probe call toward the station ended (Unix time).",
        labels=["station"],
    )
    for r in rows:
        ratio.add_metric([r.station], r.received_ratio)
        for v in PROBE_VERDICTS:
            verdict.add_metric([r.station, v], 1.0 if v == r.verdict else 0.0)
        when.add_metric([r.station], r.at)
    return [ratio, verdict, when]


def exposition(snap: Snapshot) -> bytes:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(lambda: snap))
    return generate_latest(reg)


RELEASE_PAGE_BYTES = 1 << 20  # about 1,000 providers' worth of series


class _Cache:
    """Exposition of the current snapshot, gzip-compressed, built at most once per snapshot."""

    def __init__(self, release: Callable[[], object] = lambda: None) -> None:
        self._pair: tuple[Snapshot, bytes] | None = None
        self._release = release

    def get(self, snap: Snapshot) -> bytes:
        pair = self._pair
        if pair is not None and pair[0] is snap:
            return pair[1]
        self._pair = None  # the previous page is garbage already
        plain = exposition(snap)
        data = gzip_bytes(plain)
        self._pair = (snap, data)
        # Only a large page leaves garbage worth a full collection (~30 MiB at 10k providers);
        # on a small network the collection would only add latency to the scrape (bench fig 1).
        if len(plain) >= RELEASE_PAGE_BYTES:
            del plain
            self._release()
        return data


LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sdp-guard</title></head>
<body><h1>sdp-guard daemon</h1>
<p>{summary}</p>
<ul><li><a href="metrics">/metrics</a>: Prometheus exposition</li>
<li><a href="findings">/findings</a>: the findings document of the last evaluation (JSON)</li></ul>
<p>sdp-guard {version}</p></body></html>
"""


# A scraper connects, asks and reads within a second; anything slower or more numerous is a
# stuck or hostile client, and must not hold threads and file descriptors.
IDLE_TIMEOUT = 10.0
MAX_CONNECTIONS = 32
ACCEPT_PAUSE = 0.5  # after accept() fails (no file descriptors left): no busy loop


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.settimeout(IDLE_TIMEOUT)  # per socket operation on the connection
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)

    def _send(
        self, code: int, body: bytes, ctype: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_gz(self, body_gz: bytes, ctype: str) -> None:
        """A gzip-held document: as it is when the client accepts gzip, else decompressed."""
        vary = ("Vary", "Accept-Encoding")
        if gzip_accepted(self.headers.get("Accept-Encoding", "")):
            self._send(200, body_gz, ctype, (("Content-Encoding", "gzip"), vary))
        else:
            body = gunzip(body_gz)
            self._send(200, body, ctype, (vary,))
            if len(body) > 1 << 20:
                del body
                trim()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        snap = self.server.snapshot()
        if path == "/metrics":
            self._send_gz(self.server.cache.get(snap), CONTENT_TYPE_LATEST)
        elif path == "/findings":
            self._send_gz(snap.document_gz, "application/json; charset=utf-8")
        elif path == "/":
            page = LANDING.format(summary=html.escape(snap.summary), version=__version__)
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
        else:
            self._send(404, b"not found: try /, /metrics or /findings\n", "text/plain")

    do_HEAD = do_GET


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], snapshot: Callable[[], Snapshot]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.snapshot = snapshot
        self.cache = _Cache(release_memory)
        super().__init__(address, _Handler)
        self.timeout = 0  # handle_request() only runs when the socket is readable
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = threading.Event()
        self._wake_r = self._wake_w = -1
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._accept_failed = False
        self.refused = 0  # connections closed at once because MAX_CONNECTIONS were open

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError:
            self._accept_failed = True  # EMFILE/ENFILE: the socket stays readable
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets, stalls or sends garbage is routine: no traceback per client.
        import sys

        e = sys.exc_info()[1]
        log.debug("http client %s: %s: %s", client_address, type(e).__name__, e)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # Every descriptor the accept loop needs is taken here, not later in its thread (where
        # none may be left by then).
        sel = selectors.DefaultSelector()
        sel.register(self.socket, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._serve, args=(sel,), name="metrics-http", daemon=True
        )
        self._thread.start()

    def _serve(self, sel: selectors.BaseSelector) -> None:
        """Accept until stopped. Unlike ``serve_forever`` this never wakes up to poll (it would
        every 0.5 s): only a connection or ``stop()`` wakes it."""
        with sel:
            while not self._stopping:
                for key, _ in sel.select():
                    if key.fileobj is self.socket and not self._stopping:
                        try:
                            self.handle_request()
                        except OSError:  # no descriptor for its selector either
                            self._accept_failed = True
                if self._accept_failed:
                    self._accept_failed = False
                    self._stopped.wait(ACCEPT_PAUSE)

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(5)
            os.close(self._wake_r)
            os.close(self._wake_w)
        self.server_close()


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8796``, ``[::1]:8796`` or ``:8796`` (all addresses, only if asked for)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected ADDR:PORT, got {text!r}")
    host = host.strip("[]")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Pure: does binding ``host`` keep the listener on this machine?"""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
