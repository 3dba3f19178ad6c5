"""Shared helpers for the benchmark scripts: timing, statistics, machine facts, result files.

Every script takes ``--smoke`` (tiny sizes, targets reported but not judged) and ``--out FILE``
(a JSON result that ``bench/run`` collects). A script exits non-zero only when it breaks; a
missed target is data, and ``bench/run`` decides what to do with it.

Result document::

    {"figure": "2", "title": "...", "smoke": false, "metrics": {...}, "notes": [...],
     "targets": [{"name": "...", "value": 4.1, "limit": 5.0, "unit": "x", "met": true}],
     "load": {"before": [1m, 5m, 15m], "after": [...]}}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV = ROOT / ".venv"
PY = str(VENV / "bin" / "python") if (VENV / "bin" / "python").exists() else sys.executable
SDP_GUARD = str(VENV / "bin" / "sdp-guard")


def sdp_guard_argv() -> list[str]:
    """The command operators run: the installed console script (else ``python -m sdp_guard``)."""
    if os.path.exists(SDP_GUARD):
        return [SDP_GUARD]
    return [PY, "-m", "sdp_guard"]


PYCACHE = os.path.join(tempfile.gettempdir(), "sdp-guard-bench-pycache")


def quiet_env(**extra: str) -> dict[str, str]:
    """Environment for measured commands.

    Bytecode is cached (as in an installed wheel) under a private prefix, so the shared working
    tree stays clean; PYTHONDONTWRITEBYTECODE (set in some CI shells) would otherwise make every
    run recompile sdp_guard from source.
    """
    env = dict(os.environ)
    env.update({"LANG": "C.UTF-8", "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": PYCACHE})
    for var in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE"):
        env.pop(var, None)
    env.update(extra)
    return env


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = subprocess.run(
        [PY, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": out.stdout.strip(),
        "python_path": PY,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load": loadavg(),
    }


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def percentile(xs: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


@dataclass
class Samples:
    """Wall and CPU (user + sys of the child) seconds of repeated runs."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run_measured(
    argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[float, float]:
    """(wall, cpu) seconds of one run; output discarded. Any exit code is fine, a hang is not."""
    t0 = time.perf_counter()
    p = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    killer = threading.Timer(timeout, p.kill)  # bounded: a hang becomes a kill, then an error
    killer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        killer.cancel()
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        raise TimeoutError(f"{argv[0]} took more than {timeout} s")
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime


def run_timed(argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 60) -> float:
    return run_measured(argv, env, timeout)[0]


def interleaved(
    cmds: dict[str, Sequence[str]],
    reps: int,
    env: dict[str, str] | None = None,
    budget_s: float = 120,
    warmup: int = 1,
) -> dict[str, Samples]:
    """Run the commands round-robin ``reps`` times (after ``warmup`` untimed rounds).

    Interleaving spreads load from other processes evenly over the commands, so their ratio
    stays meaningful on a shared machine. Stops early (keeping >= 5 rounds when possible) when
    ``budget_s`` is spent.
    """
    for _ in range(warmup):
        for argv in cmds.values():
            run_measured(argv, env)
    out = {k: Samples() for k in cmds}
    t_end = time.monotonic() + budget_s
    for i in range(reps):
        for k, argv in cmds.items():
            w, cpu = run_measured(argv, env)
            out[k].wall.append(w)
            out[k].cpu.append(cpu)
        if i >= 4 and time.monotonic() > t_end:
            break
    return out


@dataclass
class Result:
    figure: str
    title: str
    smoke: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_before: list[float] = field(default_factory=loadavg)

    def target(self, name: str, value: float, limit: float, unit: str = "") -> bool:
        met = bool(value <= limit)
        self.targets.append(
            {"name": name, "value": round(value, 4), "limit": limit, "unit": unit, "met": met}
        )
        return met

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "title": self.title,
            "smoke": self.smoke,
            "metrics": self.metrics,
            "targets": self.targets,
            "notes": self.notes,
            "load": {"before": self.load_before, "after": loadavg()},
        }

    def print_summary(self) -> None:
        print(f"== figure {self.figure}: {self.title}{' (smoke)' if self.smoke else ''}")
        for t in self.targets:
            verdict = "n/a (smoke)" if self.smoke else ("met" if t["met"] else "MISSED")
            print(f"   {t['name']}: {t['value']:g}{t['unit']} (limit {t['limit']:g}) {verdict}")
        for n in self.notes:
            print(f"   note: {n}")


def parser(description: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, no thresholds")
    p.add_argument("--out", metavar="FILE", help="write the JSON result here")
    return p


def finish(res: Result, out: str | None) -> int:
    res.print_summary()
    doc = res.to_json()
    if out:
        Path(out).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


def wait_for(pred: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll ``pred`` until true or ``timeout`` seconds (bounded)."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


# ---- network namespace (root) -------------------------------------------------------------


def netns_problem() -> str | None:
    if os.geteuid() != 0:
        return "not root (network namespaces need it)"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    return None


@contextlib.contextmanager
def netns() -> Iterator[str]:
    name = f"sdpg-bench-{os.getpid()}-{uuid.uuid4().hex[:4]}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, timeout=10, capture_output=True)

    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        # A TUN device, as tailscaled makes (the dummy driver is not in every kernel).
        ip("-n", name, "tuntap", "add", "dev", "tailscale0", "mode", "tun")
        ip("-n", name, "link", "set", "tailscale0", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10, capture_output=True, check=False)
