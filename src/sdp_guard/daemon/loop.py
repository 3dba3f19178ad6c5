"""The daemon's main loop: wake on events only, coalesce, evaluate within a bound, publish.

What wakes the loop (nothing else does):

- the IPN bus thread (a Notify with a cue, the stream opening or closing),
- netlink (our addresses on the tailnet interface, table-52 host routes),
- inotify on the DB directory (``mikopbx.db``, ``-wal``, ``-journal``) and the registry file,
- signals (SIGHUP reloads the configuration, SIGTERM/SIGINT stop),
- the safety re-check (``daemon.recheck_seconds`` after the last evaluation),
- a read that missed its deadline and then succeeded,
- the systemd watchdog, only when systemd asked for one.

Each evaluation reads only the inputs that were woken (the tailnet view after any of them, since
whois targets depend on the providers and the registry), each read in a worker with a deadline.
A failed or late read marks that source down and keeps its last good view, so a source outage
never clears a finding nor invents one. Transitions are logged, one line each, and a new
immutable :class:`~sdp_guard.daemon.state.PublishedState` (built by the pure
:func:`~sdp_guard.daemon.state.build_state`) is swapped in for the metrics listener.

This module only orchestrates: the inputs are read by :class:`~sdp_guard.daemon.readers.Readers`
(injectable), what is published is decided in :mod:`sdp_guard.daemon.state`, and the exposition
is built in :mod:`sdp_guard.daemon.exposition`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import selectors
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, Any

from sdp_guard import config as config_mod
from sdp_guard.adapters import inotify
from sdp_guard.adapters.heap import release_memory
from sdp_guard.adapters.metrics import MetricsServer, encode_document, is_loopback
from sdp_guard.core.diagnose import Report
from sdp_guard.core.findings import Finding, Severity
from sdp_guard.core.model import PbxConfig, Station, TailnetView
from sdp_guard.core.text import sanitize_text
from sdp_guard.daemon import logtext
from sdp_guard.daemon.bus import BusWatcher
from sdp_guard.daemon.coalesce import Pending
from sdp_guard.daemon.exposition import exposition
from sdp_guard.daemon.notify import Notifier
from sdp_guard.daemon.probes import Scheduler as ProbeScheduler
from sdp_guard.daemon.readers import REAL, Outcome, Readers, guard
from sdp_guard.daemon.state import (
    SOURCES,
    Counters,
    PublishedState,
    SourceStatus,
    build_state,
    diff_findings,
    diff_sources,
    iso,
    not_evaluated_document,
)
from sdp_guard.errors import ConfigError, Error

log = logging.getLogger(__name__)

DEFAULT_EVAL_TIMEOUT = 5.0
MAX_ABANDONED_READS = 2  # per source: a third stuck read is not started
# journald reads a "<N>" prefix on stderr lines as the priority (sd-daemon(3)).
PRIO_ERR, PRIO_WARNING, PRIO_NOTICE, PRIO_INFO = 3, 4, 5, 6


@dataclass(frozen=True)
class Settings:
    cfg: config_mod.Config
    lang: str
    listen: tuple[str, int] | None
    eval_timeout: float = DEFAULT_EVAL_TIMEOUT
    netns: str | None = None  # tests: watch netlink inside this network namespace
    watch_netlink: bool = True

    @property
    def db_path(self) -> str:
        return self.cfg.db_path

    @property
    def registry_path(self) -> str:
        return self.cfg.settings.registry_file

    @property
    def socket_path(self) -> str:
        return self.cfg.settings.tailscale_socket

    @property
    def interface(self) -> str:
        return self.cfg.settings.tailscale_interface

    @property
    def recheck_seconds(self) -> float:
        return float(self.cfg.settings.daemon_recheck_seconds)

    @property
    def auto_sync(self) -> str:
        return self.cfg.settings.daemon_auto_sync


# After an evaluation over at least this many providers, stations and peers, freed memory is
# handed back to the OS (a full garbage collection: a few ms, not worth it on small inputs).
RELEASE_FROM = 1000


def _records(views: dict[str, Any]) -> int:
    pbx, stations, view = (views.get(n) for n in ("mikopbx", "registry", "tailscale"))
    return (
        (len(pbx.providers) if isinstance(pbx, PbxConfig) else 0)
        + (len(stations) if isinstance(stations, tuple) else 0)
        + (len(view.peers) if isinstance(view, TailnetView) else 0)
    )


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        stream: IO[str] | None = None,
        notifier: Notifier | None = None,
        reload: Callable[[], Settings] | None = None,
        readers: Readers = REAL,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._stream = stream if stream is not None else sys.stderr
        self._journal = stream is None and bool(os.environ.get("JOURNAL_STREAM"))
        self.notifier = notifier if notifier is not None else Notifier()
        self._reload_fn = reload
        self._readers = readers
        self._clock = clock
        self._wall = wall
        started = wall()
        self.snapshot = PublishedState(
            started_at=started,
            recheck_seconds=settings.recheck_seconds,
            document_gz=not_evaluated_document(started, settings.lang),
        )
        self._pending = Pending()
        self._counters = Counters()
        self._inbox: deque[tuple[str, str]] = deque()
        self._stop_reason: str | None = None
        self._reload_requested = False
        self._ready = False
        self._views: dict[str, Any] = {}
        self._details: dict[str, str] = {}
        self._own_mantela: Any = None
        self._statuses: dict[str, SourceStatus] = {s: SourceStatus(s) for s in SOURCES}
        self._findings: tuple[Finding, ...] = ()
        self._had_complete = False
        # Reads that missed their evaluation's deadline: abandoned (never waited on again), each
        # counted until its thread returns, so stuck reads cannot pile up without bound.
        self._abandoned: dict[str, set[concurrent.futures.Future[Outcome]]] = {}
        self._executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="read")
        self._next_recheck = 0.0
        self._probes = ProbeScheduler(lambda: self._post("probe", ""), clock=clock, wall=wall)
        self._next_watchdog: float | None = None
        self._netlink: Any = None
        self._netlink_dirty = True
        self._net_state: Any = None
        self._inotify: inotify.Inotify | None = None
        self._watch_warned: set[str] = set()
        self._bus: BusWatcher | None = None
        self._http: MetricsServer[PublishedState] | None = None
        self._sel: selectors.BaseSelector | None = None
        self._wake_r = self._wake_w = -1
        self._sync_attempted: str | None = None
        self._sync_report: Report | None = None  # the last evaluation's, for the auto-sync
        self._signals_installed = False
        self.started = threading.Event()  # set once the listener and watchers are up
        self.iterations = 0  # loop wake-ups (tests: the loop never spins)

    # ---- thread-safe entry points -------------------------------------------------------

    def request_stop(self, reason: str = "request") -> None:
        self._stop_reason = self._stop_reason or reason
        self._wake()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._wake()

    def _post(self, kind: str, detail: str) -> None:
        self._inbox.append((kind, detail))
        self._wake()

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    @property
    def url(self) -> str | None:
        return self._http.url if self._http is not None else None

    # ---- output ---------------------------------------------------------------------------

    def _say(self, prio: int, line: str) -> None:
        prefix = f"<{prio}>" if self._journal else ""
        line = sanitize_text(line)  # names and errors from outside cannot forge journal lines
        try:
            self._stream.write(f"{prefix}sdp-guard: {line}\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def _t(self, key: str, **kw: object) -> str:
        return logtext.text(self.settings.lang, key, **kw)

    # ---- setup and teardown ---------------------------------------------------------------

    def _setup(self, install_signals: bool) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._wake_r, selectors.EVENT_READ, self._on_wake)
        if install_signals:
            self._signals_installed = True
            signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGHUP, self._on_signal)
        self._start_http()
        self._start_inotify()
        self._start_netlink()
        self._start_bus()
        self._next_watchdog = self._clock() if self.notifier.watchdog_interval is not None else None

    def _start_http(self) -> None:
        listen = self.settings.listen
        if listen is None:
            return
        try:
            self._http = MetricsServer(listen, lambda: self.snapshot, exposition)
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {listen[0]}:{listen[1]}: {e.strerror or e}",
                "another process holds the port? set daemon.listen in the configuration "
                "or pass --listen ADDR:PORT",
            ) from None
        self._http.start()
        self._say(PRIO_INFO, self._t("listening", listen=self._http.url.removeprefix("http://")))
        if not is_loopback(listen[0]):
            self._say(PRIO_WARNING, self._t("listen_exposed", listen=listen[0] or "*"))

    def _start_inotify(self) -> None:
        try:
            self._inotify = inotify.Inotify()
        except OSError as e:
            self._say(PRIO_WARNING, self._t("watch_failed", path="(inotify)", error=e.strerror))
            return
        assert self._sel is not None
        self._sel.register(self._inotify.fileno(), selectors.EVENT_READ, self._on_inotify)
        self._ensure_watches()

    def _watch_dirs(self) -> set[str]:
        return {
            os.path.dirname(os.path.abspath(self.settings.db_path)),
            os.path.dirname(os.path.abspath(self.settings.registry_path)),
        }

    def _ensure_watches(self) -> None:
        if self._inotify is None:
            return
        have = set(self._inotify.directories)
        for d in sorted(self._watch_dirs() - have):
            try:
                self._inotify.watch(d)
                self._watch_warned.discard(d)
            except OSError as e:
                if d not in self._watch_warned:
                    self._watch_warned.add(d)
                    self._say(PRIO_WARNING, self._t("watch_failed", path=d, error=e.strerror))

    def _start_netlink(self) -> None:
        if not self.settings.watch_netlink:
            return
        try:
            from sdp_guard.adapters.netlink import NetlinkWatch

            self._netlink = NetlinkWatch(self.settings.interface, netns=self.settings.netns)
        except (OSError, ImportError) as e:
            self._say(
                PRIO_WARNING,
                self._t("netlink_off", interface=self.settings.interface, error=e),
            )
            self._netlink = None
            return
        assert self._sel is not None
        self._sel.register(self._netlink.fileno(), selectors.EVENT_READ, self._on_netlink)

    def _start_bus(self) -> None:
        self._bus = BusWatcher(
            self.settings.socket_path,
            lambda kind: self._post("bus", kind),
            connect_timeout=self.settings.eval_timeout,
        )
        self._bus.start()

    def _teardown(self) -> None:
        if self._bus is not None:
            self._bus.stop()
        if self._http is not None:
            self._http.stop()
        if self._netlink is not None:
            with contextlib.suppress(Exception):
                self._netlink.close()
        if self._inotify is not None:
            self._inotify.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._probes.close()
        if self._sel is not None:
            self._sel.close()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        self.notifier.close()

    # ---- wake-up handlers -----------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._counters.wakeups["signal"] += 1
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_reason = self._stop_reason or signal.Signals(signum).name

    def _on_wake(self) -> None:
        stop = (signal.SIGTERM, signal.SIGINT) if self._signals_installed else ()
        with contextlib.suppress(OSError):
            while chunk := os.read(self._wake_r, 4096):
                # The wakeup fd gets every signal's number whatever Python handler ran: a
                # SIGTERM the sync engine held back while rolling back is honoured here.
                for signum in stop:
                    if bytes([signum]) in chunk:
                        self._stop_reason = self._stop_reason or signal.Signals(signum).name
        now = self._clock()
        while self._inbox:
            kind, detail = self._inbox.popleft()
            if kind == "bus":
                self._counters.wakeups["bus"] += 1
                self._pending.add(now, "tailscale")
            elif kind == "late":
                self._counters.wakeups["late-read"] += 1
                self._pending.add(now, detail)
            elif kind == "probe":
                self._publish_probes()

    def _on_inotify(self) -> None:
        assert self._inotify is not None
        db = os.path.abspath(self.settings.db_path)
        reg = os.path.abspath(self.settings.registry_path)
        woke: set[str] = set()
        for ev in self._inotify.read():
            woke |= classify(ev, db, reg)
        if woke:
            self._counters.wakeups["inotify"] += 1
            self._pending.add(self._clock(), *woke)

    def _on_netlink(self) -> None:
        try:
            relevant = self._netlink.drain()
        except OSError as e:
            log.debug("netlink: %s", e)
            relevant = True
        if relevant:
            self._counters.wakeups["netlink"] += 1
            self._netlink_dirty = True
            self._pending.add(self._clock(), "tailscale")

    # ---- main loop ------------------------------------------------------------------------

    def run(self, *, install_signals: bool = True) -> int:
        try:
            self._setup(install_signals)
            self._pending.add(self._clock(), *SOURCES)
            self.started.set()
            while self._stop_reason is None:
                assert self._sel is not None
                for key, _mask in self._sel.select(self._timeout()):
                    key.data()
                self.iterations += 1
                if self._stop_reason is not None:
                    break
                if self._reload_requested:
                    self._reload()
                now = self._clock()
                if self._ready and now >= self._next_recheck:
                    self._counters.wakeups["recheck"] += 1
                    self._pending.add(now, *SOURCES)
                    # Not due again until after this evaluation (which sets the next one):
                    # a past deadline would make select() return at once until then.
                    self._next_recheck = now + self.settings.recheck_seconds
                due = self._pending.take(now)
                if due is not None:
                    self._evaluate(due)
                    self._settle()  # after _evaluate's locals (the inputs it read) are gone
                    # After the new snapshot is served: a sync's writes and verification take
                    # seconds, and /findings must not wait for them.
                    report, self._sync_report = self._sync_report, None
                    if report is not None and self._stop_reason is None:
                        self._auto_sync(report)
                self._watchdog()
            self.notifier.stopping()
            self._say(PRIO_INFO, self._t("stopping", signal=self._stop_reason))
            return 0
        finally:
            self.started.set()
            if install_signals:
                with contextlib.suppress(ValueError):
                    signal.set_wakeup_fd(-1)
            self._teardown()

    def _timeout(self) -> float | None:
        now = self._clock()
        deadlines = [d for d in (self._pending.due(), self._next_watchdog) if d is not None]
        if self._ready:
            deadlines.append(self._next_recheck)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is None or self._next_watchdog is None:
            return
        now = self._clock()
        if now >= self._next_watchdog:
            self.notifier.watchdog()
            self._next_watchdog = now + interval

    def _reload(self) -> None:
        self._reload_requested = False
        if self._reload_fn is None:
            return
        try:
            new = self._reload_fn()
        except Error as e:
            self._say(PRIO_ERR, self._t("reload_failed", error=e.message))
            return
        except Exception as e:  # whatever the file holds, the running configuration stays
            self._say(PRIO_ERR, self._t("reload_failed", error=f"{type(e).__name__}: {e}"))
            return
        old = self.settings
        self.settings = replace(new, listen=old.listen, netns=old.netns)
        self._say(PRIO_INFO, self._t("reloaded", path=new.cfg.path or "defaults"))
        if self._inotify is not None:
            self._inotify.unwatch_all()
            self._ensure_watches()
        if new.interface != old.interface and self._netlink is not None:
            self._netlink.interface = new.interface
            self._netlink_dirty = True
        if new.socket_path != old.socket_path and self._bus is not None:
            self._bus.stop()
            self._start_bus()
        self._pending.add(self._clock(), *SOURCES)

    # ---- evaluation -----------------------------------------------------------------------

    def _read(self, name: str, fn: Callable[[], Outcome]) -> concurrent.futures.Future[Outcome]:
        stuck = len(self._abandoned.get(name, ()))
        if stuck >= MAX_ABANDONED_READS:
            done: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
            done.set_result(Outcome(False, error=f"{stuck} earlier reads have not returned yet"))
            return done
        return self._executor.submit(guard, fn)

    def _collect(
        self, futs: dict[str, concurrent.futures.Future[Outcome]], deadline: float
    ) -> dict[str, Outcome]:
        concurrent.futures.wait(list(futs.values()), timeout=max(0.0, deadline - self._clock()))
        out: dict[str, Outcome] = {}
        for name, fut in futs.items():
            if fut.done():
                out[name] = fut.result()
                continue
            timeout = self.settings.eval_timeout
            out[name] = Outcome(False, error=f"no answer within {timeout:g} s")
            # Abandoned: the next evaluation starts a fresh read instead of waiting on this one.
            self._abandoned.setdefault(name, set()).add(fut)
            fut.add_done_callback(functools.partial(self._late_done, name))
        return out

    def _late_done(self, name: str, fut: concurrent.futures.Future[Outcome]) -> None:
        self._abandoned.get(name, set()).discard(fut)
        # Its answer is stale by now; a source that answers again is worth a fresh read.
        if not fut.cancelled() and fut.result().ok:
            self._post("late", name)

    def _evaluate(self, due: frozenset[str]) -> None:
        t0 = self._clock()
        s = self.settings
        cfg = s.cfg
        rd = self._readers
        phase1: dict[str, concurrent.futures.Future[Outcome]] = {}
        if "registry" in due or "registry" not in self._views:
            phase1["registry"] = self._read("registry", lambda: rd.registry(cfg))
        if "mikopbx" in due or "mikopbx" not in self._views:
            phase1["mikopbx"] = self._read("mikopbx", lambda: rd.mikopbx(s.db_path))
        results = self._collect(phase1, t0 + s.eval_timeout)
        for name, oc in results.items():
            self._record(name, oc)
        pbx: PbxConfig = self._views.get("mikopbx") or PbxConfig()
        stations: tuple[Station, ...] = self._views.get("registry") or ()
        sock = s.socket_path
        fut = self._read("tailscale", lambda: rd.tailscale(sock, pbx, stations, s.eval_timeout))
        for name, oc in self._collect({"tailscale": fut}, self._clock() + s.eval_timeout).items():
            self._record(name, oc)
        self._ensure_watches()
        self._refresh_netlink()
        self._publish(t0)

    def _settle(self) -> None:
        """After a large evaluation, hand its garbage back to the OS (its peak is about twice
        what is kept; bench/memory.py)."""
        if _records(self._views) >= RELEASE_FROM:
            release_memory()

    def _record(self, name: str, oc: Outcome) -> None:
        old = self._statuses[name]
        now = self._wall()
        if oc.ok:
            self._views[name] = oc.value
            self._details[name] = oc.detail
            if name == "registry":
                self._own_mantela = oc.own_mantela
            self._statuses[name] = SourceStatus(
                name,
                up=True,
                detail=oc.detail,
                since=old.since if old.up else now,
                last_success=now,
                has_view=True,
            )
        else:
            self._statuses[name] = SourceStatus(
                name,
                up=False,
                detail=self._details.get(name, ""),
                error=oc.error,
                since=now if old.up or not old.since else old.since,
                last_success=old.last_success,
                has_view=name in self._views,
            )

    def _refresh_netlink(self) -> None:
        if self._netlink is None or not self._netlink_dirty:
            return
        try:
            self._net_state = self._netlink.dump()
            self._netlink_dirty = False
        except Exception as e:  # a dump can be interrupted; try again next time
            log.debug("netlink dump: %s", e)

    def _publish(self, t0: float) -> None:
        prev = self.snapshot
        before = {st.name: st.up for st in prev.sources} if prev.evaluations else {}
        sources = tuple(self._statuses[n] for n in SOURCES)
        # Lines are said after the new state is in place: whoever reacts to a line (an operator,
        # a test, an alert) and then scrapes sees what the line says.
        lines: list[tuple[int, str]] = []
        for name, up in diff_sources(before, {st.name: st.up for st in sources}):
            st = self._statuses[name]
            if up:
                lines.append((PRIO_NOTICE, self._t("up", source=name, detail=st.detail)))
            elif st.has_view:
                when = st.last_success and self._t("down_since", when=iso(st.last_success))
                lines.append(
                    (PRIO_WARNING, self._t("down", source=name, error=st.error, since=when or ""))
                )
            else:
                lines.append((PRIO_WARNING, self._t("down_none", source=name, error=st.error)))

        published = build_state(
            prev,
            self._views,
            sources=sources,
            kept_findings=self._findings,
            counters=self._counters,
            probes=self._probes.rows(),
            own_mantela=self._own_mantela,
            net=self._net_state,
            netlink_watched=self._netlink is not None,
            lang=self.settings.lang,
            recheck_seconds=self.settings.recheck_seconds,
            evaluated_at=self._wall(),
            duration=0.0,
        )
        report = published.report
        # The duration includes the diagnosis and the document built just now.
        snap = replace(published.state, duration=self._clock() - t0)
        if report is not None:
            for t in diff_findings(self._findings, report.findings):
                prio = PRIO_NOTICE if t.kind == "cleared" else _prio(t.finding)
                lines.append((prio, logtext.transition_line(t, self.settings.lang)))
            self._findings = report.findings
            self._had_complete = True
            self._sync_report = report  # the auto-sync runs after this state is served
        self.snapshot = snap
        for prio, line in lines:
            self._say(prio, line)
        if report is not None:
            self._probe(report)  # after the state is in place: a probe's end republishes it
        self._next_recheck = self._clock() + self.settings.recheck_seconds
        if not self._ready:
            self._ready = True
            self.notifier.ready(snap.summary)
            self._say(PRIO_INFO, self._t("ready", summary=snap.summary))
        else:
            self.notifier.status(snap.summary)

    # ---- scheduled probe calls ------------------------------------------------------------

    def _probe(self, report: Report) -> None:
        if not all(self._statuses[n].up for n in SOURCES):
            return  # never call on a stale view
        cfg = self.settings.cfg
        self._probes.consider(
            cfg.settings.probe_schedule_minutes,
            cfg.settings.probe_echo_number,
            report,
            self._views["mikopbx"],
            self._views["tailscale"],
            self.settings.db_path,
        )

    def _publish_probes(self) -> None:
        """A probe call ended: publish it now, not at the next evaluation."""
        rows = self._probes.rows()
        doc = json.loads(self.snapshot.document)
        if isinstance(doc, dict) and "findings" in doc and doc.get("status") != "unknown":
            doc["probes"] = [r.doc() for r in rows]
            self.snapshot = replace(self.snapshot, probes=rows, document_gz=encode_document(doc))
        else:
            self.snapshot = replace(self.snapshot, probes=rows)

    # ---- automatic host sync --------------------------------------------------------------

    def _auto_sync(self, report: Report) -> None:
        if self.settings.auto_sync != "hosts":
            return
        if not all(self._statuses[n].up for n in SOURCES):
            return  # never act on a stale view
        from sdp_guard.daemon import autosync

        plan = autosync.host_plan(self._views["mikopbx"], report)
        if plan.is_empty:
            self._sync_attempted = None
            return
        key = json.dumps([c.to_dict() for c in plan.changes], sort_keys=True)
        if key == self._sync_attempted:
            return  # this plan already ran: wait until the inputs change
        self._sync_attempted = key
        providers = ", ".join(plan.provider_ids)
        text = "; ".join(
            f"{c.provider} {c.field}: {_v(c.old)} -> {_v(c.new)}" for c in plan.changes
        )
        if threading.current_thread() is not threading.main_thread():
            self._counters.syncs["unavailable"] += 1
            self._say(PRIO_WARNING, self._t("sync_failed", error="not on the main thread"))
            return
        try:
            res = autosync.apply(
                self.settings.cfg,
                plan,
                lambda m: log.info("auto-sync: %s", m),
                warn=lambda m: self._say(PRIO_WARNING, f"auto-sync: {m}"),
                lang=self.settings.lang,
            )
        except Error as e:
            self._counters.syncs["failed"] += 1
            self._say(PRIO_ERR, self._t("sync_failed", error=e.message))
            return
        finally:
            self._restore_signals()
        if res.interrupted:
            self._stop_reason = self._stop_reason or "SIGTERM"
        if not res.ok:
            self._counters.syncs["failed"] += 1
            self._say(PRIO_ERR, self._t("sync_failed", error=res.error))
            return
        self._counters.syncs["applied"] += 1
        self._say(PRIO_NOTICE, self._t("sync_applied", providers=providers, plan=text))
        self._pending.add(self._clock(), "mikopbx")

    def _restore_signals(self) -> None:
        if self._signals_installed:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)


def _v(value: object) -> str:
    return ", ".join(value) if isinstance(value, tuple) else str(value)


DB_CONTENT = inotify.IN_MODIFY
DB_REPLACED = inotify.IN_MOVED_TO | inotify.IN_MOVED_FROM | inotify.IN_CREATE | inotify.IN_DELETE
REGISTRY_CHANGED = (
    inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO | inotify.IN_MOVED_FROM | inotify.IN_DELETE
)


def classify(ev: inotify.Event, db_path: str, registry_path: str) -> frozenset[str]:
    """Pure: which sources an inotify event concerns.

    The DB counts only as *written* (IN_MODIFY on the DB, its ``-wal`` or ``-journal``) or
    *replaced* (the DB file itself created, moved or deleted). Our own read-only reads create the
    ``-wal``/``-shm`` files and close them (IN_CREATE, IN_CLOSE_WRITE), so those must not count,
    or every read would wake the next one. The registry counts when a write closes or a new file
    is renamed over it (editors), not on every partial write.
    """
    if ev.overflow or ev.directory_gone:
        return frozenset(("mikopbx", "registry"))
    out: set[str] = set()
    db_dir, db_name = os.path.split(db_path)
    reg_dir, reg_name = os.path.split(registry_path)
    written = ev.name in (db_name, db_name + "-wal", db_name + "-journal") and ev.mask & DB_CONTENT
    replaced = ev.name == db_name and ev.mask & DB_REPLACED
    if ev.directory == db_dir and (written or replaced):
        out.add("mikopbx")
    if ev.directory == reg_dir and ev.name == reg_name and ev.mask & REGISTRY_CHANGED:
        out.add("registry")
    return frozenset(out)


def _prio(f: Finding) -> int:
    return {Severity.CRITICAL: PRIO_ERR, Severity.WARNING: PRIO_WARNING}.get(
        f.severity, PRIO_NOTICE
    )
