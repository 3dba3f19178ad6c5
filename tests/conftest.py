from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fixtures import fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """The real-schema fixture DB with the three sample trunks (WAL mode, like a live PBX)."""
    db = tmp_path / "mikopbx.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(fixture("mikopbx", "schema.sql").read_text())
    conn.executescript(fixture("mikopbx", "sample-stations.sql").read_text())
    conn.commit()
    conn.close()
    return db


@pytest.fixture
def demo_files(tmp_path: Path):  # type: ignore[no-untyped-def]
    from sdp_guard import demo

    return demo.build(str(tmp_path))
