"""Network namespaces emulating two (or three) stations joined by a Tailscale tailnet.

Topology (every interface lives inside a namespace this module creates; nothing touches the
host's own interfaces, so no packet can leave):

    A (100.101.1.1/32)            --veth-- ROUTER --veth-- B (100.102.2.2/32)
                                             |
                                           veth-- C (100.103.3.3/32)

* Transit links are link-local /30s; each station routes 100.64.0.0/10 into the router with its
  /32 as source, as tailscaled does with table 52.
* The router plays the tailnets. Each station's packets may only reach the addresses that exist
  in *that station's* tailnet (a `raw`-priority prerouting chain, before conntrack and DNAT, drops
  the rest and counts them): in B's tailnet A's own address belongs to nobody (or to another node).
* Masquerade on: the router does what A's tailscaled does (design/tailscale.md §1): per-peer 1:1
  NAT toward B only, source 100.101.1.1 -> 100.102.9.9, destination 100.102.9.9 -> 100.101.1.1.
  Pure L3/L4, no ALG: SIP and SDP bodies are not touched.
* Each station counts the RTP that reaches its media port with an nftables named counter.

A fresh set of namespaces per scenario also means a fresh conntrack table (NAT bindings never
leak from one scenario into the next).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

PREFIX = "sdpg-e2e-"
CMD_TIMEOUT = 10.0

A_SELF = "100.101.1.1"  # A's own (advertised) address, in its owner's tailnet
A_MASQ = "100.102.9.9"  # the address B's tailnet knows A by
B_SELF = "100.102.2.2"
C_SELF = "100.103.3.3"
TAILNET = "100.64.0.0/10"

# Media ports the stations put in SDP (and count arriving RTP on).
RTP_PORT = {"a": 16000, "b": 17000, "c": 18000}
SIP_PORT = 5060


class LabError(RuntimeError):
    pass


def run(argv: Sequence[str], *, input_text: str | None = None, check: bool = True) -> str:
    """Run a command (argument list, never a shell) with a bound; return stdout."""
    try:
        cp = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=CMD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {CMD_TIMEOUT}s: {' '.join(argv)}") from e
    if check and cp.returncode != 0:
        raise LabError(f"{' '.join(argv)} exited {cp.returncode}: {cp.stderr.strip()}")
    return cp.stdout


def netns_names() -> list[str]:
    out = run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def reap_stale_namespaces() -> None:
    """Delete namespaces left by an earlier run that was killed (its pid no longer exists)."""
    pat = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")
    for name in netns_names():
        m = pat.match(name)
        if m and not _pid_alive(int(m.group(1))):
            run(["ip", "netns", "delete", name], check=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------------------------
# Cleanup that also runs on interrupt: every namespace and background process is registered here.


class _Janitor:
    def __init__(self) -> None:
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.namespaces: list[str] = []
        self._installed = False
        self._old_sigterm: Callable[[int, FrameType | None], Any] | int | None = None

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        atexit.register(self.cleanup)
        # SIGTERM (CI cancel, `timeout`) becomes an exception, so fixture finalizers run.
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)

    def uninstall(self) -> None:
        """Clean up and give SIGTERM back its previous meaning (end of the e2e session)."""
        self.cleanup()
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        self._installed = False

    def kill_procs(self) -> None:
        for pid, p in list(self.procs.items()):
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)  # its own session: only what we started
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=5)
            self.procs.pop(pid, None)

    def cleanup(self) -> None:
        self.kill_procs()
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "delete", ns], check=False)
        self.namespaces.clear()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


JANITOR = _Janitor()


def spawn(ns: str, argv: Sequence[str], *, stdout: int | None = None) -> subprocess.Popen[bytes]:
    """Start a background process inside a namespace, in its own session, tracked for cleanup."""
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, *argv],
        stdin=subprocess.DEVNULL,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    JANITOR.procs[p.pid] = p
    return p


def finish(p: subprocess.Popen[bytes], timeout: float) -> tuple[int, str]:
    """Wait (bounded) for a spawned process; kill it if it overstays. Returns (rc, stderr)."""
    if p.pid not in JANITOR.procs and p.returncode is not None:
        return p.returncode, ""  # already finished and collected
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate(timeout=5)
        JANITOR.procs.pop(p.pid, None)
        return -9, (err or b"").decode(errors="replace") + f"\n[killed after {timeout}s]"
    JANITOR.procs.pop(p.pid, None)
    return p.returncode, (err or b"").decode(errors="replace")


def wait_until(what: str, cond: Callable[[], bool], timeout: float, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise LabError(f"gave up after {timeout}s waiting for {what}")


# ---------------------------------------------------------------------------------------------
# The topology.


@dataclasses.dataclass(frozen=True)
class Tailnet:
    """What the router emulates, and what each LocalAPI must say (one source of truth).

    masquerade: A is shared into B's tailnet under A_MASQ and A's tailscaled NATs toward B.
        False: A has been renumbered in B's tailnet, B's tailnet knows A by A_SELF.
    taken_by: the advertised address A_SELF belongs to another node in B's tailnet (renumbering
        impossible); B's packets to it reach that node, never A.
    """

    masquerade: bool = True
    taken_by: str | None = None

    @property
    def a_seen_by_b(self) -> str:
        return A_MASQ if self.masquerade else A_SELF

    def reachable_from(self, station: str) -> set[str]:
        """Destinations that lead to a station, per source tailnet."""
        if station == "a":
            return {B_SELF, C_SELF}
        if station == "b":
            return {self.a_seen_by_b, C_SELF}
        return {A_SELF, B_SELF}


@dataclasses.dataclass
class Lab:
    tag: str
    net: Tailnet
    ns: dict[str, str]  # role -> namespace name (a, b, c, r)
    self_ip: dict[str, str]

    def exec(self, role: str, argv: Sequence[str], **kw: Any) -> str:
        return run(["ip", "netns", "exec", self.ns[role], *argv], **kw)

    def nft(self, role: str, ruleset: str) -> None:
        self.exec(role, ["nft", "-f", "-"], input_text=ruleset)

    def counter(self, role: str, name: str, table: str = "e2e") -> int:
        out = self.exec(role, ["nft", "list", "counter", "inet", table, name])
        m = re.search(r"packets (\d+) bytes", out)
        if not m:
            raise LabError(f"cannot read counter {name} in {role}: {out!r}")
        return int(m.group(1))

    def rtp_in(self, role: str) -> int:
        return self.counter(role, "rtp_in")

    def rtp_out(self, role: str) -> int:
        return self.counter(role, "rtp_out")

    def lost_in_tailnet(self) -> int:
        return self.counter("r", "lost")

    def reset_counters(self) -> None:
        for role in ("a", "b", "c", "r"):
            self.exec(role, ["nft", "reset", "counters", "table", "inet", "e2e"])

    def udp_listening(self, role: str, port: int) -> bool:
        out = self.exec(role, ["ss", "-Hlun", f"sport = :{port}"], check=False)
        return bool(out.strip())


def _station_rules(port: int) -> str:
    return f"""
