"""Real netlink: a network namespace with a TUN device named tailscale0 (root; CI runs as root).

The test changes what tailscaled would change there — our /32, the per-peer /32 routes in table
52 — and asserts the daemon notices within the second, through netlink alone (no bus message,
a 60 s re-check).
"""

from __future__ import annotations

import time
from typing import Any

from .conftest import Netns
from .harness import Station, problem, scrape, value, wait_until

PEER = "peer-address-differs-from-advertised"
KANDA_PROVIDER = "SIP-TRUNK-4F2A9C1E"


def test_addresses_and_table_52_routes_show_in_metrics(
    st: Station, start_daemon: Any, netns: Netns
) -> None:
    d = start_daemon(watch_netlink=True, netns=netns.name)
    m = scrape(d.url)
    assert value(m, "sdp_guard_tailnet_interface_present") == 1
    assert value(m, "sdp_guard_tailnet_peer_routes") == 0
    netns.ip("addr", "add", "100.70.10.2/32", "dev", "tailscale0")
    netns.ip("route", "add", "100.101.12.34/32", "dev", "tailscale0", "table", "52")
    netns.ip("route", "add", "100.88.201.5/32", "dev", "tailscale0", "table", "52")
    wait_until(lambda: value(scrape(d.url), "sdp_guard_tailnet_peer_routes") == 2, 1.0)
    assert value(scrape(d.url), "sdp_guard_tailnet_interface_addresses") >= 1  # type: ignore[operator]
    # A route in the main table is not a peer route and wakes nothing.
    before = value(scrape(d.url), "sdp_guard_wakeups_total", reason="netlink")
    netns.ip("route", "add", "100.99.0.1/32", "dev", "tailscale0")
    time.sleep(0.3)
    assert value(scrape(d.url), "sdp_guard_wakeups_total", reason="netlink") == before


def test_a_renumber_seen_only_by_netlink_appears_within_the_second(
    st: Station, start_daemon: Any, netns: Netns
) -> None:
    d = start_daemon(watch_netlink=True, netns=netns.name)
    netns.ip("route", "add", "100.101.12.34/32", "dev", "tailscale0", "table", "52")
    wait_until(lambda: value(scrape(d.url), "sdp_guard_tailnet_peer_routes") == 1, 1.0)
    # kanda is renumbered in our view; tailscaled swaps its table-52 route. No bus message.
    st.renumber("kanda-pbx", "100.101.99.99", bus=False)
    t0 = time.monotonic()
    netns.ip("route", "del", "100.101.12.34/32", "dev", "tailscale0", "table", "52")
    netns.ip("route", "add", "100.101.99.99/32", "dev", "tailscale0", "table", "52")
    wait_until(lambda: problem(scrape(d.url), KANDA_PROVIDER, PEER) == 1, 1.0)
    assert time.monotonic() - t0 < 1.0
    d.wait_line("finding appeared", PEER, "observed=100.101.99.99")


def test_interface_going_away_and_coming_back(st: Station, start_daemon: Any, netns: Netns) -> None:
    d = start_daemon(watch_netlink=True, netns=netns.name)
    netns.ip("link", "del", "tailscale0")  # tailscaled stopped
    wait_until(lambda: value(scrape(d.url), "sdp_guard_tailnet_interface_present") == 0, 1.0)
    netns.ip("tuntap", "add", "dev", "tailscale0", "mode", "tun")
    netns.ip("link", "set", "tailscale0", "up")
    netns.ip("addr", "add", "100.70.10.2/32", "dev", "tailscale0")
    wait_until(lambda: value(scrape(d.url), "sdp_guard_tailnet_interface_addresses") == 1, 1.0)
    assert value(scrape(d.url), "sdp_guard_tailnet_interface_present") == 1
