from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SDP_GUARD_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"


def shared_fixture(*parts: str) -> Path:
    p = FIXTURES.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared fixture {p} not present (set SDP_GUARD_SHARED)")
    return p


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """The real-schema fixture DB with the three sample trunks (WAL mode, like a live PBX)."""
    db = tmp_path / "mikopbx.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(shared_fixture("mikopbx", "schema.sql").read_text())
    conn.executescript(shared_fixture("mikopbx", "sample-stations.sql").read_text())
    conn.commit()
    conn.close()
    return db


@pytest.fixture
def demo_files(tmp_path: Path):  # type: ignore[no-untyped-def]
    from sdp_guard import demo

    return demo.build(str(tmp_path))
