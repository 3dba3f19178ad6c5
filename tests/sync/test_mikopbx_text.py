"""The prediction of what MikoPBX's API does to text (core/mikopbx_text.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sdp_guard.core import mikopbx_text as mt
from tests.fakes import mikopbx_api as fake


def test_the_keys_of_core_1029_are_eaten_with_everything_after_them() -> None:
    for key in ("rewrite_contact", "context", "max_contacts", "tone_zone"):
        text = f"[endpoint]\ndtmf_mode = rfc4733\n{key} = x\n[aor]\nqualify_frequency = 30\n"
        a = mt.alteration("manualattributes", text)
        assert a is not None, key
        assert [n for n, _ in a.lines] == [3, 4, 5]
        assert f"line 3 `{key} = x`" in a.describe()


def test_trimming_the_ends_is_not_an_alteration() -> None:
    assert (
        mt.alteration("manualattributes", "\n[endpoint]\nmedia_address = 100.70.10.2\n\n") is None
    )
    assert mt.alteration("note", "  Kanda trunk  ") is None


def test_a_long_note_is_cut_to_500_characters() -> None:
    a = mt.alteration("note", "x" * 501)
    assert a is not None and a.cut and "first 500 characters" in a.describe()
    assert mt.alteration("note", "x" * 500) is None


def test_printing_a_line_strips_control_characters() -> None:
    a = mt.alteration("note", "a\nonline=\x1b[31mred")
    assert a is not None and "\x1b" not in a.describe()


TOKENS = [*"aonc_=x <>/\n\t:'\"", "on", "context", "<script>", "</script>", "<form", "update set"]
TEXT = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_prediction_agrees_with_the_test_server(text: str) -> None:
    """Two independent readings of TextFieldProcessor agree (src vs tests/fakes)."""
    assert mt.stored("manualattributes", text) == fake.sanitize_for_storage(
        text.strip(fake.PHP_TRIM)
    )
    assert bool(mt.refusals("note", text)) == bool(fake.dangerous(mt.stored("note", text)))


def test_the_test_server_applies_the_rules_over_http(sample_db: Any) -> None:
    """R2, R5-R7, R11 of tests/fakes/mikopbx_api.py, through its HTTP front."""
    import pytest

    from sdp_guard.adapters.mikopbx_api import ApiRejected, MikoPbxApi

    with fake.running_server(sample_db) as srv:
        api = MikoPbxApi(srv.url)
        pid = "SIP-TRUNK-7B3D0E55"
        got = api.patch_provider(
            pid,
            {
                "note": "  " + "n" * 600,
                "manualattributes": "[endpoint]\ndtmf_mode = rfc4733\ncontext = x\n[aor]\n",
            },
        )
        assert got["note"] == "n" * 500
        assert got["manualattributes"] == "[endpoint]\ndtmf_mode = rfc4733\nc"  # c(on…)
        assert (
            mt.stored("manualattributes", "[endpoint]\ndtmf_mode = rfc4733\ncontext = x\n")
            == (got["manualattributes"])
        )
        with pytest.raises(ApiRejected, match="Dangerous content detected in fields: note"):
            api.patch_provider(pid, {"note": "update the trunk, set codecs"})
        assert api.get_provider(pid)["note"] == "n" * 500  # a refused save changes nothing
