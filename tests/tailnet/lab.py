"""The real-tailnet lab behind `scripts/tailnet-lab`: real tailscaled nodes, each in its own network
namespace with a real TUN `tailscale0`, logged in to our control server (tailscale's testcontrol plus
an in-process DERP/STUN, tests/tailnet/go/control) which runs in a hub namespace. Nodes reach the
hub and each other over veth links routed by the hub; the hub has no route anywhere else, so all
traffic stays in the namespaces. The state of a lab is DIR/lab.json (namespaces and processes), so
separate invocations (up, masquerade, set-ip, status, down) share it.

Builds come from the pinned Go modules under tests/tailnet/go/ and are cached outside the repository
(${XDG_CACHE_HOME:-~/.cache}/sdp-guard-tailnet/<module>-<hash>/), never committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GO_DIR = REPO / "tests" / "tailnet" / "go"
VERSIONS = ("1.82.5", "1.102.5")
DEFAULT_VERSION = "1.102.5"
HUB_ADDR = "10.77.255.1"  # control, DERP and STUN, on the hub's loopback
CONTROL_PORT = 80
NODE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
BUILD_TIMEOUT = 1800.0  # a cold build of v1.102.5 takes ~2.5 min on 2 cores
CMD_TIMEOUT = 20.0
UP_TIMEOUT = 90.0
CHANGE_TIMEOUT = 30.0
LOCALAPI_HOST = "local-tailscaled.sock"


_SPAWNED: list[subprocess.Popen[bytes]] = []


class LabError(RuntimeError):
    """A lab step failed; the message says which and how to look."""


class UsageError(LabError):
    pass


# --- small helpers ---------------------------------------------------------------------------


def run(argv: Sequence[str], *, timeout: float = CMD_TIMEOUT, check: bool = True) -> str:
    try:
        cp = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise LabError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s") from e
    if check and cp.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed ({cp.returncode}): {cp.stderr.strip()[:2000]}")
    return cp.stdout


def wait_until(what: str, cond: Callable[[], bool], timeout: float, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            if cond():
                return
        except (OSError, LabError, ValueError, KeyError) as e:
            last = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last})" if last else ""
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(step)


def norm_version(v: str) -> str:
    v = v.removeprefix("v")
    if v not in VERSIONS:
        raise UsageError(f"unknown tailscaled version {v!r}; the lab builds {', '.join(VERSIONS)}")
    return v


def cache_root() -> Path:
    env = os.environ.get("SDP_GUARD_TAILNET_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sdp-guard-tailnet"


# --- builds ----------------------------------------------------------------------------------


def _build_key(mod: Path, ldflags: str) -> str:
    """What decides the binaries: the module's files, the link flags and the Go release."""
    h = hashlib.sha256(ldflags.encode() + b"\0" + _go_version().encode() + b"\0")
    for f in sorted(mod.iterdir()):
        if f.is_file() and f.suffix in (".mod", ".sum", ".go"):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _go_version() -> str:
    return run([_go(), "env", "GOVERSION"], timeout=60).strip()


def _go() -> str:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise LabError("Go is not installed (need go >= 1.26.6 on PATH or /usr/local/go/bin/go)")
    return go


