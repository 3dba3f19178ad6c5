"""The sdp-guard media_address block keeps everything the operator wrote, byte for byte."""

from __future__ import annotations

from typing import cast

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sdp_guard.core import manualattrs


def parse_ini_settings(text: str) -> dict[str, dict[str, object]]:
    """A Python port of MikoPBX ``Util::parseIniSettings`` (mikopbx/Core @ e26e6b97,
    src/Core/System/Util.php l.692-760): what Asterisk ends up with."""
    rows = []
    for row in text.split("\n"):
        row = row.strip(" \t\n\r\0\x0b")
        pos = row.find("]")
        if pos != -1 and row.startswith("["):
            row = "\n" + row[: pos + 1]
        rows.append(row)
    text = "\n".join(rows)
    have_section = "[" in text
    data: dict[str, dict[str, object]] = {}
    for section in text.replace("]", "").split("\n["):
        lines = section.strip(" \t\n\r\0\x0b").split("\n")
        name = lines[0].strip(" \t\n\r\0\x0b") if lines else ""
        if not have_section and "=" in name:
            name = " "
        else:
            lines = lines[1:]
        data[name] = {}
        for row in lines:
            if "=" not in row:
                continue
            key, _, value = row.partition("=")
            key, value = key.strip(), value.strip()
            if (value != "0" and not value) or not key:
                continue
            if key == "set_var" and name == "endpoint":
                data[name].setdefault(key, [])
                cast(list[str], data[name][key]).append(value)
            else:
                data[name][key] = value
    return data


line = st.one_of(
    st.sampled_from(
        [
            "[endpoint]",
            " [endpoint] ",
            "[aor]",
            "[identify]",
            "media_address = 100.70.10.2",
            "callerid = Kanda <0300>",
            "set_var = A=1",
            "; a comment",
            "",
            "\r",
            "  ",
        ]
    ),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=20),
)
operator_text = (
    st.lists(line, max_size=12)
    .map("\n".join)
    .filter(lambda t: manualattrs.BEGIN not in t and manualattrs.END not in t)
)
address = st.tuples(*(st.integers(0, 255),) * 2).map(lambda t: f"100.99.{t[0]}.{t[1]}")


@settings(max_examples=400, deadline=None)
@given(operator_text, st.sampled_from(["", "\n"]), address, address)
def test_block_round_trip_keeps_operator_text_byte_for_byte(
    text: str, tail: str, a: str, b: str
) -> None:
    text += tail
    with_block = manualattrs.set_media_address(text, a)
    assert manualattrs.media_address(with_block) == a
    assert manualattrs.remove_media_address(with_block) == text
    assert manualattrs.set_media_address(with_block, b) == manualattrs.set_media_address(text, b)
    assert manualattrs.remove_media_address(text) == text


@settings(max_examples=300, deadline=None)
@given(operator_text, address)
@example("[endpoint]\n[", "100.99.1.1")  # a bare "[" opens a section for parseIniSettings
@example("[endpoint]\n  [aor", "100.99.1.1")
def test_asterisk_gets_our_media_address_and_everything_else_unchanged(text: str, a: str) -> None:
    before = parse_ini_settings(text)
    after = parse_ini_settings(manualattrs.set_media_address(text, a))
    assert after["endpoint"]["media_address"] == a
    for section, keys in before.items():
        if section in (" ",):  # the legacy no-section block is ignored by providers
            continue
        for key, value in keys.items():
            if (section, key) != ("endpoint", "media_address"):
                assert after[section][key] == value


def test_block_goes_into_the_last_endpoint_section_before_the_next_one() -> None:
    text = "[endpoint]\ncallerid = Kanda <0300>\n[aor]\nqualify_timeout = 2.0\n"
    assert manualattrs.set_media_address(text, "100.99.44.44") == (
        "[endpoint]\ncallerid = Kanda <0300>\n"
        f"{manualattrs.BEGIN}\nmedia_address = 100.99.44.44\n{manualattrs.END}\n"
        "[aor]\nqualify_timeout = 2.0\n"
    )


def test_operator_media_address_is_overridden_by_the_later_block() -> None:
    text = "[endpoint]\nmedia_address = 100.70.10.2\n"
    out = manualattrs.set_media_address(text, "100.99.1.1")
    assert parse_ini_settings(out)["endpoint"]["media_address"] == "100.99.1.1"
    assert parse_ini_settings(manualattrs.remove_media_address(out))["endpoint"] == {
        "media_address": "100.70.10.2"
    }
