from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.mikopbx_api import FakeMikoPBX, running_server


@pytest.fixture
def fake(demo_files: Any) -> Iterator[FakeMikoPBX]:
    """The fake MikoPBX REST API serving the demo station's DB."""
    with running_server(demo_files.db) as srv:
        yield srv


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def sync_argv(demo_files: Any, url: str, state_dir: Path, *extra: str) -> list[str]:
    return [
        "sync",
        "--db",
        demo_files.db,
        "--registry",
        demo_files.registry,
        "--snapshot",
        demo_files.snapshot,
        "--api-url",
        url,
        "--state-dir",
        str(state_dir),
        "--lang",
        "en",
        *extra,
    ]


def provider_rows(db: str) -> dict[str, Any]:
    """Everything MikoPBX stores about providers, as comparable tuples.

    m_SipHosts ids are left out: MikoPBX's API deletes and re-inserts those rows on every save
    (SaveRecordAction::updateAdditionalHosts), so no API client can keep them.
    """
    conn = sqlite3.connect(db)
    try:
        return {
            "m_Providers": conn.execute("SELECT * FROM m_Providers ORDER BY id").fetchall(),
            "m_Sip": conn.execute("SELECT * FROM m_Sip ORDER BY id").fetchall(),
            "m_SipHosts": conn.execute(
                "SELECT provider_id, address FROM m_SipHosts ORDER BY provider_id, id"
            ).fetchall(),
            "m_NetworkFilters": conn.execute(
                "SELECT * FROM m_NetworkFilters ORDER BY id"
            ).fetchall(),
        }
    finally:
        conn.close()


def host_of(db: str, pid: str) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT host FROM m_Sip WHERE uniqid = ?", (pid,)).fetchone()[0])
    finally:
        conn.close()
