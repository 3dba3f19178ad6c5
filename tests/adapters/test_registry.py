"""The YAML registry: what operators type, and the errors they get back."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sdp_guard.adapters.registry import load_registry, parse_registry
from sdp_guard.errors import RegistryError
from tests.conftest import ROOT

GOOD = """\
stations:
  - name: kanda
    ipv4: 100.101.12.34
    node: kanda-pbx
    identifier: 6f1c0b6e-0000-4000-8000-000000000001
    ipv6: fd7a:115c:a1e0::1
    providers: [SIP-TRUNK-4F2A9C1E]
  - name: ueno
    ipv4: 100.120.33.8
"""


def test_good_registry() -> None:
    kanda, ueno = parse_registry(GOOD)
    assert (kanda.name, kanda.ipv4, kanda.node, kanda.providers) == (
        "kanda",
        "100.101.12.34",
        "kanda-pbx",
        ("SIP-TRUNK-4F2A9C1E",),
    )
    assert (ueno.node, ueno.providers) == ("", ())


@pytest.mark.parametrize("text", ["", "   \n\n", "# all commented out\n"])
def test_empty_registry_is_an_error_unless_it_says_so(text: str) -> None:
    # A registry truncated to nothing mid-write must not read as "no stations" (issue 14).
    with pytest.raises(RegistryError, match="is empty"):
        parse_registry(text)
    assert parse_registry("stations: []\n") == ()


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (
            "stations:\n  - name: a\n  ipv4: 1\n",
            "stations.yaml:3:3: did not find expected '-' indicator",
        ),
        (
            GOOD.replace("100.120.33.8", "10.0.0.1"),
            "stations.yaml:9: station #2 (ueno): field ipv4: expected an IPv4 address in 100.64.0.0/10",
        ),
        (GOOD.replace("100.120.33.8", "100.128.0.1"), "station #2 (ueno): field ipv4"),
        ("stations:\n  - name: a\n", "station #1 (a): must contain ['ipv4'] properties"),
        (
            "stations:\n  - name: a\n    ipv4: 100.64.0.1\n    colour: red\n",
            "unknown field(s) colour",
        ),
        (
            "stations:\n  - {name: a, ipv4: 100.64.0.1, providers: SIP-1}\n",
            "field providers: expected a list",
        ),
        ("- a\n- b\n", "expected a mapping with a 'stations' list"),
        (
            GOOD + "  - name: kanda\n    ipv4: 100.64.0.9\n",
            "station #3 (kanda) has the same name 'kanda' as station #1",
        ),
        (
            GOOD + "  - name: x\n    ipv4: 100.120.33.8\n",
            "stations.yaml:10: station #3 (x) has the same ipv4",
        ),
        (
            GOOD + "  - {name: y, ipv4: 100.64.0.7, providers: [SIP-TRUNK-4F2A9C1E]}\n",
            "listed under both kanda and y",
        ),
    ],
)
def test_bad_registry_errors_point_at_the_problem(text: str, expect: str) -> None:
    with pytest.raises(RegistryError) as e:
        parse_registry(text)
    assert expect in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(str(tmp_path / "stations.yaml"))


def test_generated_validator_is_up_to_date() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-validators"), "--check"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        resources.files("sdp_guard.schemas").joinpath("stations.schema.json").read_text()
    )
    return schema


octet = st.integers(0, 255)
any_v4 = st.tuples(octet, octet, octet, octet).map(lambda t: ".".join(map(str, t)))
station = st.fixed_dictionaries(
    {"name": st.text(min_size=0, max_size=5), "ipv4": st.one_of(any_v4, st.text(max_size=8))},
    optional={
        "node": st.text(max_size=5),
        "providers": st.one_of(st.lists(st.text(max_size=4), max_size=2), st.text(max_size=3)),
        "colour": st.just("red"),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(station, max_size=3))
def test_runtime_validator_agrees_with_jsonschema(stations: list[dict[str, Any]]) -> None:
    doc = {"stations": stations}
    schema_ok = jsonschema.Draft7Validator(_schema()).is_valid(doc)
    from sdp_guard.schemas._errors import JsonSchemaValueException
    from sdp_guard.schemas._stations_validator import validate

    try:
        validate(doc)
        runtime_ok = True
    except JsonSchemaValueException:
        runtime_ok = False
    assert runtime_ok == schema_ok


def test_demo_registry_is_valid_against_schema() -> None:
    from sdp_guard.demo import REGISTRY

    jsonschema.validate(yaml.safe_load(REGISTRY), _schema())
