"""`check` and `snapshot` against real tailscaled (v1.82.5 and v1.102.5) over the real LocalAPI.

Station A is masqueraded toward station B by the control server (SelfNodeV4MasqAddrForThisPeer,
applied by A's own tailscaled); B's tailnet therefore knows A by A_MASQ. Each side runs the
installed sdp-guard on its own node's socket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import TailnetLab
from .stations import A_MASQ, TRUNK_TO, A, B, make

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.slow]


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (
        f["code"],
        f["severity"],
        f.get("provider"),
        f.get("station"),
        f.get("advertised"),
        f.get("observed"),
        f.get("masquerade"),
    )


def test_check_and_snapshot_find_the_masquerade_on_both_sides(
    tailnet: TailnetLab, world_dir: Path
) -> None:
    nodes = tailnet.up(A, B)
    a_self, b_self = nodes[A]["ipv4"], nodes[B]["ipv4"]
    tailnet.masquerade(A, B, A_MASQ)
    # Each operator set up the trunk with the address its own tailnet shows for the peer.
    st = make(world_dir, nodes, {A: {B: b_self}, B: {A: A_MASQ}})

    check_a = st[A].check()
    assert check_a.rc == 2, check_a.stdout + check_a.stderr
    f = check_a.finding("masqueraded-toward-peer")
    assert (f["provider"], f["severity"], f["masquerade"]) == (TRUNK_TO[B], "critical", A_MASQ)

    check_b = st[B].check()
    assert check_b.rc == 2, check_b.stdout + check_b.stderr
    f = check_b.finding("peer-address-differs-from-advertised")
    assert (f["provider"], f["station"], f["severity"]) == (TRUNK_TO[A], A, "critical")
    assert (f["advertised"], f["observed"]) == (a_self, A_MASQ)
    assert "masqueraded-toward-peer" not in check_b.codes()

    for name, live in ((A, check_a), (B, check_b)):
        snap = world_dir / f"{name}.snapshot.json"
        res = st[name].sdp_guard(
            "snapshot", "--config", str(st[name].config), *st[name].tailnet_args(), "-o", str(snap)
        )
        assert res.rc == 0, res.stderr
        offline = st[name].sdp_guard(
            "check",
            "--config", str(st[name].config),
            "--snapshot", str(snap),
            "--lang", "en",
            "--json",
        )  # fmt: skip
        assert offline.rc == live.rc, offline.stdout + offline.stderr
        assert sorted(map(_key, offline.doc["findings"])) == sorted(map(_key, live.doc["findings"]))

    # Removing the masquerade clears both findings on the real nodes.
    tailnet.masquerade(A, B, "none")
    assert "masqueraded-toward-peer" not in st[A].check().codes()
    assert "peer-address-differs-from-advertised" not in st[B].check().codes()
