"""Fuzz targets for the JSON inputs read from files: a tailnet snapshot (LocalAPI status and whois
documents, exactly as tailscaled sends them) through ``check --snapshot``, and the sync journals
through ``backups`` and ``rollback``."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import Budget, fuzz_settings
from tests.fuzz.clirun import CHECK_CODES, assert_clean, run_cli
from tests.fuzz.strategies import json_document


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sdp_guard import demo

    return demo.build(str(tmp_path_factory.mktemp("fuzz-json")))


def test_snapshot_status_and_whois_through_check(station: Any) -> None:
    real = json.loads(Path(station.snapshot).read_text(encoding="utf-8"))
    target = Path(station.snapshot).with_name("fuzzed-snapshot.json")
    base = ["check", "--config", "/dev/null", "--db", station.db, "--registry", station.registry]
    with Budget("snapshot: status+whois (check)", seconds=2.0) as budget:

        @fuzz_settings()
        @given(data=json_document(real), as_json=st.booleans())
        def case(data: bytes, as_json: bool) -> None:
            target.write_bytes(data)
            argv = [*base, "--snapshot", str(target), *(["--json"] if as_json else [])]
            with budget.case():
                rc, out, err = run_cli(argv)
            assert_clean(rc, out, err, CHECK_CODES, json_out=as_json)
            budget.outcome(f"exit {rc}")

        case()
        budget.done()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


JOURNAL = {
    "schema_version": 1,
    "id": "20260101T000000Z",
    "created": "2026-01-01T00:00:00Z",
    "mode": "api",
    "target": "http://127.0.0.1",
    "status": "applying",
    "history": [["planned", "2026-01-01T00:00:00Z"], ["applying", "2026-01-01T00:00:01Z"]],
    "plan": {"changes": [{"provider": "SIP-TRUNK-7B3D0E55", "field": "host", "old": "a"}]},
    "providers": {
        "SIP-TRUNK-7B3D0E55": {
            "before": {"id": "SIP-TRUNK-7B3D0E55", "host": "100.88.7.19", "note": ""},
            "after": {"host": "100.88.201.5"},
            "fields": ["host"],
            "state": "written",
        }
    },
    "local_net": {"before": [], "state": "written", "action": "enable", "id": "3"},
}


def test_journals_through_backups_and_rollback(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "backups").mkdir(parents=True, mode=0o700)
    target = state / "backups" / "20260101T000000Z.json"
    states = state / "backups" / "20260101T000000Z.states"
    down = f"http://127.0.0.1:{_closed_port()}"
    with Budget("sync journals (backups, rollback)", seconds=3.0) as budget:

        @fuzz_settings()
        @given(data=json_document(JOURNAL), tail=st.binary(max_size=80), rollback=st.booleans())
        def case(data: bytes, tail: bytes, rollback: bool) -> None:
            target.write_bytes(data)
            states.write_bytes(b'{"provider": "SIP-TRUNK-7B3D0E55", "state": "verified"}\n' + tail)
            if rollback:
                argv = ["rollback", "--yes", "--config", "/dev/null", "--state-dir", str(state)]
                argv += ["--api-url", down]
                codes = {0, 1, 65, 69, 75, 77}
            else:
                argv = ["backups", "--config", "/dev/null", "--state-dir", str(state)]
                codes = {0, 65, 77}
            with budget.case():
                rc, out, err = run_cli(argv)
            assert_clean(rc, out, err, codes)
            budget.outcome(f"{argv[0]} exit {rc}")
            for leftover in state.glob("backups/*.tmp*"):
                os.unlink(leftover)

        case()
        budget.done()
