"""Field proof: real SIP and RTP across an emulated Tailscale masquerade, broken then fixed.

Station A (own address 100.101.1.1) is shared into B's tailnet as 100.102.9.9; B is
100.102.2.2; C is 100.103.3.3 everywhere. Every call sends PACKETS (60) RTP packets each way,
and the counts below are what nftables counted arriving at each station's media port.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from .netlab import A_MASQ, A_SELF, B_SELF, C_SELF, Tailnet
from .pbxdb import media_address
from .sipua import PACKETS, CallResult
from .stations import A_TO_B_MANUAL, TRUNK_TO, Result, World, world

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.netns,
    pytest.mark.root,
    pytest.mark.slow,
    pytest.mark.usefixtures("prerequisites"),
]


def assert_one_way_to_a(r: CallResult) -> None:
    """Audio toward A never arrives; audio from A does; the tailnet swallowed A's share."""
    assert r.caller_rc == 0, f"the call itself should work (signalling): {r.caller_log}"
    assert r.sent == {r.caller: PACKETS, r.callee: PACKETS}, r.describe()
    other = "b" if "b" in (r.caller, r.callee) else "c"
    assert r.received["a"] == 0, r.describe()
    assert r.received[other] == PACKETS, r.describe()
    assert r.lost_in_tailnet == PACKETS, r.describe()


def assert_two_way(r: CallResult) -> None:
    """Both sides hear at least 90 % of what the other sent."""
    assert r.caller_rc == 0, f"call failed: {r.caller_log}"
    assert r.sent == {r.caller: PACKETS, r.callee: PACKETS}, r.describe()
    for side, other in ((r.caller, r.callee), (r.callee, r.caller)):
        assert r.received[side] >= 0.9 * r.sent[other], r.describe()
    assert r.lost_in_tailnet == 0, r.describe()


def assert_ok(res: Result, what: str) -> None:
    assert res.rc == 0, f"{what} exited {res.rc}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"


def test_1_broken_masquerade_gives_one_way_audio(tmp_path: Path) -> None:
    """Masquerade on, A's provider and SDP carry A's own address: B->A audio never arrives."""
    with world(tmp_path, Tailnet(masquerade=True), name="1 broken") as w:
        check = w.st["a"].check()
        assert check.rc == 2, check.stdout + check.stderr
        f = [
            f
            for f in check.doc["findings"]
            if f["code"] == "masqueraded-toward-peer" and f["provider"] == TRUNK_TO["b"]
        ]
        assert f, check.stdout
        assert (f[0]["severity"], f[0]["masquerade"], f[0]["observed"]) == (
            "critical",
            A_MASQ,
            A_SELF,
        )
        # Nothing wrong toward C: the masquerade is per peer.
        assert "masqueraded-toward-peer" not in check.codes(TRUNK_TO["c"])

        # Measured: A receives 0 of 60 packets in both call directions, B receives 60 of 60.
        a_to_b = w.call("a", "b")
        assert a_to_b.caller_sdp == A_SELF
        assert_one_way_to_a(a_to_b)
        b_to_a = w.call("b", "a")
        assert b_to_a.callee_sdp == A_SELF
        assert_one_way_to_a(b_to_a)


