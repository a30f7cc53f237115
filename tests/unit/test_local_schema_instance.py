"""instance_for: a deterministic value that validates against a JSON Schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from nanogate.providers.local._schema_instance import instance_for

D2020 = jsonschema.Draft202012Validator
D7 = jsonschema.Draft7Validator
D4 = jsonschema.Draft4Validator

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                "parent": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
            },
            "required": ["value", "children", "parent"],
        }
    },
    "$ref": "#/$defs/node",
}

SCHEMAS: list[tuple[str, dict[str, Any], type[Any]]] = [
    ("empty", {}, D2020),
    ("string", {"type": "string"}, D2020),
    ("integer", {"type": "integer"}, D2020),
    ("number", {"type": "number"}, D2020),
    ("boolean", {"type": "boolean"}, D2020),
    ("null", {"type": "null"}, D2020),
    ("type list", {"type": ["null", "integer"]}, D2020),
    ("const", {"const": {"a": [1, 2]}}, D2020),
    ("enum", {"enum": ["b", "a"]}, D2020),
    ("min length", {"type": "string", "minLength": 20}, D2020),
    ("max length", {"type": "string", "maxLength": 3}, D2020),
    ("length window", {"type": "string", "minLength": 4, "maxLength": 4}, D2020),
    ("integer bounds", {"type": "integer", "minimum": 10, "maximum": 20}, D2020),
    ("negative max", {"type": "integer", "maximum": -7}, D2020),
    ("exclusive int", {"type": "integer", "exclusiveMinimum": 0}, D2020),
    ("exclusive number", {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, D2020),
    ("exclusive max only", {"type": "number", "exclusiveMaximum": 0}, D2020),
    ("multiple of", {"type": "integer", "minimum": 7, "multipleOf": 5}, D2020),
    (
        "multiple of capped",
        {"type": "integer", "minimum": 3, "maximum": 12, "multipleOf": 4},
        D2020,
    ),
    ("draft4 exclusive", {"type": "integer", "minimum": 5, "exclusiveMinimum": True}, D4),
    ("array", {"type": "array", "items": {"type": "string"}}, D2020),
    ("min items", {"type": "array", "items": {"type": "integer"}, "minItems": 3}, D2020),
    ("max items 0", {"type": "array", "items": {"type": "integer"}, "maxItems": 0}, D2020),
    (
        "unique items",
        {"type": "array", "items": {"type": "string"}, "minItems": 3, "uniqueItems": True},
        D2020,
    ),
    (
        "unique enum items",
        {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 2, "uniqueItems": True},
        D2020,
    ),
    (
        "prefix items",
        {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
        D2020,
    ),
    (
        "tuple items draft 7",
        {"type": "array", "items": [{"type": "boolean"}, {"type": "null"}]},
        D7,
    ),
    (
        "object",
        {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
            "required": ["name"],
            "additionalProperties": False,
        },
        D2020,
    ),
    ("required without property", {"type": "object", "required": ["x"]}, D2020),
    (
        "min properties",
        {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2},
        D2020,
    ),
    (
        "max properties",
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "required": ["b"],
            "maxProperties": 1,
        },
        D2020,
    ),
    (
        "defs ref",
        {
            "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}}}},
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/point"}},
        },
        D2020,
    ),
    (
        "definitions ref",
        {
            "definitions": {"id": {"type": "string", "format": "uuid"}},
            "type": "array",
            "items": {"$ref": "#/definitions/id"},
        },
        D7,
    ),
    (
        "anyOf",
        {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]},
        D2020,
    ),
    ("oneOf", {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "array"}]}, D2020),
    (
        "allOf",
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string", "minLength": 9}}, "required": ["b"]},
            ]
        },
        D2020,
    ),
    (
        "allOf bounds",
        {"allOf": [{"type": "integer", "minimum": 4}, {"minimum": 9, "maximum": 12}]},
        D2020,
    ),
    ("recursive tree", TREE, D2020),
    (
        "inferred types",
        {
            "properties": {
                "s": {"minLength": 2},
                "n": {"minimum": 2},
                "a": {"minItems": 1, "items": {"type": "boolean"}},
            }
        },
        D2020,
    ),
    (
        "nested formats",
        {
            "type": "object",
            "properties": {
                fmt: {"type": "string", "format": fmt}
                for fmt in ("date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6")
            },
        },
        D2020,
    ),
]


@pytest.mark.parametrize(
    ("schema", "validator"), [(s, v) for _, s, v in SCHEMAS], ids=[n for n, _, _ in SCHEMAS]
)
def test_instance_validates(schema: dict[str, Any], validator: type[Any]) -> None:
    """The value built for each schema passes a real JSON Schema validator, formats included."""
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(instance_for(schema))


@pytest.mark.parametrize(
    ("schema", "_v"), [(s, v) for _, s, v in SCHEMAS], ids=[n for n, _, _ in SCHEMAS]
)
def test_instance_is_deterministic(schema: dict[str, Any], _v: type[Any]) -> None:
    """The same schema always yields the same value."""
    assert instance_for(schema) == instance_for(schema)


def test_plain_defaults() -> None:
    """Scalars take their documented plain values."""
    assert instance_for({"type": "string"}) == "example"
    assert instance_for({"type": "integer"}) == 0
    assert instance_for({"type": "boolean"}) is True
    assert instance_for({"type": "null"}) is None


def test_format_values_are_fixed() -> None:
    """Formatted strings use fixed, well-known example values."""
    assert instance_for({"type": "string", "format": "date-time"}) == "2024-01-01T00:00:00Z"
    assert instance_for({"type": "string", "format": "date"}) == "2024-01-01"
    assert instance_for({"type": "string", "format": "email"}) == "user@example.com"
    assert instance_for({"type": "string", "format": "uuid"}) == (
        "00000000-0000-4000-8000-000000000000"
    )


def test_keyword_precedence() -> None:
    """const beats enum, enum takes its first member, default is used as given."""
    assert instance_for({"const": 3, "enum": [1, 2, 3]}) == 3
    assert instance_for({"enum": ["b", "a"]}) == "b"
    assert instance_for({"type": "string", "default": "hi"}) == "hi"


def test_any_of_skips_null() -> None:
    """anyOf and oneOf take the first option that is not null."""
    assert instance_for({"anyOf": [{"type": "null"}, {"type": "string"}]}) == "example"
    assert instance_for({"oneOf": [{"type": "null"}, {"type": "integer"}]}) == 0
    assert instance_for({"type": ["null", "boolean"]}) is True


def test_every_property_is_built() -> None:
    """Optional properties are filled in too, not only required ones."""
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a"],
    }
    assert instance_for(schema) == {"a": "example", "b": 0}


def test_string_length_bounds() -> None:
    """minLength pads the string and maxLength truncates it."""
    assert len(instance_for({"type": "string", "minLength": 12})) == 12
    assert instance_for({"type": "string", "maxLength": 3}) == "exa"


def test_array_sizes() -> None:
    """Arrays get max(minItems, 1) items, and none when maxItems is 0."""
    assert instance_for({"type": "array", "items": {"type": "integer"}}) == [0]
    assert len(instance_for({"type": "array", "minItems": 4, "items": {"type": "integer"}})) == 4
    assert instance_for({"type": "array", "maxItems": 0, "items": {"type": "integer"}}) == []


def test_numbers_are_clamped() -> None:
    """Zero moves into the bounds, exclusive bounds and integer multiples respected."""
    assert instance_for({"type": "integer", "minimum": 10}) == 10
    assert instance_for({"type": "integer", "exclusiveMinimum": 10}) == 11
    assert instance_for({"type": "integer", "minimum": 7, "multipleOf": 5}) == 10
    assert instance_for({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}) == 0.5


def test_recursion_terminates() -> None:
    """A recursive schema yields a finite value that still validates."""
    value = instance_for(TREE)
    D2020(TREE).validate(value)
    depth, node = 0, value
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert 1 <= depth < 32


def test_ref_cycle_does_not_hang() -> None:
    """References that only point at each other give up instead of looping."""
    schema = {
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        "$ref": "#/$defs/a",
    }
    assert instance_for(schema) is None


def test_unresolvable_ref_is_any() -> None:
    """A remote or dangling $ref is treated as the empty schema."""
    assert instance_for({"$ref": "https://example.com/schema.json"}) is None
    assert instance_for({"$ref": "#/$defs/missing"}) is None
