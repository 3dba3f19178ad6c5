"""Exceptions raised by the generated validators (the names fastjsonschema's generated code expects).

The validators are generated at development time by ``scripts/gen-validators`` from the JSON
Schemas beside this file, so the runtime needs neither fastjsonschema nor jsonschema (both cost
more start-up time than the whole ``check --snapshot`` budget).
"""

from __future__ import annotations

from typing import Any


class LazyPatterns(dict[str, Any]):
    """Pattern sources compiled on first use (importing the validator compiles nothing)."""

    def __getitem__(self, key: str) -> Any:
        import re

        value = super().__getitem__(key)
        if isinstance(value, str):
            value = re.compile(value)
            self[key] = value
        return value


class JsonSchemaException(ValueError):
    """Base of validation errors."""


class JsonSchemaValueException(JsonSchemaException):
    def __init__(
        self,
        message: str,
        value: Any = None,
        name: str | None = None,
        definition: Any = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.name = name
        self.definition = definition
        self.rule = rule


class JsonSchemaValuesException(JsonSchemaException):
    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        super().__init__(f"{len(errors)} validation errors")
        self.errors = errors