def _build(module: str, packages: list[str], ldflags: str) -> Path:
    """Build PACKAGES of tests/tailnet/go/MODULE into the cache (once per go.mod/go.sum) and return
    the directory holding the binaries."""
    mod = GO_DIR / module
    out = cache_root() / f"{module}-{_build_key(mod, ldflags)}"
    # `go build -o DIR/ .` names the binary after the module path's last element (here: MODULE).
    names = [module if p == "." else p.rsplit("/", 1)[-1] for p in packages]
    if all((out / n).is_file() for n in names):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{module}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build of the same module waits
        if all((out / n).is_file() for n in names):
            return out
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        env = dict(
            os.environ,
            GOFLAGS="-buildvcs=false -mod=readonly",
            GOTOOLCHAIN="local",
            CGO_ENABLED="0",
        )
        argv = [_go(), "build", "-trimpath", "-ldflags", ldflags, "-o", str(tmp) + "/", *packages]
        print(f"tailnet-lab: building {module} (cached in {out})", file=sys.stderr)
        try:
            cp = subprocess.run(
                argv,
                cwd=mod,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise LabError(f"building {module} took more than {BUILD_TIMEOUT:.0f} s") from e
        if cp.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise LabError(f"building {module} failed:\n{cp.stderr.strip()[-4000:]}")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        # Builds of this module for another go.sum, Go release or flags, untouched for a week
        # (a checkout at another commit may still use a recent one).
        week_ago = time.time() - 7 * 86400
        for old in out.parent.glob(f"{module}-*"):
            if old != out and ".tmp" not in old.name and old.stat().st_mtime < week_ago:
                shutil.rmtree(old, ignore_errors=True)
    return out


def build_tailscaled(version: str) -> Path:
    v = norm_version(version)
    # Clean version strings (the build has no VCS stamp): status "Version" reads e.g. "1.82.5-lab".
    ld = f"-X tailscale.com/version.shortStamp={v} -X tailscale.com/version.longStamp={v}-lab"
    return _build(
        f"tailscaled-v{v}", ["tailscale.com/cmd/tailscaled", "tailscale.com/cmd/tailscale"], ld
    )


def build_control() -> Path:
    return _build("control", ["."], "") / "control"


def build_all() -> None:
    build_control()
    for v in VERSIONS:
        build_tailscaled(v)


# --- LocalAPI and admin API ------------------------------------------------------------------


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def unix_request(
    path: str,
    method: str,
    url: str,
    body: Any = None,
    *,
    host: str = "localhost",
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    conn = _UnixHTTP(path, timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Host": host}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, url, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(16 << 20)
    finally:
        conn.close()


def localapi(sock: str, url: str) -> Any:
    status, body = unix_request(sock, "GET", url, host=LOCALAPI_HOST)
    if status != 200:
        raise LabError(f"LocalAPI {url} on {sock}: HTTP {status}: {body[:300]!r}")
    return json.loads(body)


def whois(sock: str, addr: str) -> Any:
    return localapi(sock, "/localapi/v0/whois?addr=" + urllib.parse.quote(addr))


# --- the lab state ---------------------------------------------------------------------------


class Lab:
    def __init__(self, d: Path, state: dict[str, Any]) -> None:
        self.dir = d
        self.state = state

    @staticmethod
    def load(d: Path) -> Lab:
        f = d / "lab.json"
        if not f.exists():
            raise UsageError(f"no lab in {d} (run `scripts/tailnet-lab up {d} NODE...` first)")
        return Lab(d, json.loads(f.read_text()))

    def save(self) -> None:
        tmp = self.dir / "lab.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.dir / "lab.json")

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        nodes: dict[str, dict[str, Any]] = self.state["nodes"]
        return nodes

    def node(self, name: str) -> dict[str, Any]:
        if name not in self.nodes:
            raise UsageError(f"no node {name!r} in this lab (nodes: {', '.join(self.nodes)})")
        return self.nodes[name]

    def admin(self, method: str, url: str, body: Any = None) -> Any:
        status, data = unix_request(self.state["admin"], method, url, body)
        if status != 200:
            raise LabError(
                f"control server {url}: HTTP {status}: {data.decode(errors='replace').strip()}"
            )
        return json.loads(data)

    def status(self, name: str) -> Any:
        return localapi(self.node(name)["socket"], "/localapi/v0/status")

    def self_ipv4(self, name: str) -> str:
        return str(next(a for a in self.status(name)["TailscaleIPs"] if ":" not in a))

    def peers_seen(self, name: str) -> dict[str, str]:
        """HostName -> IPv4 of every peer in NAME's status."""
        out: dict[str, str] = {}
        for p in (self.status(name).get("Peer") or {}).values():
            ips = [a for a in p.get("TailscaleIPs") or [] if ":" not in a]
            out[p.get("HostName", "")] = ips[0] if ips else ""
        return out

    def masq_of(self, name: str, peer: str) -> str | None:
        """What NAME's whois of PEER reports as the masquerade (the address PEER knows NAME by)."""
        addr = self.peers_seen(name)[peer]
        w = whois(self.node(name)["socket"], addr)
        masq: str | None = w["Node"].get("SelfNodeV4MasqAddrForThisPeer")
        return masq

    def ns_exec(self, name: str, argv: Sequence[str], **kw: Any) -> str:
        return run(["ip", "netns", "exec", self.node(name)["netns"], *argv], **kw)

    def tun_ipv4(self, name: str) -> list[str]:
        out = self.ns_exec(
            name, ["ip", "-4", "-o", "addr", "show", "dev", "tailscale0"], check=False
        )
        return re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)

    # processes

    def _spawn(
        self, netns: str, argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> int:
        with open(log, "ab") as lf:
            p = subprocess.Popen(
                ["ip", "netns", "exec", netns, *argv],
                stdin=subprocess.DEVNULL,
                stdout=lf,
                stderr=lf,
                start_new_session=True,
                env=dict(os.environ, **(env or {})),
            )
        _SPAWNED.append(p)  # outlives this call (and `up`): down kills it by pid
        return p.pid

    def start_tailscaled(self, name: str) -> None:
        n = self.node(name)
        nd = self.dir / name
        argv = [
            str(Path(self.state["bin"]) / "tailscaled"),
            "--tun=tailscale0",
            f"--statedir={nd / 'state'}",
            f"--socket={n['socket']}",
            "--port=41641",
            "--no-logs-no-support",
        ]
        n["pid"] = self._spawn(
            n["netns"], argv, nd / "tailscaled.log", {"TS_NO_LOGS_NO_SUPPORT": "true"}
        )
        self.save()
        wait_until(
            f"tailscaled of {name} to answer on {n['socket']} (log: {nd / 'tailscaled.log'})",
            lambda: _alive(n["pid"]) and bool(self.status(name)),
            CMD_TIMEOUT,
        )

    def stop_tailscaled(self, name: str) -> None:
        n = self.node(name)
        _kill(n.get("pid"), "tailscaled")
        n["pid"] = None
        self.save()

    def wait_running(self, name: str, timeout: float = UP_TIMEOUT) -> None:
        wait_until(
            f"{name} to be Running with an IPv4 on tailscale0",
            lambda: (
                self.status(name).get("BackendState") == "Running"
                and self.self_ipv4(name) in self.tun_ipv4(name)
            ),
            timeout,
        )

    def wait_mesh(self, timeout: float = UP_TIMEOUT) -> None:
        names = list(self.nodes)

        def meshed() -> bool:
            return all(set(self.peers_seen(n)) >= set(names) - {n} for n in names)

        wait_until("every node to see every other as a peer", meshed, timeout)

    def describe(self) -> dict[str, Any]:
        """The `up` document, exactly as issue 12 fixes it (other checks parse it); `status`
        says more."""
        out: dict[str, Any] = {}
        for name, n in self.nodes.items():
            st = self.status(name)
            out[name] = {
                "netns": n["netns"],
                "socket": n["socket"],
                "ipv4": self.self_ipv4(name),
                "hostname": st["Self"]["HostName"],
            }
        return {"nodes": out}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _kill(pid: int | None, expect: str, timeout: float = 10.0) -> None:
    """SIGTERM (then SIGKILL) PID, only if it is still the process we started (by its command)."""
    if not pid or not _alive(pid):
        return
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if expect.encode() not in cmd:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        _reap()
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap()


def _reap() -> None:
    """Collect children this process spawned that have exited (no zombies, no stale Popen)."""
    for p in list(_SPAWNED):
        if p.poll() is not None:
            _SPAWNED.remove(p)


# --- commands --------------------------------------------------------------------------------


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, TUN devices)")
    if not Path("/dev/net/tun").exists():
        raise LabError("/dev/net/tun is missing: the kernel has no TUN support here")


def up(d: Path, names: list[str], version: str) -> dict[str, Any]:
    v = norm_version(version)
    for n in names:
        if not NODE_NAME.match(n):
            raise UsageError(f"bad node name {n!r}: lower-case letters, digits and '-', at most 30")
    if len(set(names)) != len(names) or not names:
        raise UsageError("give one or more distinct node names")
    if len(names) > 200:
        raise UsageError("at most 200 nodes")
    _require_root()
    d.mkdir(parents=True, exist_ok=True)
    if (d / "lab.json").exists():
        raise UsageError(f"a lab is already up in {d}; run `scripts/tailnet-lab down {d}` first")
    bindir = build_tailscaled(v)
    control = build_control()

    tag = f"tl{os.getpid()}{os.urandom(1).hex()}"  # veth names: at most 15 characters
    hub = f"{tag}-hub"
    lab = Lab(
        d,
        {
            "version": v,
            "bin": str(bindir),
            "tag": tag,
            "hub": hub,
            "admin": str(d / "control" / "admin.sock"),
            "control_pid": None,
            "namespaces": [],
            "nodes": {},
        },
    )
    lab.save()
    try:
        _netns_add(lab, hub)
        hx = ["ip", "netns", "exec", hub]
        run([*hx, "ip", "link", "set", "lo", "up"])
        run([*hx, "ip", "addr", "add", f"{HUB_ADDR}/32", "dev", "lo"])
        run([*hx, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        (d / "control").mkdir(exist_ok=True)
        lab.state["control_pid"] = lab._spawn(
            hub,
            [
                str(control),
                f"-listen={HUB_ADDR}:{CONTROL_PORT}",
                f"-derp-ip={HUB_ADDR}",
                f"-admin={lab.state['admin']}",
            ],
            d / "control" / "control.log",
        )
        lab.save()
        wait_until(
            f"the control server (log: {d / 'control' / 'control.log'})",
            lambda: _alive(lab.state["control_pid"]) and "nodes" in lab.admin("GET", "/nodes"),
            CMD_TIMEOUT,
        )
        for i, name in enumerate(names):
            ns = f"{tag}-{i}"
            _netns_add(lab, ns)
            nd = d / name
            nd.mkdir(exist_ok=True)
            nd.chmod(0o755)  # an unprivileged client must reach the socket (mode 0666) inside
            lab.nodes[name] = {
                "netns": ns,
                "socket": str(nd / "tailscaled.sock"),
                "underlay": f"10.77.{i}.2",
                "pid": None,
            }
            hv, nv = f"{tag}h{i}", f"{tag}n{i}"
            run(["ip", "link", "add", hv, "type", "veth", "peer", "name", nv])
            run(["ip", "link", "set", hv, "netns", hub])
            run(["ip", "link", "set", nv, "netns", ns])
            run([*hx, "ip", "addr", "add", f"10.77.{i}.1/24", "dev", hv])
            run([*hx, "ip", "link", "set", hv, "up"])
            nx = ["ip", "netns", "exec", ns]
            run([*nx, "ip", "link", "set", "lo", "up"])
            run([*nx, "ip", "link", "set", nv, "name", "eth0"])
            run([*nx, "ip", "addr", "add", f"10.77.{i}.2/24", "dev", "eth0"])
            run([*nx, "ip", "link", "set", "eth0", "up"])
            run([*nx, "ip", "route", "add", "default", "via", f"10.77.{i}.1"])
            run([*nx, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"])
            lab.save()
            lab.start_tailscaled(name)
        # Log in concurrently: each `tailscale up` blocks until its node is Running.
        procs = {
            name: subprocess.Popen(
                [
                    str(bindir / "tailscale"),
                    f"--socket={lab.nodes[name]['socket']}",
                    "up",
                    f"--login-server=http://{HUB_ADDR}:{CONTROL_PORT}",
                    f"--hostname={name}",
                    "--accept-dns=false",
                    "--netfilter-mode=off",
                    "--timeout=60s",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            for name in names
        }
        for name, p in procs.items():
            try:
                out, _ = p.communicate(timeout=75.0)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                raise LabError(f"`tailscale up` on {name} did not finish within 75 s") from None
            if p.returncode != 0:
                raise LabError(
                    f"`tailscale up` on {name} failed: {out.decode(errors='replace')[-2000:]}"
                )
        for name in names:
            lab.wait_running(name)
        lab.wait_mesh()
        return lab.describe()
    except BaseException:
        print(
            f"tailnet-lab: up failed; stopping what it started (logs stay in {d})", file=sys.stderr
        )
        down(d)
        raise


def _netns_add(lab: Lab, ns: str) -> None:
    run(["ip", "netns", "add", ns])
    lab.state["namespaces"].append(ns)
    lab.save()


def down(d: Path) -> None:
    f = d / "lab.json"
    if not f.exists():
        return
    lab = Lab.load(d)
    for n in lab.nodes.values():
        _kill(n.get("pid"), "tailscaled")
    _kill(lab.state.get("control_pid"), "control")
    for ns in lab.state.get("namespaces", []):
        run(["ip", "netns", "del", ns], check=False)
    with contextlib.suppress(FileNotFoundError):
        Path(lab.state["admin"]).unlink()
    for name, n in lab.nodes.items():
        # The node keys go with the lab; the logs stay for a post-mortem.
        shutil.rmtree(d / name / "state", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            Path(n["socket"]).unlink()
    f.unlink()


def masquerade(d: Path, node: str, peer: str, addr: str) -> None:
    lab = Lab.load(d)
    lab.node(node)
    lab.node(peer)
    clear = addr in ("", "-", "none")
    lab.admin("POST", "/masquerade", {"node": node, "peer": peer, "addr": "" if clear else addr})
    want_masq = None if clear else addr
    want_seen = lab.self_ipv4(node) if clear else addr
    wait_until(
        f"{node}'s whois of {peer} to report masquerade {want_masq} and {peer} to see {node} at {want_seen}",
        lambda: (
            lab.masq_of(node, peer) == want_masq and lab.peers_seen(peer).get(node) == want_seen
        ),
        CHANGE_TIMEOUT,
        step=0.02,
    )


def set_ip(d: Path, node: str, addr: str) -> None:
    lab = Lab.load(d)
    lab.node(node)
    lab.admin("POST", "/set-ip", {"node": node, "addr": addr})
    wait_until(
        f"{node} to have {addr} in its status and on tailscale0",
        lambda: lab.self_ipv4(node) == addr and lab.tun_ipv4(node) == [addr],
        CHANGE_TIMEOUT,
        step=0.02,
    )


def hide(d: Path, node: str, peer: str, hidden: bool) -> None:
    lab = Lab.load(d)
    lab.node(node)
    lab.node(peer)
    lab.admin("POST", "/hide", {"node": node, "peer": peer, "hidden": hidden})
    wait_until(
        f"{peer} to {'leave' if hidden else 'rejoin'} {node}'s peers",
        lambda: (peer in lab.peers_seen(node)) != hidden,
        CHANGE_TIMEOUT,
        step=0.02,
    )


def restart(d: Path, node: str, down_seconds: float = 0.0) -> None:
    lab = Lab.load(d)
    lab.stop_tailscaled(node)
    time.sleep(down_seconds)
    lab.start_tailscaled(node)
    lab.wait_running(node)
    lab.wait_mesh()


def status(d: Path) -> dict[str, Any]:
    lab = Lab.load(d)
    out: dict[str, Any] = {"version": lab.state["version"], "nodes": {}}
    for name, n in lab.nodes.items():
        info: dict[str, Any] = {
            "netns": n["netns"],
            "socket": n["socket"],
            "running": _alive(n.get("pid")),
        }
        try:
            st = lab.status(name)
            info["backend_state"] = st.get("BackendState")
            info["ipv4"] = lab.self_ipv4(name)
            info["hostname"] = st["Self"]["HostName"]
            info["dnsname"] = st["Self"].get("DNSName", "")
            info["underlay"] = n["underlay"]
            info["tailscaled"] = st.get("Version", "")
            info["peers"] = lab.peers_seen(name)
        except (OSError, LabError, KeyError, StopIteration, ValueError) as e:
            info["error"] = str(e)
        out["nodes"][name] = info
    try:
        out["control"] = lab.admin("GET", "/nodes")["nodes"]
    except (OSError, LabError) as e:
        out["control"] = {"error": str(e)}
    return out


USAGE = """scripts/tailnet-lab: a lab of real tailscaled nodes in network namespaces (root).

  up DIR NODE... [--version V]   build (cached), start control + one tailscaled per NODE; print JSON
  status DIR                     JSON: each node's state and peers, and the control server's view
  masquerade DIR NODE PEER ADDR  NODE appears to PEER as ADDR ("none" removes the masquerade)
  set-ip DIR NODE ADDR           renumber NODE's IPv4
  hide DIR NODE PEER             PEER leaves NODE's netmap (unhide DIR NODE PEER: it comes back)
  restart DIR NODE               stop and start NODE's tailscaled (state kept)
  down DIR                       kill everything the lab started, delete its namespaces (idempotent)
  build                          build control and both tailscaled versions into the cache

Versions: 1.82.5, 1.102.5 (default). Exit: 0 ok, 64 usage, 69 a step failed, 77 not root.
"""


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through `up`'s cleanup


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = list(sys.argv[1:] if argv is None else argv)
    version = DEFAULT_VERSION
    if "--version" in args:
        i = args.index("--version")
        if i + 1 >= len(args):
            print("--version needs a value", file=sys.stderr)
            return 64
        version = args[i + 1]
        del args[i : i + 2]
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 64
    cmd, rest = args[0], args[1:]
    arity = {
        "status": 1,
        "down": 1,
        "masquerade": 4,
        "set-ip": 3,
        "hide": 3,
        "unhide": 3,
        "restart": 2,
        "build": 0,
    }
    try:
        if cmd == "up":
            if len(rest) < 2:
                raise UsageError("usage: up DIR NODE... [--version V]")
            doc = up(Path(rest[0]).resolve(), rest[1:], version)
            print(json.dumps(doc, indent=2))
            return 0
        if cmd not in arity:
            raise UsageError(f"unknown command {cmd!r}\n{USAGE}")
        if len(rest) != arity[cmd]:
            raise UsageError(f"{cmd} takes {arity[cmd]} argument(s)\n{USAGE}")
        d = Path(rest[0]).resolve() if rest else Path()
        if cmd == "status":
            print(json.dumps(status(d), indent=2))
        elif cmd == "down":
            down(d)
        elif cmd == "masquerade":
            masquerade(d, rest[1], rest[2], rest[3])
        elif cmd == "set-ip":
            set_ip(d, rest[1], rest[2])
        elif cmd in ("hide", "unhide"):
            hide(d, rest[1], rest[2], cmd == "hide")
        elif cmd == "restart":
            restart(d, rest[1])
        elif cmd == "build":
            build_all()
        return 0
    except UsageError as e:
        print(f"tailnet-lab: {e}", file=sys.stderr)
        return 64
    except LabError as e:
        print(f"tailnet-lab: {e}", file=sys.stderr)
        return 77 if "needs root" in str(e) else 69
