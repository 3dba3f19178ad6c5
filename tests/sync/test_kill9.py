"""``kill -9`` of a running sync never leaves a provider half-changed without a backup that
restores it. 50 runs, killed at evenly spread moments over the whole run, 8 at a time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.cli import main
from tests.fakes.mikopbx_api import running_server
from tests.sync.conftest import provider_rows, sync_argv

RUNS = 50
DELAY = 0.02  # seconds the fake API takes per request, so kills land between requests too
PROVIDERS = ("SIP-TRUNK-7B3D0E55", "SIP-TRUNK-C81E2D07")
ROOT = Path(__file__).resolve().parents[2]


def per_provider(rows: dict[str, Any], pid: str) -> tuple[Any, ...]:
    return (
        [r for r in rows["m_Providers"] if r[1] == pid],
        [r for r in rows["m_Sip"] if r[1] == pid],
        [r for r in rows["m_SipHosts"] if r[0] == pid],
    )


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "sdp_guard", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def one_run(demo_files: Any, workdir: Path, kill_after: float | None) -> tuple[str, Path]:
    workdir.mkdir()
    db = workdir / "mikopbx.db"
    shutil.copy(demo_files.db, db)
    files = type(demo_files)(str(db), demo_files.registry, demo_files.snapshot)
    state = workdir / "state"
    with running_server(db) as srv:
        srv.faults.delay = DELAY
        proc = spawn(sync_argv(files, srv.url, state, "--yes", "--fallback", "media-address"))
        if kill_after is None:
            proc.wait(30)
        else:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        time.sleep(DELAY * 2)  # let a request the server already took finish, as MikoPBX would
    return str(db), state


@pytest.mark.slow
def test_kill_9_at_50_points_is_always_recoverable(demo_files: Any, tmp_path: Path) -> None:
    started = time.monotonic()
    before = provider_rows(demo_files.db)
    t0 = time.monotonic()
    full_db, _ = one_run(demo_files, tmp_path / "full", None)
    duration = time.monotonic() - t0
    after = provider_rows(full_db)
    assert all(per_provider(after, p) != per_provider(before, p) for p in PROVIDERS)

    points = [duration * (i + 0.5) / RUNS for i in range(RUNS)]
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda i: one_run(demo_files, tmp_path / f"k{i}", points[i]), range(RUNS))
        )
    changed_runs = 0
    for db, state in results:
        rows = provider_rows(db)
        changed = [p for p in PROVIDERS if per_provider(rows, p) != per_provider(before, p)]
        for p in changed:  # never half-changed: either untouched or exactly the planned result
            assert per_provider(rows, p) == per_provider(after, p), (db, p)
        if not changed:
            continue
        changed_runs += 1
        backups = list((state / "backups").glob("*.json"))
        assert backups, f"{db}: providers {changed} changed but there is no backup"
        with running_server(db) as srv:
            rc = main(["rollback", "--yes", "--state-dir", str(state), "--api-url", srv.url])
        assert rc == 0
        rows = provider_rows(db)
        for p in PROVIDERS:
            assert per_provider(rows, p) == per_provider(before, p)
    assert changed_runs > 0  # some kills landed after a write
    assert changed_runs < RUNS  # and some before
    assert time.monotonic() - started < 60
