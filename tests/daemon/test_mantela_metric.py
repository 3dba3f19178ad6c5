"""The daemon reports whether our own published mantela.json still carries our tailnet address
(a file saved in tkytel/mantela-editor loses aboutMe.tailnet: tests/mantela/test_published.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sdp_guard import demo
from tests.fakes.mantela_http import MantelaServer, Route
from tests.mantela.docs import dumps
from tests.mantela.test_published import _published, editor_save

from .harness import Station, scrape, value

METRIC = "sdp_guard_mantela_advertises_our_address"


@pytest.mark.parametrize(
    ("doc", "state", "v"),
    [
        (_published({"ipv4": demo.SELF.ipv4}), "ok", 1.0),
        (editor_save(_published({"ipv4": demo.SELF.ipv4})), "missing", 0.0),
        (_published({"ipv4": "100.70.99.99"}), "differs", 0.0),
    ],
    ids=["carried", "editor-dropped-it", "another-address"],
)
def test_metric_says_whether_our_published_file_carries_our_address(
    st: Station, start_daemon: Any, tmp_path: Path, doc: dict[str, Any], state: str, v: float
) -> None:
    with MantelaServer() as srv:
        url = srv.route("/mantela.json", Route(body=dumps(doc)))
        path = Path(st.config())
        text = path.read_text().replace("registry:\n", f"registry:\n  mantela_url: {url}\n")
        path.write_text(text + f"state_dir: {tmp_path / 'state'}\n")
        d = start_daemon(str(path))
        samples = scrape(d.url)
    assert value(samples, METRIC, state=state) == v


def test_metric_is_absent_when_mantela_is_off(st: Station, start_daemon: Any) -> None:
    samples = scrape(start_daemon().url)
    assert not [k for k in samples if k[0] == METRIC]
