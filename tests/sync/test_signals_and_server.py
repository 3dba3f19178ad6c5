"""SIGTERM during a sync rolls back; the declined prompt writes nothing; the fake runs standalone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.cli import main
from tests.fakes.mikopbx_api import PROVIDERS, make_db, running_server
from tests.sync.conftest import provider_rows, sync_argv
from tests.sync.test_kill9 import spawn

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_after_the_first_write_rolls_it_back(demo_files: Any, state_dir: Path) -> None:
    before = provider_rows(demo_files.db)
    with running_server(demo_files.db) as srv:
        srv.faults.delay = 0.15
        proc = spawn(
            sync_argv(demo_files, srv.url, state_dir, "--yes", "--fallback", "media-address")
        )
        deadline = time.monotonic() + 20
        while not any(m == "PATCH" for m, _, _ in srv.requests):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    assert rc == 1
    assert provider_rows(demo_files.db) == before
    (journal,) = (state_dir / "backups").glob("*.json")
    assert json.loads(journal.read_text())["status"] == "rolled_back"


def test_answering_no_writes_nothing(
    demo_files: Any,
    fake: Any,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    prompts: list[str] = []

    def answer_no(prompt: str) -> str:
        prompts.append(prompt)
        return "n"

    monkeypatch.setattr("builtins.input", answer_no)
    before = provider_rows(demo_files.db)
    assert main(sync_argv(demo_files, fake.url, state_dir)) == 0
    assert prompts == ["Apply these changes to MikoPBX now? [y/N] "]
    assert provider_rows(demo_files.db) == before
    assert not (state_dir / "backups").exists()


def test_fake_server_runs_as_a_process_with_faults(tmp_path: Path) -> None:
    db = make_db(tmp_path / "m.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.mikopbx_api", "--db", db, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        with urllib.request.urlopen(url + PROVIDERS + "?includeDisabled=true") as r:
            doc = json.load(r)
        assert doc["result"] is True and len(doc["data"]) == 3
        assert {"result", "data", "messages", "function", "processor", "pid", "meta"} <= set(doc)
        req = urllib.request.Request(
            url + "/__fake__/faults", data=b'{"status": 503}', method="POST"
        )
        urllib.request.urlopen(req).close()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + PROVIDERS)
        assert e.value.code == 503
        e.value.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
