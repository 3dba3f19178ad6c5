"""Prometheus exposition of the daemon's published state.

:class:`StateCollector` follows client_python's custom-collector protocol: ``collect()`` builds
fresh metric families from one immutable :class:`~sdp_guard.daemon.state.PublishedState` (never
from live state), ``describe()`` is trivial. Conventions (prometheus docs, naming.md /
writing_exporters.md): prefix ``sdp_guard_``, base units, ``_info`` for metadata,
``_timestamp_seconds`` instead of "age", an ``_up`` per source, labelled series pre-initialised
to 0, provider ids as labels and never an IP address.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from sdp_guard import __version__
from sdp_guard.core.findings import ALL_CODES, Code, Severity
from sdp_guard.daemon.state import PROBE_VERDICTS, SOURCES, ProbeRow, PublishedState

CACHED = "Cached from the last evaluation."
# Codes that can name a provider (the PBX-wide local_net one cannot).
PROVIDER_CODES = tuple(c for c in ALL_CODES if c != Code.NOT_IN_LOCAL_NET.value)
SEVERITIES = tuple(s.label for s in Severity)


class StateCollector(Collector):
    def __init__(self, snapshot: Callable[[], PublishedState]) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        return iter(families(self._snapshot()))


def families(snap: PublishedState) -> list[Any]:
    """Every metric family for one published state (pure: same state, same output)."""
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


def exposition(snap: PublishedState) -> bytes:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StateCollector(lambda: snap))
    return generate_latest(reg)
