"""Safe YAML reading for the registry and the configuration, with errors that point at
file:line:column.

Beyond ``yaml.safe_load``:

- a key given twice in one mapping is an error (YAML 1.2 forbids it; PyYAML keeps the last one
  silently, so a copy-pasted station would quietly lose its first address);
- aliases may not expand to more than :data:`MAX_EXPANDED_NODES` nodes, and may not refer to
  themselves: a 400-byte "billion laughs" fails at once instead of growing to gigabytes in
  whoever walks the result;
- an integer over Python's digit limit, an impossible date, bytes that are not UTF-8 (a Shift_JIS
  comment) and an empty file are clear errors, not tracebacks;
- the file is read with a size cap.
"""

from __future__ import annotations

from typing import Any

import yaml

from sdp_guard.errors import Error

try:  # the C parser is ~10x faster; fall back where libyaml is missing
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader

MAX_EXPANDED_NODES = 1_000_000  # 10,000 stations are ~150,000 nodes
EXPANDED_FLOOR = 100_000  # below this, any use of aliases is fine
EXPANSION_RATIO = 10


class _Problem(Exception):
    def __init__(self, text: str, node: yaml.Node | None) -> None:
        super().__init__(text)
        self.text = text
        self.node = node


def _expanded_size(root: yaml.Node) -> int:
    """Nodes the document has once every alias is expanded (iterative; cycles are refused)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            total = 1
            for child in _children(node):
                total += sizes[id(child)]
            if total > MAX_EXPANDED_NODES:
                raise _Problem(f"aliases expand to more than {MAX_EXPANDED_NODES:,} values", node)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in active:
            raise _Problem("an alias refers to the collection that contains it", node)
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                raise _Problem("an alias refers to the collection that contains it", child)
            if id(child) not in sizes:
                stack.append((child, False))
    total = sizes[id(root)]
    if total > max(EXPANDED_FLOOR, EXPANSION_RATIO * len(sizes)):
        raise _Problem(
            f"aliases expand {len(sizes):,} values to {total:,} (more than {EXPANSION_RATIO}x)",
            root,
        )
    return total


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    return []


class SafeLoader(_Base):  # type: ignore[misc]
    def construct_document(self, node: yaml.Node) -> Any:
        _expanded_size(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        raise _Problem(f"key {key_node.value!r} appears twice", key_node)
                    seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise _Problem("number has too many digits", node) from None

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise _Problem(f"{node.value!r} is not a valid date", node) from None


SafeLoader.add_constructor("tag:yaml.org,2002:int", SafeLoader.construct_yaml_int)
SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_timestamp)


def decode_yaml(data: bytes, path: str, error: type[Error]) -> str:
    """UTF-8 (with or without BOM) text, or an error that says where the first bad byte is."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise error(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})",
            "save the file as UTF-8 (a Shift_JIS or other legacy encoding cannot be read; "
            "e.g. `iconv -f SHIFT_JIS -t UTF-8`)",
        ) from e


def parse_yaml(text: str, path: str, error: type[Error]) -> Any:
    try:
        return yaml.load(text, Loader=SafeLoader)
    except _Problem as e:
        where = path
        if e.node is not None:
            mark = e.node.start_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}"
        raise error(f"{where}: {e.text}", "fix the YAML at that position") from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        what = e.problem or e.context or "invalid YAML"
        raise error(f"{where}: {what}", "fix the YAML syntax at that position") from e
    except yaml.YAMLError as e:
        raise error(f"{path}: invalid YAML: {e}") from e
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        raise error(f"{path}: cannot be read as YAML: {type(e).__name__}: {e}") from e
