"""Helpers to run `sdp-guard daemon` against the fake LocalAPI and look at the process."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import _common as c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lines:
    """A thread that timestamps each line of a pipe (monotonic clock, shared across processes)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.q: queue.Queue[tuple[float, str]] = queue.Queue()
        self.all: list[str] = []
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self.all.append(line)
            self.q.put((time.monotonic(), line))

    def drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self.q.get_nowait()

    def get(self, timeout: float) -> tuple[float, str] | None:
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None


@contextlib.contextmanager
def process(argv: list[str], **kw: Any) -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def load_fake_server() -> Any:
    return load_fake_localapi().LocalAPIServer


def load_fake_localapi() -> Any:
    """The tests' LocalAPI server module (its server and its bus Notify builders)."""
    sys.path.insert(0, str(c.ROOT))
    from tests.fakes import localapi

    return localapi


# ---- /proc --------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, str]:
    return proc_status_path(f"/proc/{pid}/status")


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    st = proc_status(pid)
    return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0])


def threads(pid: int) -> dict[int, dict[str, Any]]:
    """Per thread: name, CPU time (ns, schedstat), voluntary/involuntary context switches."""
    out: dict[int, dict[str, Any]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/comm", encoding="utf-8") as f:
                name = f.read().strip()
            with open(f"{base}/schedstat", encoding="ascii") as f:
                cpu_ns = int(f.read().split()[0])
            st = proc_status_path(f"{base}/status")
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(tid)] = {
            "name": name,
            "cpu_ns": cpu_ns,
            "vol": int(st.get("voluntary_ctxt_switches", "0")),
            "invol": int(st.get("nonvoluntary_ctxt_switches", "0")),
        }
    return out


def proc_status_path(path: str) -> dict[str, str]:
    out = {}
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


# ---- a daemon against the fake LocalAPI ---------------------------------------------------


class DaemonRun:
    """`sdp-guard daemon` on given inputs, the fake LocalAPI serving ``status``/``whois``.

    With ``netns``, the daemon runs inside that namespace (`ip netns exec` execs, so the PID is
    the daemon's); the LocalAPI socket is a file, so the fake server in this process serves it.
    """

    def __init__(
        self,
        workdir: str,
        db: str,
        registry: str,
        status: Any,
        whois: dict[str, Any],
        *,
        netns: str | None = None,
        extra: list[str] | None = None,
        initial: list[Any] | None = None,
    ) -> None:
        self.sock = os.path.join(workdir, "tailscaled.sock")
        self.srv = load_fake_server()(self.sock, status=status, whois=whois)
        self.srv.initial = list(initial or [])
        self.netns = netns
        self.port = free_port()
        argv = [
            *c.sdp_guard_argv(),
            "daemon",
            "--db",
            db,
            "--registry",
            registry,
            "--tailscale-socket",
            self.sock,
            "--listen",
            f"127.0.0.1:{self.port}",
            "--lang",
            "en",
            *(extra or []),
        ]
        self.argv = ["ip", "netns", "exec", netns, *argv] if netns else argv
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: Lines | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> DaemonRun:
        self.srv.start()
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=c.quiet_env()
        )
        assert self.proc.stderr is not None
        self.log = Lines(self.proc.stderr)
        return self

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the daemon logged `ready:` (its first complete evaluation)."""
        assert self.log is not None and self.proc is not None
        t0 = time.monotonic()
        t_end = t0 + timeout
        while time.monotonic() < t_end:
            got = self.log.get(0.2)
            if got is not None and "ready:" in got[1]:
                return got[0] - t0
            if self.proc.poll() is not None:
                break
        tail = "\n".join(self.log.all[-20:])
        raise RuntimeError(f"daemon not ready within {timeout:g} s:\n{tail}")

    def fetch(self, paths: tuple[str, ...] = ("/metrics", "/findings")) -> dict[str, str]:
        """GET each path once (inside the namespace if any): the bodies as text."""
        code = (
            "import json, sys, urllib.request\n"
            "out = {}\n"
            "for p in sys.argv[2:]:\n"
            "    with urllib.request.urlopen(f'http://127.0.0.1:{sys.argv[1]}{p}', timeout=60) as r:\n"
            "        out[p] = r.read().decode()\n"
            "print(json.dumps(out))\n"
        )
        argv = [c.PY, "-c", code, str(self.port), *paths]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
        return dict(json.loads(r.stdout))

    def fetch_sizes(self, paths: tuple[str, ...] = ("/metrics", "/findings")) -> dict[str, int]:
        return {p: len(body.encode()) for p, body in self.fetch(paths).items()}

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.srv.stop()


@contextlib.contextmanager
def no_netns() -> Iterator[None]:
    yield None


def counters(metrics_text: str, name: str) -> dict[str, float]:
    """``name{label="x"} v`` samples of an exposition as {x: v} (one label), or {"": v}."""
    out = {}
    for m in re.finditer(
        rf"^{name}(?:_total)?(?:\{{[^=]*=\"([^\"]*)\"\}})?\s+(\S+)$", metrics_text, re.M
    ):
        out[m.group(1) or ""] = float(m.group(2))
    return out
