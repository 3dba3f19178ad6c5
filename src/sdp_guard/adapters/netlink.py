"""rtnetlink on the tailnet interface: our own addresses and the per-peer routes in table 52.

Imported only by the daemon (pyroute2 is not loaded by ``check``). What tailscaled does here
(design/tailscale.md §6): one /32 and one /128 on ``tailscale0`` (RTM_NEWADDR/RTM_DELADDR when we
are renumbered, logged in or out), and one /32 per peer in routing table 52 (RTM_NEWROUTE/
RTM_DELROUTE when a peer appears, goes, or is renumbered *in our view*). The masquerade never
shows here, so netlink only tells the daemon *when* to ask the LocalAPI again.

Events come from a plain non-blocking ``AF_NETLINK`` socket bound to the address, route and link
multicast groups (no capability needed: rtnetlink allows non-root receivers), parsed with
pyroute2's marshal, so the daemon can ``select()`` on it. Dumps use pyroute2's ``IPRoute``.

``netns`` (tests) opens both inside a named network namespace (``/run/netns/NAME``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

TABLE = 52  # tailscaled's routing table (router_linux.go)

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
GROUPS = (
    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
)
NETLINK_ROUTE = 0
CLONE_NEWNET = 0x40000000

T = TypeVar("T")


@dataclass(frozen=True)
class NetMessage:
    """The fields of one rtnetlink message that decide whether it concerns us."""

    event: str  # RTM_NEWADDR, RTM_DELROUTE, RTM_NEWLINK, ...
    index: int | None = None  # ifaddrmsg index / RTA_OIF / ifinfomsg index
    ifname: str | None = None  # IFLA_IFNAME (links)
    table: int | None = None  # RTA_TABLE or rtm_table (routes)
    dst_len: int | None = None


@dataclass(frozen=True)
class NetState:
    """The interface as a dump shows it. ``present`` False: no such interface (yet)."""

    present: bool
    addresses: tuple[str, ...] = ()  # "100.101.1.1/32", "fd7a:…/128"
    routes: tuple[str, ...] = ()  # table-52 host routes: "100.102.2.2/32"


def is_relevant(msg: NetMessage, interface: str, ifindex: int | None) -> bool:
    """Pure: does this message change our addresses, our peers' routes or the interface?"""
    if msg.event in ("RTM_NEWLINK", "RTM_DELLINK"):
        return msg.ifname == interface or (ifindex is not None and msg.index == ifindex)
    if msg.event in ("RTM_NEWADDR", "RTM_DELADDR"):
        return ifindex is not None and msg.index == ifindex
    if msg.event in ("RTM_NEWROUTE", "RTM_DELROUTE"):
        return msg.table == TABLE and msg.dst_len in (32, 128)
    return False


def _in_netns(netns: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread that joined network namespace ``netns`` (sockets stay there)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns {netns}: {os.strerror(e)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:  # handed to the caller
            box["error"] = e

    t = threading.Thread(target=run, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _monitor_socket() -> socket.socket:
    s = socket.socket(
        socket.AF_NETLINK,
        socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
        NETLINK_ROUTE,
    )
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((0, GROUPS))
    return s


class NetlinkWatch:
    """Watch ``interface``; ``fileno()`` for select, ``drain()`` after it is readable, ``dump()``."""

    def __init__(self, interface: str = "tailscale0", netns: str | None = None) -> None:
        from pyroute2 import IPRoute
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl

        self.interface = interface
        self.netns = netns
        self._sock = _in_netns(netns, _monitor_socket) if netns else _monitor_socket()
        self._marshal = MarshalRtnl()
        self._ipr = IPRoute(netns=netns) if netns else IPRoute()
        self.ifindex: int | None = None
        self.overflowed = False
        self._lookup()

    def fileno(self) -> int:
        return self._sock.fileno()

    def _lookup(self) -> None:
        found = self._ipr.link_lookup(ifname=self.interface)
        self.ifindex = int(found[0]) if found else None

    def drain(self) -> bool:
        """Read every pending message; True if any concerns the interface or table 52."""
        relevant = False
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError as e:  # ENOBUFS: we missed messages, so assume a change
                self.overflowed = True
                relevant = True
                if e.errno is None:
                    break
                continue
            if not data:
                break
            for m in self._marshal.parse(data):
                msg = _to_message(m)
                if msg.event in ("RTM_NEWLINK", "RTM_DELLINK") and msg.ifname == self.interface:
                    self.ifindex = msg.index if msg.event == "RTM_NEWLINK" else None
                if is_relevant(msg, self.interface, self.ifindex):
                    relevant = True
        return relevant

    def dump(self) -> NetState:
        self._lookup()
        if self.ifindex is None:
            return NetState(present=False)
        addrs = []
        for a in self._ipr.addr("dump", index=self.ifindex):
            addrs.append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
        routes = []
        for family in (socket.AF_INET, socket.AF_INET6):
            for r in self._ipr.route("dump", table=TABLE, family=family):
                dst = r.get_attr("RTA_DST")
                if dst and r["dst_len"] in (32, 128):
                    routes.append(f"{dst}/{r['dst_len']}")
        return NetState(True, tuple(sorted(addrs)), tuple(sorted(routes)))

    def close(self) -> None:
        self._sock.close()
        self._ipr.close()


def _to_message(m: Any) -> NetMessage:
    event = str(m.get("event") or "")
    if event.endswith("LINK"):
        return NetMessage(event, index=m.get("index"), ifname=m.get_attr("IFLA_IFNAME"))
    if event.endswith("ADDR"):
        return NetMessage(event, index=m.get("index"))
    if event.endswith("ROUTE"):
        table = m.get_attr("RTA_TABLE")
        return NetMessage(
            event,
            index=m.get_attr("RTA_OIF"),
            table=int(table if table is not None else m.get("table") or 0),
            dst_len=m.get("dst_len"),
        )
    return NetMessage(event)