def test_2_renumbered_stale_provider_fixed_by_sync(tmp_path: Path) -> None:
    """A renumbered in B's tailnet (NAT gone), B's provider still has the old host."""
    net = Tailnet(masquerade=False)
    with world(tmp_path, net, name="2 renumbered", b_to_a_host=A_MASQ, api_roles=("b",)) as w:
        check = w.st["b"].check()
        assert check.rc == 2, check.stdout + check.stderr
        f = check.finding("host-differs-from-advertised")
        assert (f["provider"], f["severity"]) == (TRUNK_TO["a"], "critical")
        assert (f["configured"], f["advertised"]) == (A_MASQ, A_SELF)

        # Before: B dials the old address, which belongs to nobody now: no call, no audio.
        before = w.call("b", "a", expect_setup=False)
        assert before.caller_rc != 0, before.describe()
        assert before.received == {"a": 0, "b": 0}, before.describe()
        assert before.lost_in_tailnet >= 1, before.describe()  # the INVITE, retransmitted

        assert_ok(w.st["b"].sync(), "sdp-guard sync --yes")
        provider = w.st["b"].provider("a")
        assert provider.host == A_SELF
        assert A_MASQ not in provider.extra_hosts and A_SELF in provider.extra_hosts
        assert provider.note == "Trunk to station A over the tailnet"  # API trap: note kept
        recheck = w.st["b"].check()
        assert "host-differs-from-advertised" not in recheck.codes(), recheck.stdout

        # After: B dials 100.101.1.1; two-way in both directions (60/60 measured).
        b_to_a = w.call("b", "a")
        assert b_to_a.target == A_SELF
        assert_two_way(b_to_a)
        assert_two_way(w.call("a", "b"))


def _taken_world(tmp_path: Path, name: str) -> contextlib.AbstractContextManager[World]:
    # B's tailnet gave A's advertised address to another machine: renumbering is impossible.
    return world(
        tmp_path, Tailnet(masquerade=True, taken_by="station-x"), name=name, api_roles=("a",)
    )


def test_3_renumbering_impossible_fixed_by_media_address_fallback(tmp_path: Path) -> None:
    with _taken_world(tmp_path, "3 fallback") as w:
        check_b = w.st["b"].check()
        assert check_b.rc == 2, check_b.stdout + check_b.stderr
        taken = check_b.finding("advertised-address-taken")
        assert (taken["station"], taken["advertised"]) == ("station-a", A_SELF)
        check_a = w.st["a"].check()
        assert check_a.rc == 2, check_a.stdout + check_a.stderr
        assert "masqueraded-toward-peer" in check_a.codes(TRUNK_TO["b"])
        assert_one_way_to_a(w.call("b", "a"))

        assert_ok(w.st["a"].sync("--fallback", "media-address"), "sync --fallback media-address")
        # A tells B (and only B) the address B knows it by; the operator's lines are kept.
        to_b, to_c = w.st["a"].provider("b"), w.st["a"].provider("c")
        assert media_address(to_b.manual) == A_MASQ
        for line in A_TO_B_MANUAL.splitlines():
            assert line in to_b.manual.splitlines(), to_b.manual
        assert to_b.host == B_SELF
        assert media_address(to_c.manual) is None and to_c.host == C_SELF

        # NAT still on, yet two-way both directions (60/60); toward C A keeps its own address.
        b_to_a = w.call("b", "a")
        assert b_to_a.callee_sdp == A_MASQ
        assert_two_way(b_to_a)
        a_to_b = w.call("a", "b")
        assert a_to_b.caller_sdp == A_MASQ
        assert_two_way(a_to_b)
        a_to_c = w.call("a", "c")
        assert a_to_c.caller_sdp == A_SELF
        assert_two_way(a_to_c)


def test_4_rollback_of_the_fallback_makes_it_one_way_again(tmp_path: Path) -> None:
    with _taken_world(tmp_path, "4 rollback") as w:
        original = w.st["a"].provider("b").manual
        assert original == A_TO_B_MANUAL
        assert_ok(w.st["a"].sync("--fallback", "media-address"), "sync --fallback media-address")
        assert_two_way(w.call("b", "a"))

        assert_ok(w.st["a"].rollback("--yes"), "sdp-guard rollback")
        # The operator's text is back (MikoPBX's API trims text fields on save, so a trailing
        # newline the DB held before does not survive a round trip through it).
        restored = w.st["a"].provider("b").manual
        assert restored.rstrip("\n") == original.rstrip("\n"), restored
        assert media_address(restored) is None
        # Regression guard: without the fallback the same call loses all 60 packets toward A.
        again = w.call("b", "a")
        assert again.callee_sdp == A_SELF
        assert_one_way_to_a(again)
