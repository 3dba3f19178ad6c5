"""Scheduled probe calls (``probe.schedule_minutes``): toward every station with a finding.

The loop thread decides (after an evaluation over good views, at most once per period); one
worker thread places the calls one after another, so at most one probe call is ever in flight and
the loop never waits on one. Each finished call wakes the loop, which publishes it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from sdp_guard.core.diagnose import Report
from sdp_guard.core.model import PbxConfig, Provider, TailnetView
from sdp_guard.daemon.state import ProbeRow

log = logging.getLogger(__name__)

SECONDS = 5.0  # of RTP per scheduled call, as `sdp-guard probe` by default


class Job(NamedTuple):
    station: str
    provider: Provider
    host: str
    port: int
    sdp_address: str
    bind: str
    number: str


def jobs(report: Report, pbx: PbxConfig, view: TailnetView, number: str) -> list[Job]:
    """The calls of one round (pure): a station whose provider cannot be reached is skipped."""
    from sdp_guard.core import probe

    if not view.self_ipv4:
        return []
    out = []
    for station, p in probe.scheduled_targets(report):
        dest = probe.destination(p, view)
        if dest is None:
            continue
        sdp, _ = probe.sdp_address_for(p, pbx.local_net, view.self_ipv4)
        out.append(Job(station, p, dest[0], dest[1], sdp, view.self_ipv4, number))
    return out


class Scheduler:
    def __init__(
        self,
        wake: Callable[[], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._wake = wake
        self._clock = clock
        self._wall = wall
        self._rows: dict[str, ProbeRow] = {}
        self._lock = threading.Lock()
        self._busy = False
        self._next = 0.0
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def rows(self) -> tuple[ProbeRow, ...]:
        with self._lock:
            return tuple(self._rows[k] for k in sorted(self._rows))

    def consider(
        self,
        minutes: str | int,
        number: str,
        report: Report,
        pbx: PbxConfig,
        view: TailnetView,
        db: str,
    ) -> bool:
        """Start a round when one is due and none is running. True when one started."""
        if minutes == "off" or self._busy:
            return False
        now = self._clock()
        if now < self._next:
            return False
        self._next = now + 60.0 * int(minutes)
        round_ = jobs(report, pbx, view, number)
        if not round_:
            return False
        self._busy = True
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="probe")
        self._executor.submit(self._run, round_, db)
        return True

    def _run(self, round_: list[Job], db: str) -> None:
        try:
            for job in round_:
                row = self._call(job, db)
                with self._lock:
                    self._rows[job.station] = row
                self._wake()
        finally:
            self._busy = False

    def _call(self, job: Job, db: str) -> ProbeRow:
        from sdp_guard.adapters import probe_ua
        from sdp_guard.adapters.mikopbx_db import read_provider_secret
        from sdp_guard.core import rtp
        from sdp_guard.errors import Error

        p = job.provider
        try:
            secret = read_provider_secret(db, p.id) if p.username else ""
            out = probe_ua.place_call(
                probe_ua.Call(
                    host=job.host,
                    port=job.port,
                    number=job.number,
                    bind=job.bind,
                    sdp_address=job.sdp_address,
                    seconds=SECONDS,
                    username=p.username,
                    secret=probe_ua.Secret(secret) if secret else None,
                )
            )
            verdict = rtp.verdict(out.answered, out.stats)
            stats, status = out.stats, out.sip_status
            if any("not permitted" in n for n in out.notes):
                # sdp-guard.service denies IP but to localhost: probes need the tailnet allowed.
                log.warning(
                    "probe toward station %s could not send (%s); under systemd allow the tailnet: "
                    "`systemctl edit sdp-guard`, [Service] IPAddressAllow=100.64.0.0/10",
                    job.station,
                    "; ".join(out.notes),
                )
        except (OSError, Error) as e:  # a probe never takes the daemon down
            log.warning("probe toward station %s failed: %s", job.station, e)
            verdict, stats, status = "no-answer", rtp.Stats(0, 0, 0.0, None, None, 0), 0
        log.info("probe toward station %s via %s: %s", job.station, p.id, verdict)
        return ProbeRow(
            station=job.station,
            provider=p.id,
            verdict=verdict,
            received_ratio=round(stats.received_ratio, 4),
            sent=stats.sent,
            received=stats.received,
            sip_status=status,
            sdp_address=job.sdp_address,
            at=self._wall(),
        )

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
