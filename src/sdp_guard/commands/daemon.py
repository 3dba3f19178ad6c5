"""Watch this station continuously; log every change; serve Prometheus metrics and /findings.

Runs the same diagnosis as `sdp-guard check` whenever an input changes, and only then:
tailscaled's IPN bus (one long-lived watch-ipn-bus stream), netlink on the tailnet interface
(our addresses, table-52 peer routes), inotify on the MikoPBX DB directory and the registry
file, SIGHUP (reload the configuration), and a slow safety re-check (daemon.recheck_seconds).

It logs transitions only, one line each on stderr (journald): a finding appears, changes or
clears; an input goes down or comes back. While an input is down its last good view is kept,
so an outage never clears a finding nor invents one.

Listener (default 127.0.0.1:8796, outside Prometheus' exporter range 9100-9999):
  /metrics    Prometheus exposition (sdp_guard_*; docs/daemon.md)
  /findings   the findings document of the last evaluation (docs/findings-json.md)
  /           a landing page

Under systemd (Type=notify) it sends READY=1 after the first evaluation, WATCHDOG=1 and a
STATUS= line; without NOTIFY_SOCKET that is a no-op. See docs/daemon.md for the unit file.

exit codes: 0 stopped by SIGTERM/SIGINT; 78 (EX_CONFIG) bad configuration or the listener
cannot bind; 64 (EX_USAGE) bad options.

examples:
  sdp-guard daemon
  sdp-guard daemon --listen 127.0.0.1:8796 --config /etc/sdp-guard/config.yaml
  curl -s http://127.0.0.1:8796/metrics | grep sdp_guard_findings
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sdp_guard.commands._inputs import add_input_options, load_config, pick_lang
from sdp_guard.errors import ConfigError

if TYPE_CHECKING:
    from sdp_guard.daemon.loop import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_options(p, snapshot=False)
    d = p.add_argument_group("daemon")
    d.add_argument(
        "--listen",
        metavar="ADDR:PORT",
        help="metrics and /findings listener (default daemon.listen, 127.0.0.1:8796); "
        "'off' disables it",
    )
    d.add_argument("--interface", metavar="NAME", help="tailnet interface (default tailscale0)")
    d.add_argument(
        "--recheck-seconds",
        metavar="N",
        type=_bounded(1, 86400 * 7, int),
        help="safety re-check interval (default 60)",
    )
    d.add_argument(
        "--eval-timeout",
        metavar="SECONDS",
        type=_bounded(0.05, 600, float),
        default=5.0,
        help="deadline for reading each input in one evaluation (default 5)",
    )
    d.add_argument("--no-netlink", action="store_true", help="do not watch netlink")


def _bounded(low: float, high: float, kind: type[int] | type[float]) -> Any:
    """An argparse type: a finite number within [low, high] (not inf, nan, -1 or 1e12)."""

    def parse(text: str) -> int | float:
        try:
            v = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= v <= high:  # also false for nan
            raise argparse.ArgumentTypeError(f"expected {low:g} to {high:g}, got {text!r}")
        return v

    return parse


def settings(args: argparse.Namespace) -> Settings:
    from sdp_guard.adapters.metrics import parse_listen
    from sdp_guard.daemon.loop import Settings

    cfg = load_config(args).with_overrides(
        {
            "daemon.listen": args.listen,
            "tailscale.interface": args.interface,
            "daemon.recheck_seconds": args.recheck_seconds,
        }
    )
    listen_text = cfg.settings.daemon_listen
    listen = None
    if listen_text != "off":
        try:
            listen = parse_listen(listen_text)
        except ValueError as e:
            raise ConfigError(f"daemon.listen: {e}", "use ADDR:PORT, e.g. 127.0.0.1:8796") from None
    if args.eval_timeout <= 0:
        raise ConfigError("--eval-timeout must be positive")
    return Settings(
        cfg=cfg,
        lang=pick_lang(cfg),
        listen=listen,
        eval_timeout=args.eval_timeout,
        watch_netlink=not args.no_netlink,
    )


def run(args: argparse.Namespace) -> int:
    from sdp_guard.daemon.loop import Daemon

    return Daemon(settings(args), reload=lambda: settings(args)).run()