table inet e2e {{
    counter rtp_in {{}}
    counter rtp_out {{}}
    chain inbound {{
        type filter hook input priority filter; policy accept;
        udp dport {port} counter name rtp_in
    }}
    chain outbound {{
        type filter hook output priority filter; policy accept;
        udp sport {port} counter name rtp_out
    }}
}}
"""


def _router_rules(net: Tailnet) -> str:
    views = []
    for role in ("a", "b", "c"):
        addrs = ", ".join(sorted(net.reachable_from(role)))
        views.append(f'        iifname "r-{role}" ip daddr != {{ {addrs} }} counter name lost drop')
    nat = ""
    if net.masquerade:
        # A's tailscaled, per peer: only traffic between A and B is rewritten.
        nat = f"""
table ip tsmasq {{
    chain pre {{
        type nat hook prerouting priority dstnat; policy accept;
        iifname "r-b" ip daddr {A_MASQ} dnat to {A_SELF}
    }}
    chain post {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "r-b" ip saddr {A_SELF} snat to {A_MASQ}
    }}
}}
"""
    return (
        """
table inet e2e {
    counter lost {}
    chain tailnet_view {
        type filter hook prerouting priority raw; policy accept;
"""
        + "\n".join(views)
        + """
    }
}
"""
        + nat
    )


def _sysctls(lab: Lab, role: str, forward: bool) -> None:
    settings = {
        "net.ipv4.conf.all.rp_filter": "0",
        "net.ipv4.conf.default.rp_filter": "0",
        "net.ipv4.ip_forward": "1" if forward else "0",
        "net.ipv6.conf.all.disable_ipv6": "1",
    }
    for k, v in settings.items():
        lab.exec(role, ["sysctl", "-q", "-w", f"{k}={v}"])


@contextlib.contextmanager
def build(net: Tailnet) -> Iterator[Lab]:
    """Create the namespaces for one scenario; always delete them again."""
    JANITOR.install()
    tag = f"{PREFIX}{os.getpid()}-{time.monotonic_ns() % 10**8}"
    ns = {role: f"{tag}-{role}" for role in ("a", "b", "c", "r")}
    lab = Lab(tag, net, ns, {"a": A_SELF, "b": B_SELF, "c": C_SELF})
    created: list[str] = []
    try:
        for name in ns.values():
            run(["ip", "netns", "add", name])
            created.append(name)
            JANITOR.namespaces.append(name)
        for role in ns:
            lab.exec(role, ["ip", "link", "set", "lo", "up"])
        _sysctls(lab, "r", forward=True)
        for i, role in enumerate(("a", "b", "c"), start=1):
            _sysctls(lab, role, forward=False)
            st, rt = f"169.254.{i}.1", f"169.254.{i}.2"
            # Both ends are created directly inside namespaces: nothing appears on the host.
            lab.exec(
                role,
                [
                    "ip", "link", "add", "transit", "type", "veth",
                    "peer", "name", f"r-{role}", "netns", ns["r"],
                ],
            )  # fmt: skip
            lab.exec(role, ["ip", "addr", "add", f"{st}/30", "dev", "transit"])
            lab.exec(role, ["ip", "link", "set", "transit", "up"])
            # The tailnet /32 (on tailscale0 in production; on lo here, as CI kernels may lack
            # the dummy driver: same semantics, a local address with no subnet).
            lab.exec(role, ["ip", "addr", "add", f"{lab.self_ip[role]}/32", "dev", "lo"])
            lab.exec(
                role,
                [
                    "ip",
                    "route",
                    "add",
                    TAILNET,
                    "via",
                    rt,
                    "dev",
                    "transit",
                    "src",
                    lab.self_ip[role],
                ],
            )
            lab.exec("r", ["ip", "addr", "add", f"{rt}/30", "dev", f"r-{role}"])
            lab.exec("r", ["ip", "link", "set", f"r-{role}", "up"])
            lab.exec("r", ["ip", "route", "add", f"{lab.self_ip[role]}/32", "via", st])
            lab.nft(role, _station_rules(RTP_PORT[role]))
        lab.nft("r", _router_rules(net))
        yield lab
    finally:
        JANITOR.kill_procs()
        for name in reversed(created):
            run(["ip", "netns", "delete", name], check=False)
            with contextlib.suppress(ValueError):
                JANITOR.namespaces.remove(name)
