"""YAML reading with errors that point at file:line:column."""

from __future__ import annotations

from typing import Any

import yaml

from sdp_guard.errors import Error

try:  # the C loader is ~10x faster; fall back where libyaml is missing
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


def parse_yaml(text: str, path: str, error: type[Error]) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        what = e.problem or e.context or "invalid YAML"
        raise error(f"{where}: {what}", "fix the YAML syntax at that position") from None
    except yaml.YAMLError as e:
        raise error(f"{path}: invalid YAML: {e}") from None
