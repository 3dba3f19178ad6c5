"""The plan: which changes, what waits, and the diff an operator reads."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sdp_guard.core import manualattrs
from sdp_guard.core.diagnose import evaluate
from sdp_guard.core.model import LocalNet, PbxConfig, Peer, Provider, Station, TailnetView
from sdp_guard.core.plan import Plan, apply_changes, plan_sync

SELF = "100.70.10.2"


def apply_plan(pbx: PbxConfig, plan: Plan) -> PbxConfig:
    """The configuration after the plan, as MikoPBX would hold it (the tests' model of apply)."""
    providers = tuple(apply_changes(p, plan.changes_for(p.id)) for p in pbx.providers)
    ln = plan.local_net_change
    local = pbx.local_net
    if ln is not None:
        local = local._replace(local_networks=tuple(ln.new or ()))
    return pbx._replace(providers=providers, local_net=local)


def view(*peers: Peer) -> TailnetView:
    return TailnetView(self_hostname="ochanomizu-pbx", self_ipv4=SELF, peers=peers)


SHIBUYA = Provider(
    id="SIP-TRUNK-7B3D0E55",
    description="Shibuya exchange",
    host="100.88.7.19",
    port=5060,
    registration_type="outbound",
    extra_hosts=("100.88.7.19", "10.1.2.3"),
    note="We register to Shibuya exchange",
)
SHIBUYA_ST = Station("shibuya", "100.88.201.5", node="shibuya-pbx", providers=(SHIBUYA.id,))


def test_renumbered_peer_gets_host_and_stale_extra_host_replaced_unrelated_kept() -> None:
    pbx = PbxConfig((SHIBUYA,))
    v = view(Peer("n3", "shibuya-pbx", ipv4="100.88.201.5"))
    plan = plan_sync(pbx, evaluate(pbx, [SHIBUYA_ST], v))
    assert [(c.op, c.provider, c.field, c.old, c.new) for c in plan.changes] == [
        ("change", SHIBUYA.id, "host", "100.88.7.19", "100.88.201.5"),
        (
            "change",
            SHIBUYA.id,
            "additional_hosts",
            ("100.88.7.19", "10.1.2.3"),
            ("100.88.201.5", "10.1.2.3"),
        ),
    ]
    assert plan.summary == "Plan: 1 provider to change"
    assert plan.render_diff() == (
        "--- current SIP-TRUNK-7B3D0E55 (Shibuya exchange)\n"
        "+++ planned SIP-TRUNK-7B3D0E55 (Shibuya exchange)\n"
        "@@ -1,7 +1,7 @@\n"
        " description: Shibuya exchange\n"
        "-host: 100.88.7.19\n"
        "+host: 100.88.201.5\n"
        " port: 5060\n"
        " registration: outbound\n"
        "-additional host: 100.88.7.19\n"
        "+additional host: 100.88.201.5\n"
        " additional host: 10.1.2.3\n"
        " manual attributes: (none)\n"
    )


def test_host_change_waits_until_the_peer_is_renumbered() -> None:
    pbx = PbxConfig((SHIBUYA,))
    v = view(Peer("n3", "shibuya-pbx", ipv4="100.88.7.19"))  # still at the old address here
    plan = plan_sync(pbx, evaluate(pbx, [SHIBUYA_ST], v))
    assert plan.is_empty
    assert plan.summary == "Plan: 0 providers to change; 1 waiting"
    assert [(w.provider, w.reason) for w in plan.waiting] == [(SHIBUYA.id, "renumber-first")]
    assert "100.88.201.5" in plan.waiting[0].detail
    assert plan.render_diff() == ""


def masq_case(manual: str = "", masq: str | None = "100.99.44.44") -> tuple[PbxConfig, object]:
    ueno = Provider(
        id="SIP-TRUNK-C81E2D07",
        description="Ueno exchange",
        host="100.120.33.8",
        registration_type="inbound",
        manualattributes=manual,
    )
    pbx = PbxConfig((ueno,))
    st_ = Station("ueno", "100.120.33.8", node="ueno-gw")
    peer = Peer("n4", "ueno-gw", ipv4="100.120.33.8", masquerade_v4=masq, whois_known=True)
    return pbx, evaluate(pbx, [st_], view(peer))


def test_fallback_adds_block_only_when_asked_and_removes_it_when_masquerade_is_gone() -> None:
    operator = "[endpoint]\ncallerid = Ueno <0400>\n[aor]\nqualify_timeout = 2.0\n"
    pbx, report = masq_case(operator)
    assert plan_sync(pbx, report).is_empty  # type: ignore[arg-type]
    assert plan_sync(pbx, report).waiting[0].reason == "needs-fallback"  # type: ignore[arg-type]
    plan = plan_sync(pbx, report, fallback_media_address=True)  # type: ignore[arg-type]
    (c,) = plan.changes
    assert (c.op, c.field) == ("add", "manualattributes")
    assert manualattrs.media_address(str(c.new)) == "100.99.44.44"
    assert "+  media_address = 100.99.44.44" in plan.render_diff()

    done = apply_plan(pbx, plan)
    _, gone = masq_case(str(c.new), masq=None)
    undo = plan_sync(done, gone)  # type: ignore[arg-type]
    (r,) = undo.changes
    assert (r.op, r.new) == ("remove", operator)


def test_plan_json_has_stable_keys() -> None:
    pbx = PbxConfig((SHIBUYA,))
    plan = plan_sync(
        pbx, evaluate(pbx, [SHIBUYA_ST], view(Peer("n3", "shibuya-pbx", ipv4="100.88.201.5")))
    )
    doc = json.loads(plan.to_json())
    assert set(doc) == {
        "schema_version",
        "summary",
        "providers_to_change",
        "disabled_included",
        "changes",
        "waiting",
    }
    assert doc["changes"][1]["new"] == ["100.88.201.5", "10.1.2.3"]


def test_local_net_needs_the_flag() -> None:
    ln = LocalNet(
        local_networks=("192.168.1.0/24",),
        internet_topology="private",
        external_address="203.0.113.7",
        known=True,
    )
    pbx = PbxConfig((SHIBUYA,), ln)
    v = view(Peer("n3", "shibuya-pbx", ipv4="100.88.201.5"))
    report = evaluate(pbx, [SHIBUYA_ST], v)
    assert [w.reason for w in plan_sync(pbx, report).waiting] == ["needs-fix-local-net"]
    plan = plan_sync(pbx, report, fix_local_net=True)
    assert plan.local_net_change is not None
    assert plan.summary == "Plan: 1 provider to change, local network 100.64.0.0/10 to add"
    assert "+local network: 100.64.0.0/10" in plan.render_diff()


# ------------------------------------------------------------------ idempotence (Hypothesis)

octet = st.integers(1, 254)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[PbxConfig, list[Station], TailnetView]:
    n = draw(st.integers(1, 4))
    stations, peers, providers = [], [], []
    used: set[str] = {SELF}
    for i in range(n):
        adv = f"100.{64 + i}.{draw(octet)}.{draw(octet)}"
        old = f"100.{80 + i}.{draw(octet)}.{draw(octet)}"
        used |= {adv, old}
        renumbered = draw(st.booleans())
        masq = draw(st.sampled_from([None, SELF, f"100.99.{i}.{draw(octet)}"]))
        peers.append(
            Peer(
                f"n{i}",
                f"pbx{i}",
                ipv4=adv if renumbered else old,
                masquerade_v4=masq,
                whois_known=masq is not None,
            )
        )
        extra = draw(
            st.lists(
                st.sampled_from([old, adv, f"10.0.{i}.1", "sip.example.net"]),
                max_size=3,
                unique=True,
            )
        )
        manual = draw(st.sampled_from(["", "[endpoint]\nfoo = 1\n", "[aor]\nx=1"]))
        host = draw(st.sampled_from([old, adv]))
        pid = f"SIP-TRUNK-{i:08X}"
        providers.append(
            Provider(pid, f"p{i}", host=host, extra_hosts=tuple(extra), manualattributes=manual)
        )
        stations.append(Station(f"s{i}", adv, node=f"pbx{i}", providers=(pid,)))
    return PbxConfig(tuple(providers)), stations, view(*peers)


@settings(max_examples=150, deadline=None)
@given(scenario(), st.booleans())
def test_planning_again_after_applying_gives_an_empty_plan(sc, fallback: bool) -> None:  # type: ignore[no-untyped-def]
    pbx, stations, v = sc
    plan = plan_sync(pbx, evaluate(pbx, stations, v), fallback_media_address=fallback)
    after = apply_plan(pbx, plan)
    again = plan_sync(after, evaluate(after, stations, v), fallback_media_address=fallback)
    assert again.is_empty, again.changes
    for p in after.providers:  # unrelated extra hosts survive
        before = next(q for q in pbx.providers if q.id == p.id)
        for a in before.extra_hosts:
            if not a.startswith("100."):
                assert a in p.extra_hosts
