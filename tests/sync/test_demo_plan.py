from __future__ import annotations

import pytest

from sdp_guard.cli import main


@pytest.mark.parametrize(("lang", "head"), [("en", "What sync would change"), ("ja", "同期計画")])
def test_demo_shows_the_sync_plan(capsys: pytest.CaptureFixture[str], lang: str, head: str) -> None:
    rc = main(["demo", "--lang", lang, "--color", "never"])
    out = capsys.readouterr().out
    assert rc == 2  # the demo's critical findings, as check reports them
    assert head in out
    assert "Plan: 2 providers to change, local network 100.64.0.0/10 to add; 1 waiting" in out
    assert "-host: 100.88.7.19\n+host: 100.88.201.5" in out
    assert "+  media_address = 100.99.44.44" in out
