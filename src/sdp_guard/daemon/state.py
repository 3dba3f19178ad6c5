"""What the daemon publishes, and the pure functions that decide it.

:class:`PublishedState` is one immutable value that the loop swaps in after each evaluation and
that the listener (/metrics, /findings, /) reads; :func:`build_state` computes the next one from
the previous one and the current views (pure: no clock, no I/O, no logging). The diffs here decide
what the loop logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sdp_guard import __version__
from sdp_guard.adapters.metrics import encode_document, gunzip
from sdp_guard.core.diagnose import Report, evaluate
from sdp_guard.core.findings import Finding, Severity
from sdp_guard.core.model import TailnetView
from sdp_guard.core.render import to_document

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
class PublishedState:
    """Everything the daemon publishes (/metrics, /findings, /), immutable, swapped whole."""

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
    # core.mantela_doc.advertised_state of our own published mantela.json; None: Mantela off
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


@dataclass(frozen=True)
class Transition:
    kind: str  # appeared | cleared | changed
    finding: Finding
    before: Finding | None = None


def finding_key(f: Finding) -> tuple[str, str, str, str]:
    """What makes a finding 'the same one' across evaluations (addresses may change)."""
    return (f.code.value, f.provider or "", f.station or "", f.node or "")


def _addresses(f: Finding) -> tuple[object, ...]:
    return (f.severity, f.configured, f.advertised, f.observed, f.masquerade)


def diff_findings(old: Sequence[Finding], new: Sequence[Finding]) -> tuple[Transition, ...]:
    """Pure: what appeared, cleared, or changed (severity or an address) between two evaluations."""
    before = {finding_key(f): f for f in old}
    after = {finding_key(f): f for f in new}
    out: list[Transition] = []
    for k, f in after.items():
        prev = before.get(k)
        if prev is None:
            out.append(Transition("appeared", f))
        elif _addresses(prev) != _addresses(f):
            out.append(Transition("changed", f, prev))
    for k, f in before.items():
        if k not in after:
            out.append(Transition("cleared", f))
    order = {"appeared": 0, "changed": 1, "cleared": 2}
    out.sort(key=lambda t: (order[t.kind], t.finding.sort_key))
    return tuple(out)


def diff_sources(old: Mapping[str, bool], new: Mapping[str, bool]) -> tuple[tuple[str, bool], ...]:
    """Pure: (source, now_up) for each source whose up/down state changed.

    A source seen for the first time counts as a change only when it starts down (starting up is
    not news; starting down is).
    """
    out = []
    for name, up in new.items():
        was = old.get(name)
        if (was is None and not up) or (was is not None and was != up):
            out.append((name, up))
    return tuple(out)


@dataclass
class Counters:
    """Mutable counters owned by the loop thread; copied into each PublishedState."""

    syncs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYNC_RESULTS, 0))
    wakeups: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WAKE_KINDS, 0))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def summary(
    findings: tuple[Finding, ...], sources: tuple[SourceStatus, ...], complete: bool
) -> str:
    down = [s.name for s in sources if not s.up]
    n = {sev: sum(1 for f in findings if f.severity is sev) for sev in Severity}
    head = (
        f"{n[Severity.CRITICAL]} critical, {n[Severity.WARNING]} warning, {n[Severity.INFO]} info"
        if complete
        else "no complete view yet"
    )
    return head + (f"; down: {', '.join(down)}" if down else "; all sources up")


def source_doc(sources: Sequence[SourceStatus]) -> dict[str, dict[str, Any]]:
    """The ``sources`` object of the findings document."""
    out: dict[str, dict[str, Any]] = {}
    for st in sources:
        d: dict[str, Any] = {"up": st.up, "detail": st.detail}
        if not st.up:
            d["since"] = iso(st.since) if st.since else None
            d["error"] = st.error
        out[st.name] = d
    return out


def mantela_state(own_mantela: Any, view: TailnetView | None) -> str | None:
    """Whether our own published Mantela carries our address (None: Mantela off/unknown)."""
    from sdp_guard.core.mantela_doc import advertised_state

    if own_mantela is None or view is None or not view.self_ipv4:
        return None
    return advertised_state(own_mantela, view.self_ipv4)


class NetState(Protocol):
    """The netlink view of the tailnet interface (adapters.netlink.NetState)."""

    @property
    def present(self) -> bool: ...

    @property
    def addresses(self) -> Sequence[Any]: ...

    @property
    def routes(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Published:
    """What :func:`build_state` returns: the new state and the report it was built from."""

    state: PublishedState
    report: Report | None  # None: not every source has a good view yet


def build_state(
    previous: PublishedState,
    views: Mapping[str, Any],
    *,
    sources: tuple[SourceStatus, ...],
    kept_findings: tuple[Finding, ...],
    counters: Counters,
    probes: tuple[ProbeRow, ...],
    own_mantela: Any,
    net: NetState | None,
    netlink_watched: bool,
    lang: str,
    recheck_seconds: float,
    evaluated_at: float,
    duration: float,
) -> Published:
    """Pure: the next published state from the previous one and the views of the inputs.

    ``views`` holds the last good view of each source (a source that is down keeps its view, so
    its findings stay). Until every source has had a good view, the findings document is
    "unknown" and the published findings are none; ``kept_findings`` are the last complete
    evaluation's, which the summary of an incomplete state does not count either.
    """
    complete = all(n in views for n in SOURCES)
    report: Report | None = None
    if complete:
        report = evaluate(views["mikopbx"], views["registry"], views["tailscale"])
        doc = to_document(
            report,
            lang=lang,
            checked_at=iso(evaluated_at),
            sources=source_doc(sources),
            version=__version__,
        )
        doc["probes"] = [r.doc() for r in probes]
    else:
        missing = [n for n in SOURCES if n not in views]
        doc = to_document(
            None,
            lang=lang,
            checked_at=iso(evaluated_at),
            sources=source_doc(sources),
            version=__version__,
            error="no good view yet of: " + ", ".join(missing),
        )
    evaluations = previous.evaluations + 1
    doc["daemon"] = {"started_at": iso(previous.started_at), "evaluations": evaluations}
    findings = report.findings if report is not None else kept_findings
    view: TailnetView | None = views.get("tailscale")
    state = PublishedState(
        started_at=previous.started_at,
        recheck_seconds=recheck_seconds,
        evaluations=evaluations,
        evaluated_at=evaluated_at,
        duration=duration,
        sources=sources,
        complete=complete,
        findings=findings if complete else (),
        providers=tuple(
            ProviderRow(m.provider.id, m.station.name if m.station else "")
            for m in (report.matches if report is not None else ())
        ),
        peers=len(view.peers) if view is not None else 0,
        stations=len(views.get("registry") or ()),
        syncs=tuple(counters.syncs.items()),
        wakeups=tuple(counters.wakeups.items()),
        interface_present=None if not netlink_watched or net is None else net.present,
        interface_addresses=len(net.addresses) if net is not None else 0,
        peer_routes=len(net.routes) if net is not None else 0,
        document_gz=encode_document(doc),
        summary=summary(findings if complete else (), sources, complete),
        mantela_advertised=mantela_state(own_mantela, view),
        probes=probes,
    )
    return Published(state, report)
