"""The typed Settings and the option table in config.py describe the same settings."""

from __future__ import annotations

import typing
from pathlib import Path

from sdp_guard import config


def test_settings_has_one_field_per_option_in_table_order() -> None:
    assert config.Settings._fields == tuple(config.field_name(o.key) for o in config.OPTIONS)


def test_each_field_has_the_type_its_reader_returns() -> None:
    fields = typing.get_type_hints(config.Settings)
    for o in config.OPTIONS:
        returns = typing.get_type_hints(o.reader)["return"]
        assert fields[config.field_name(o.key)] == returns, o.key


def test_each_default_is_what_its_reader_accepts() -> None:
    for o in config.OPTIONS:
        if o.default != "":  # empty means "off" or "find it", and the readers refuse nothing else
            assert o.reader(o.default) == o.default, o.key


def test_settings_follow_file_then_command_line(tmp_path: Path) -> None:
    f = tmp_path / "config.yaml"
    f.write_text("daemon:\n  recheck_seconds: 30\nprobe:\n  schedule_minutes: off\n")
    cfg = config.load(str(f))
    assert cfg.settings.daemon_recheck_seconds == 30
    assert cfg.settings.probe_schedule_minutes == "off"
    assert cfg.settings.registry_file == "/etc/sdp-guard/stations.yaml"  # the default
    over = cfg.with_overrides({"daemon.recheck_seconds": "5", "registry.file": "/tmp/s.yaml"})
    assert over.settings.daemon_recheck_seconds == 5
    assert over.settings.registry_file == "/tmp/s.yaml"
    assert over.sources["daemon.recheck_seconds"] == "command line"
    assert over.settings == config.Settings._make(over.values[o.key] for o in config.OPTIONS)
    assert "recheck_seconds: 5" in config.render(over)
