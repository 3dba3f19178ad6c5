"""The long-running ``sdp-guard daemon``: event-driven re-evaluation, metrics, transition logs.

Layers (imports only go downwards):

    loop.Daemon           select() loop: wake-ups, coalescing, bounded evaluations, publishing
    ├── bus.BusWatcher    one long-lived watch-ipn-bus stream (thread), re-subscribed with backoff
    ├── adapters.netlink  tailscale0 addresses and table-52 routes
    ├── adapters.inotify  the DB directory (WAL files) and the registry file
    ├── adapters.metrics  /metrics, /findings, / over the last published Snapshot
    ├── notify            sd_notify (READY, WATCHDOG, STATUS)
    └── state, coalesce, logtext   pure: snapshot, transition diffing, burst coalescing, log lines
"""
