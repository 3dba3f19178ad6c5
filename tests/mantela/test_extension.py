"""The aboutMe.tailnet schema file and the runtime validator agree, and say useful things."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from sdp_guard.core.mantela_doc import decode_document
from sdp_guard.core.mantela_ext import extension_from_json, validate_tailnet
from tests.mantela.docs import dumps, station

SCHEMA = json.loads(
    resources.files("sdp_guard.schemas").joinpath("mantela-tailnet.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def test_schema_is_valid_draft_2020_12_and_its_examples_pass() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for ex in SCHEMA["examples"]:
        assert VALIDATOR.is_valid(ex)
        assert validate_tailnet(ex) == []


def _near_ipv4() -> st.SearchStrategy[str]:
    octet = st.integers(0, 300).map(str) | st.sampled_from(["01", "", "1a", "256"])
    first = st.sampled_from(["100", "10", "101", "99"])
    return st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", first, octet, octet, octet)


_VALUES: Any = {
    "ipv4": _near_ipv4() | st.text(max_size=8) | st.integers(),
    "node": st.from_regex(r"[A-Za-z0-9_.-]{0,70}", fullmatch=True) | st.integers(),
    "ipv6": st.sampled_from(
        [
            "fd7a:115c:a1e0::1",
            "FD7A:115C:A1E0::ab",
            "fd7a:115c:a1e1::1",
            "fe80::1",
            "fd7a::1",
            "fd7a:115c:a1e0::1%eth0",
            "100.64.0.1",
            "fd7a:115c:a1e0:ab12:4843:cd96:6265:6667",
        ]
    )
    | st.text(max_size=6),
    "updated": st.sampled_from(
        ["2026-11-28", "2026-02-30", "2026-13-01", "26-11-28", "2026-1-5", "2024-02-29"]
    )
    | st.text(max_size=10),
    "invite": st.just("https://login.tailscale.com/admin/invite/xxxx"),
}


@st.composite
def _candidates(draw: Any) -> Any:
    keys = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=5))
    obj = {k: draw(_VALUES[k]) for k in keys}
    if draw(st.booleans()):
        return obj
    return draw(st.sampled_from([obj, [obj], "100.64.0.1", None]))


@settings(max_examples=400, deadline=None)
@given(_candidates())
def test_runtime_validator_agrees_with_the_schema(obj: Any) -> None:
    # jsonschema evaluates "pattern" with Python's re.search, where "$" also matches before a
    # final newline; ECMA-262 (the schema's dialect) does not. Leave that quirk out.
    if isinstance(obj, dict) and any(isinstance(v, str) and v.endswith("\n") for v in obj.values()):
        return
    assert (validate_tailnet(obj) == []) == VALIDATOR.is_valid(obj), (obj, validate_tailnet(obj))


def test_schema_rejects_extra_keys_so_no_secret_can_ride_along() -> None:
    obj = {"ipv4": "100.101.1.1", "invite": "https://login.tailscale.com/admin/invite/x"}
    assert not VALIDATOR.is_valid(obj)
    assert any("invite" in p for p in validate_tailnet(obj))


def test_messages_name_the_field_and_the_rule() -> None:
    assert validate_tailnet({"ipv4": "192.168.1.1"}) == [
        "ipv4: 192.168.1.1 is outside Tailscale's range 100.64.0.0/10"
    ]
    assert validate_tailnet({"node": "a"})[0].startswith("ipv4: missing")
    assert "calendar date" in validate_tailnet({"ipv4": "100.64.0.1", "updated": "2026-02-30"})[0]


def test_reader_is_tolerant_of_extras_and_bad_optional_fields() -> None:
    ext, notes = extension_from_json(
        {"ipv4": "100.101.1.1", "node": "bad name!", "updated": "yesterday", "future": 1}
    )
    assert ext is not None and ext.ipv4 == "100.101.1.1" and ext.node == "" and ext.updated == ""
    assert any("future" in n for n in notes) and any("node" in n for n in notes)
    ext, notes = extension_from_json({"ipv4": "10.0.0.1", "node": "a"})
    assert ext is None and "outside" in notes[-1]


def test_decode_mixed_versions_and_missing_optional_fields() -> None:
    doc = station("Old Station", "id-1", version="0.0.1", tailnet={"ipv4": "100.70.0.1"})
    del doc["providers"]
    del doc["aboutMe"]["sipUri"]
    d = decode_document(dumps(doc))
    assert d.tailnet is not None and d.tailnet.ipv4 == "100.70.0.1"
    assert any("0.0.1" in n for n in d.notes) and any("providers" in n for n in d.notes)


def test_names_with_newlines_are_flattened() -> None:
    d = decode_document(dumps(station("Tokyo\n  Station ", "id-2")))
    assert d.name == "Tokyo Station"
