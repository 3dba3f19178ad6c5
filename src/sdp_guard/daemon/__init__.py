"""The long-running ``sdp-guard daemon``: event-driven re-evaluation, metrics, transition logs.

loop.Daemon           select() loop: wake-ups, coalescing, bounded evaluations, publishing
├── readers.Readers   the three inputs (DB, registry, LocalAPI), injectable (tests: in memory)
├── state             pure: PublishedState and build_state, transition diffing, counters
├── exposition        the Prometheus exposition of a PublishedState
├── bus.BusWatcher    one long-lived watch-ipn-bus stream (thread), re-subscribed with backoff
├── adapters.netlink  tailscale0 addresses and table-52 routes
├── adapters.inotify  the DB directory (WAL files) and the registry file
├── adapters.metrics  the listener: /metrics, /findings, / over the last PublishedState
├── probes, autosync  scheduled probe calls; the automatic host sync
├── notify            sd_notify (READY, WATCHDOG, STATUS)
└── coalesce, logtext pure: burst coalescing, log lines
"""
