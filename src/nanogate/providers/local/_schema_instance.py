"""A deterministic example value for a JSON Schema: what the local models put in JSON.

``instance_for(schema)`` walks the schema once and builds the plainest value
that validates: every declared property, one array item, ``"example"`` for a
string, zero (moved into the bounds) for a number. It resolves local ``$ref``
pointers and merges ``allOf``; for ``anyOf``/``oneOf`` it takes the first
option that is not ``null``. Recursive schemas are cut off: past a soft depth
only required properties and ``minItems`` items are built (and ``null`` is
preferred where allowed); past a hard depth the value is ``None``.

Not attempted: ``pattern``, ``not``, ``if``/``then``/``else``, ``contains``,
remote references.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_SHALLOW = 8
"""Past this depth build only what the schema requires."""
_MAX_DEPTH = 32
"""Past this depth give up with ``None``."""
_MAX_REFS = 32
"""The most ``$ref``/``allOf`` hops followed at one node (guards ``$ref`` cycles)."""

_FORMATS: dict[str, str] = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri-reference": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_LOWER_BOUNDS = ("minimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "maxLength", "maxItems", "maxProperties")


def instance_for(schema: Mapping[str, Any]) -> Any:
    """A deterministic JSON value that validates against ``schema`` (best effort)."""
    return _Builder(schema).value(schema, 0, 0)


class _Builder:
    """Builds values for the schemas under one root (which ``$ref`` resolves against)."""

    __slots__ = ("_root",)

    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root

    def value(self, schema: Any, depth: int, variant: int) -> Any:
        """A value for ``schema``; ``variant`` > 0 asks for a different one (unique items)."""
        if depth > _MAX_DEPTH or not isinstance(schema, Mapping):
            return None
        schema = self._flatten(schema)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[variant % len(enum)]
        if "default" in schema and variant == 0:
            return schema["default"]
        for keyword in ("anyOf", "oneOf"):
            options = schema.get(keyword)
            if isinstance(options, list) and options:
                rest = {k: v for k, v in schema.items() if k != keyword}
                chosen = _merge(rest, self._flatten(_pick(options, depth)))
                return self.value(chosen, depth + 1, variant)
        kind = _kind(schema)
        if kind == "object":
            return self._object(schema, depth, variant)
        if kind == "array":
            return self._array(schema, depth, variant)
        if kind == "string":
            return _string(schema, variant)
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer", variant)
        if kind == "boolean":
            return variant % 2 == 0
        return None

    def _flatten(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """``schema`` with its ``$ref`` and ``allOf`` merged in."""
        for _ in range(_MAX_REFS):
            if "$ref" in schema:
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                schema = _merge(self._resolve(schema["$ref"]), rest)
            elif isinstance(schema.get("allOf"), list):
                merged: Mapping[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
                for part in schema["allOf"]:
                    if isinstance(part, Mapping):
                        merged = _merge(merged, self._flatten(part))
                schema = merged
            else:
                return schema
        return {}

    def _resolve(self, ref: Any) -> Mapping[str, Any]:
        """The schema a local JSON pointer (``#/$defs/x``) names; ``{}`` if it names none."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node: Any = self._root
        for raw in ref[1:].split("/")[1:]:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return {}
        return node if isinstance(node, Mapping) else {}

    def _object(self, schema: Mapping[str, Any], depth: int, variant: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = [name for name in schema.get("required") or () if isinstance(name, str)]
        extra = schema.get("additionalProperties", True)
        extra_schema: Any = extra if isinstance(extra, Mapping) else {}
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if depth < _SHALLOW or name in required:
                out[name] = self.value(sub, depth + 1, variant)
        for name in required:
            if name not in out:
                out[name] = self.value(extra_schema, depth + 1, variant)
        min_properties = _int(schema.get("minProperties"), 0)
        while len(out) < min_properties and extra is not False:
            out[f"key{len(out)}"] = self.value(extra_schema, depth + 1, variant)
        max_properties = _int(schema.get("maxProperties"), len(out))
        for name in [name for name in out if name not in required][::-1]:
            if len(out) <= max_properties:
                break
            del out[name]
        return out

    def _array(self, schema: Mapping[str, Any], depth: int, variant: int) -> list[Any]:
        items = schema.get("items", {})
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        prefix = prefix if isinstance(prefix, list) else []
        min_items = _int(schema.get("minItems"), 0)
        count = max(min_items, len(prefix)) if depth >= _SHALLOW else max(min_items, 1)
        count = min(count, _int(schema.get("maxItems"), count))
        if items is False:
            count = min(count, len(prefix))
        unique = schema.get("uniqueItems") is True
        out = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            out.append(self.value(sub, depth + 1, variant + index if unique else variant))
        return out


def _pick(options: list[Any], depth: int) -> Mapping[str, Any]:
    """The option to build: the first non-null one, or null itself when deep."""
    choices = [option for option in options if isinstance(option, Mapping)]
    nulls = [option for option in choices if option.get("type") == "null"]
    if depth >= _SHALLOW and nulls:
        return nulls[0]
    non_null = [option for option in choices if option.get("type") != "null"]
    return (non_null or choices or [{}])[0]


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Two schemas combined as ``allOf`` would (properties, required, types, bounds)."""
    out = dict(base)
    for key, value in extra.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(value, Mapping):
            mine = out[key] if isinstance(out[key], Mapping) else {}
            both = {**mine, **value}
            for name in mine.keys() & value.keys():
                both[name] = {"allOf": [mine[name], value[name]]}
            out[key] = both
        elif key == "required" and isinstance(value, list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key == "type":
            mine, theirs = _types(out[key]), _types(value)
            common = [kind for kind in mine if kind in theirs]
            out[key] = common or theirs
        elif key in _LOWER_BOUNDS and _is_number(value) and _is_number(out[key]):
            out[key] = max(out[key], value)
        elif key in _UPPER_BOUNDS and _is_number(value) and _is_number(out[key]):
            out[key] = min(out[key], value)
        else:
            out[key] = value
    return out


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [kind for kind in value if isinstance(kind, str)] if isinstance(value, list) else []


def _kind(schema: Mapping[str, Any]) -> str | None:
    """The JSON type to build: the declared one (first non-null), else inferred."""
    kinds = _types(schema.get("type"))
    if kinds:
        return next((kind for kind in kinds if kind != "null"), kinds[0])
    if "type" in schema:
        return None
    keys = schema.keys()
    if keys & {"properties", "required", "additionalProperties", "minProperties"}:
        return "object"
    if keys & {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"}:
        return "array"
    if keys & {"minLength", "maxLength", "pattern", "format"}:
        return "string"
    if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
        return "number"
    return None


def _string(schema: Mapping[str, Any], variant: int) -> str:
    fmt = schema.get("format")
    base = _FORMATS.get(fmt, "example") if isinstance(fmt, str) else "example"
    suffix = str(variant) if variant and base == "example" else ""
    text = base + suffix
    min_length = _int(schema.get("minLength"), 0)
    if len(text) < min_length:
        text += "x" * (min_length - len(text))
    max_length = _int(schema.get("maxLength"), len(text))
    if len(text) > max_length:
        keep = max(max_length - len(suffix), 0)
        text = (base[:keep] + suffix)[:max_length]
    return text


def _number(schema: Mapping[str, Any], integer: bool, variant: int) -> int | float:
    low, low_open = _bound(schema, "minimum", "exclusiveMinimum", lower=True)
    high, high_open = _bound(schema, "maximum", "exclusiveMaximum", lower=False)
    if integer:
        if low is not None:
            low = math.floor(low) + 1 if low_open else math.ceil(low)
        if high is not None:
            high = math.ceil(high) - 1 if high_open else math.floor(high)
        low_open = high_open = False
    value: float = variant
    if low is not None and (value < low or (low_open and value <= low)):
        value = low + variant
        if low_open:
            value = (low + high) / 2 if high is not None else low + 1
    if high is not None and (value > high or (high_open and value >= high)):
        value = high
        if high_open:
            value = (low + high) / 2 if low is not None else high - 1
    step: Any = schema.get("multipleOf")
    if _is_number(step) and step > 0 and (not integer or float(step).is_integer()):
        multiple = math.ceil(value / step) * step
        if high is not None and multiple > high:
            multiple = math.floor(high / step) * step
        value = multiple
    if integer or float(value).is_integer():
        return int(value)
    return value


def _bound(
    schema: Mapping[str, Any], inclusive: str, exclusive: str, *, lower: bool
) -> tuple[float | None, bool]:
    """The tighter of a schema's inclusive and exclusive bound, and whether it is open."""
    bound = schema.get(inclusive)
    bound = bound if _is_number(bound) else None
    open_ = schema.get(exclusive)
    if open_ is True:  # draft 4: a flag on the inclusive bound
        return bound, bound is not None
    if not _is_number(open_):
        return bound, False
    if bound is None or (open_ >= bound if lower else open_ <= bound):
        return open_, True
    return bound, False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any, fallback: int) -> int:
    return int(value) if _is_number(value) else fallback
