"""Fuzz targets: the registry (stations.yaml) through ``check``, the configuration through
``config show``. Issue 14: exit code in the documented set, no traceback, bounded time/memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import Budget, fuzz_settings
from tests.fuzz.clirun import CHECK_CODES, assert_clean, run_cli
from tests.fuzz.strategies import SJIS, damaged, deep, nasty_text, scalars

ALIAS_BOMB = (
    b'a: &a ["l","l","l","l","l","l","l","l","l"]\n'
    b"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    b"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    b"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\nstations: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)
YAML_ATTACKS = [
    b"",
    b"   \n\t\n",
    b"# only a comment\n",
    ALIAS_BOMB,
    b"stations: &s [*s]\n",
    b"stations: []\nstations: []\n",
    b"stations:\n  - name: A\n    name: B\n    ipv4: 100.64.0.1\n",
    b"stations: " + b"9" * 5000 + b"\n",
    b"recheck: " + b"9" * 5000 + b"\n",
    b"# " + SJIS + b"\nstations: []\n",
    b"\xef\xbb\xbfstations: []\n",
    b"stations: *nope\n",
    b"stations: !!python/object/apply:os.system [id]\n",
    b"stations: 2020-13-45\n",
    b"stations:\n\t- name: tab\n",
    b'stations:\n  - name: "\x1b[2J"\n    ipv4: 100.64.0.1\n',
    b'stations:\n  - {name: "a\\nsdp-guard: finding cleared", ipv4: 100.64.0.9}\n',
    b"x: " + b"y" * (3 * 1024 * 1024) + b"\n",
]

STATION = st.fixed_dictionaries(
    {
        "name": nasty_text(),
        "ipv4": st.one_of(st.sampled_from(["100.88.201.5", "100.64.0.1", "10.0.0.1"]), scalars()),
    },
    optional={
        "node": nasty_text(),
        "identifier": nasty_text(),
        "ipv6": st.one_of(st.just("fd7a:115c:a1e0::1"), scalars()),
        "providers": st.lists(
            st.one_of(st.sampled_from(["SIP-TRUNK-7B3D0E55", "SIP-TRUNK-4F2A9C1E"]), scalars()),
            max_size=3,
        ),
        "extra": scalars(),
    },
)


def _yaml(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True).encode("utf-8")


def registry_bytes(real: bytes) -> st.SearchStrategy[bytes]:
    docs = st.one_of(
        st.fixed_dictionaries({"stations": st.lists(STATION, max_size=5)}),
        st.dictionaries(nasty_text(), scalars(), max_size=3),
        st.lists(STATION, max_size=2),
        scalars(),
    ).map(_yaml)
    return st.one_of(
        damaged(st.just(real)),  # the real registry, truncated or damaged mid-write
        docs,
        damaged(docs),
        st.sampled_from(YAML_ATTACKS),
        deep(b"[", b"]"),
        st.binary(max_size=300),
    )


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sdp_guard import demo

    return demo.build(str(tmp_path_factory.mktemp("fuzz-registry")))


def test_registry_through_check(station: Any) -> None:
    real = Path(station.registry).read_bytes()
    target = Path(station.registry).with_name("fuzzed.yaml")
    base = ["check", "--config", "/dev/null", "--db", station.db, "--snapshot", station.snapshot]
    with Budget("registry (check)", seconds=2.0) as budget:

        @fuzz_settings()
        @given(data=registry_bytes(real), as_json=st.booleans())
        def case(data: bytes, as_json: bool) -> None:
            target.write_bytes(data)
            argv = [*base, "--registry", str(target), *(["--json"] if as_json else [])]
            with budget.case():
                rc, out, err = run_cli(argv)
            assert_clean(rc, out, err, CHECK_CODES, json_out=as_json)
            budget.outcome(f"exit {rc}")

        case()
        budget.done()


CONFIG_LEAVES = "db api_url socket file mantela_url listen recheck_seconds auto_sync interface"
CONFIG_LEAVES += " api_token_file"
CONFIG_DOC = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [
                "mikopbx",
                "tailscale",
                "registry",
                "daemon",
                "lang",
                "state_dir",
                "mikopbx.api_url",
                "daemon.recheck_seconds",
            ]
        ),
        nasty_text(),
    ),
    st.one_of(
        scalars(),
        st.dictionaries(
            st.sampled_from(CONFIG_LEAVES.split()),
            scalars(),
            max_size=3,
        ),
    ),
    max_size=4,
)


def test_config_through_config_show(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    real = (
        b"mikopbx:\n  api_url: http://127.0.0.1\nregistry:\n  file: /etc/sdp-guard/stations.yaml\n"
        b"daemon:\n  listen: 127.0.0.1:8796\n  recheck_seconds: 60\n  auto_sync: off\nlang: ja\n"
    )
    docs = CONFIG_DOC.map(_yaml)
    data_st = st.one_of(damaged(st.just(real)), docs, damaged(docs), st.sampled_from(YAML_ATTACKS))
    with Budget("config (config show)", seconds=2.0) as budget:

        @fuzz_settings()
        @given(data=data_st)
        def case(data: bytes) -> None:
            target.write_bytes(data)
            with budget.case():
                rc, out, err = run_cli(["config", "show", "--config", str(target)])
            assert_clean(rc, out, err, {0, 78})
            budget.outcome(f"exit {rc}")

        case()
        budget.done()
