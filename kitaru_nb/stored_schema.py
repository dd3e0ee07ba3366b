"""A pydantic type rebuilt from a wait's stored JSON Schema, so another process judges answers as the flow does.

The journal stores each wait's schema as the JSON Schema pydantic generated for it. A process
that did not run the flow (the Jupyter server behind the sidebar, a script answering with
``KitaruClient``) has no live ``TypeAdapter``; it rebuilds one here and validates with pydantic
itself, in lax mode, so it gives pydantic's verdict and pydantic's wording: ``"7"`` is an int,
``"yes"`` a bool, ``pattern`` uses pydantic's regex engine (``$`` does not match before a final
newline), ``NaN`` fails ``ge``/``le``.

What is mapped (everything pydantic emits for the types SPEC lists for ``wait(schema=...)``):

- ``type`` string (``minLength``, ``maxLength``, ``pattern``; ``format`` date, date-time, time,
  duration, uuid, binary, uri), integer and number (``minimum``, ``maximum``,
  ``exclusiveMinimum``, ``exclusiveMaximum``, ``multipleOf``), boolean, null;
- array (``items``, ``minItems``, ``maxItems``, ``uniqueItems`` -> a set, ``prefixItems`` -> a
  tuple); object with ``properties`` / ``required`` / ``additionalProperties`` (a model: extra keys
  ignored, forbidden or allowed as stored) or with only ``additionalProperties`` (a dict);
- ``enum`` inline -> ``Literal``; ``enum`` under ``$defs``, or as the whole schema with a title (how
  pydantic writes an ``Enum``; a ``Literal`` has no title there) -> an ``Enum`` (an ``IntEnum`` when every
  value is an int, so ``"1"`` is accepted as pydantic accepts it for an ``IntEnum``); ``const``;
  ``anyOf`` (``Optional``, unions); ``oneOf`` with a ``discriminator`` (a tagged union); ``allOf`` with one member; ``$ref`` into ``$defs``; ``{}`` (any
  value); annotations (title, description, default, examples, ...) are ignored.

What the schema cannot say is not judged here: custom validators, ``strict`` fields, a plain
``Enum`` of ints (stored like an ``IntEnum``: ``"1"`` is accepted and stored as ``1``, which the
flow accepts), an ``HttpUrl``'s schemes. An object is rebuilt as a model, so the verdict on a
``TypedDict`` or a dataclass is the same but a value that is not an object at all is told
"Input should be a valid dictionary or instance of X" where the flow would say "Input should be
a valid dictionary" (the schema does not say which of the three it was). The flow validates the recorded answer again with its
live adapter when it resumes and fails the wait with the reasons if it does not fit.

A schema with a feature outside this list (``oneOf`` without a discriminator, recursive
``$ref``, ``patternProperties``, an unknown ``format``, ...) raises ``Unmappable``; the caller
then falls back to JSON Schema validation (jsonschema), whose wording differs from pydantic's.
"""

from __future__ import annotations

import datetime
import enum
import functools
import json
import keyword
import uuid
from typing import Annotated, Any, Literal, Union

_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment"}
)
_NUMBER_KEYS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
}
_STRING_KEYS = {"minLength": "min_length", "maxLength": "max_length", "pattern": "pattern"}
_ARRAY_KEYS = {"minItems": "min_length", "maxItems": "max_length"}
_FORMATS: dict[str, Any] = {
    "date": datetime.date,
    "date-time": datetime.datetime,
    "time": datetime.time,
    "duration": datetime.timedelta,
    "uuid": uuid.UUID,
    "binary": bytes,
}


class Unmappable(Exception):
    """The stored schema uses a JSON Schema feature this module does not rebuild."""


@functools.lru_cache(maxsize=256)
def adapter_for_schema_text(schema_text: str) -> Any:
    """The pydantic ``TypeAdapter`` for a stored schema text (cached per text), or raises ``Unmappable``."""
    from pydantic import TypeAdapter

    schema = json.loads(schema_text)
    return TypeAdapter(_Builder(schema).build(schema))


class _Builder:
    def __init__(self, root: Any):
        defs = root.get("$defs", {}) if isinstance(root, dict) else {}
        self.defs: dict[str, Any] = defs if isinstance(defs, dict) else {}
        self.built: dict[str, Any] = {}
        self.building: set[str] = set()

    def build(self, node: Any, *, is_root: bool = True) -> Any:
        if node is True:
            return Any
        if not isinstance(node, dict):
            raise Unmappable(f"schema node {node!r}")
        keys = set(node) - _ANNOTATIONS - ({"$defs"} if is_root else set())
        if "$ref" in node:
            self._only(keys, {"$ref"}, node)
            return self._ref(node["$ref"])
        if "oneOf" in node:
            return self._tagged_union(node, keys)
        if "allOf" in node:
            self._only(keys, {"allOf"}, node)
            if not isinstance(node["allOf"], list) or len(node["allOf"]) != 1:
                raise Unmappable("allOf with more than one member")
            return self.build(node["allOf"][0], is_root=False)
        if "anyOf" in node:
            self._only(keys, {"anyOf"}, node)
            members = node["anyOf"]
            if not isinstance(members, list) or not members:
                raise Unmappable("anyOf without members")
            types = tuple(self.build(m, is_root=False) for m in members)
            return types[0] if len(types) == 1 else Union[types]  # noqa: UP007 (a runtime tuple of types)
        if "const" in node:
            self._only(keys, {"const", "type"}, node)
            return _literal([node["const"]])
        if "enum" in node:
            self._only(keys, {"enum", "type"}, node)
            if is_root and "title" in node:  # an Enum given as the whole schema (a Literal has no title)
                return _enum_class(str(node["title"]), node["enum"])
            return _literal(node["enum"])
        kind = node.get("type")
        if kind is None:
            self._only(keys, set(), node)
            return Any
        if kind == "string":
            return self._string(node, keys)
        if kind in ("integer", "number"):
            self._only(keys, {"type", *_NUMBER_KEYS}, node)
            return _constrained(int if kind == "integer" else float, node, _NUMBER_KEYS)
        if kind == "boolean":
            self._only(keys, {"type"}, node)
            return bool
        if kind == "null":
            self._only(keys, {"type"}, node)
            return None
        if kind == "array":
            return self._array(node, keys)
        if kind == "object":
            return self._object(node, keys)
        raise Unmappable(f"type {kind!r}")

    @staticmethod
    def _only(keys: set[str], allowed: set[str], node: dict[str, Any]) -> None:
        extra = keys - allowed
        if extra:
            raise Unmappable(f"keywords {sorted(extra)} in {node!r}")

    def _ref(self, ref: Any) -> Any:
        prefix = "#/$defs/"
        if not isinstance(ref, str) or not ref.startswith(prefix) or ref[len(prefix) :] not in self.defs:
            raise Unmappable(f"$ref {ref!r}")
        name = ref[len(prefix) :]
        if name in self.built:
            return self.built[name]
        if name in self.building:
            raise Unmappable(f"recursive $ref {ref!r}")
        self.building.add(name)
        node = self.defs[name]
        if isinstance(node, dict) and "enum" in node:
            self._only(set(node) - _ANNOTATIONS, {"enum", "type"}, node)
            built: Any = _enum_class(str(node.get("title") or name), node["enum"])
        else:
            built = self.build(node, is_root=False)
        self.building.discard(name)
        self.built[name] = built
        return built

    def _tagged_union(self, node: dict[str, Any], keys: set[str]) -> Any:
        """A discriminated union (``oneOf`` + ``discriminator``), judged by its tag as pydantic does."""
        from pydantic import Field

        self._only(keys, {"oneOf", "discriminator"}, node)
        members, tag = node["oneOf"], node.get("discriminator")
        if not isinstance(members, list) or len(members) < 2 or not isinstance(tag, dict):
            raise Unmappable("oneOf without a discriminator")
        prop = tag.get("propertyName")
        if not isinstance(prop, str) or not _field_name_ok(prop):
            raise Unmappable(f"discriminator {tag!r}")
        union: Any = Union[tuple(self.build(m, is_root=False) for m in members)]  # noqa: UP007
        return Annotated[union, Field(discriminator=prop)]

    def _string(self, node: dict[str, Any], keys: set[str]) -> Any:
        fmt = node.get("format")
        if fmt is None:
            self._only(keys, {"type", *_STRING_KEYS}, node)
            return _constrained(str, node, _STRING_KEYS)
        if fmt == "uri":
            from pydantic import AnyUrl

            self._only(keys, {"type", "format", "minLength", "maxLength"}, node)
            return AnyUrl
        if fmt not in _FORMATS:
            raise Unmappable(f"string format {fmt!r}")
        self._only(keys, {"type", "format"}, node)
        return _FORMATS[fmt]

    def _array(self, node: dict[str, Any], keys: set[str]) -> Any:
        self._only(keys, {"type", "items", "prefixItems", "uniqueItems", *_ARRAY_KEYS}, node)
        if "prefixItems" in node:
            prefix = node["prefixItems"]
            if (
                "items" in node
                or not isinstance(prefix, list)
                or node.get("minItems") != len(prefix)
                or node.get("maxItems") != len(prefix)
            ):
                raise Unmappable("prefixItems other than a fixed-length tuple")
            return tuple[tuple(self.build(p, is_root=False) for p in prefix)]  # type: ignore[misc]
        item = self.build(node["items"], is_root=False) if "items" in node else Any
        container: Any = set[item] if node.get("uniqueItems") is True else list[item]  # type: ignore[valid-type]
        return _constrained(container, node, _ARRAY_KEYS)

    def _object(self, node: dict[str, Any], keys: set[str]) -> Any:
        self._only(keys, {"type", "properties", "required", "additionalProperties"}, node)
        extra = node.get("additionalProperties")
        if "properties" not in node:
            if "required" in node:
                raise Unmappable("required without properties")
            value = Any if extra is None or extra is True else self.build(extra, is_root=False)
            return dict[str, value]  # type: ignore[valid-type]
        props, required = node["properties"], node.get("required", [])
        if not isinstance(props, dict) or not isinstance(required, list):
            raise Unmappable("properties / required of the wrong shape")
        if extra is not None and not isinstance(extra, bool):
            raise Unmappable("a model with typed additionalProperties")
        from pydantic import ConfigDict, Field, create_model

        fields: dict[str, Any] = {}
        for i, (key, sub) in enumerate(props.items()):
            tp = self.build(sub, is_root=False)
            # a key that cannot be a field name ("model_config", "_x", "a b") becomes f<i>, aliased to
            # the key: the stored keys are what is validated and what errors name, as in the flow's model
            name = key if _field_name_ok(key) else f"f{i}"
            if key in required:
                fields[name] = (tp, Field(alias=key))
            else:
                fields[name] = (tp, Field(default=None, alias=key))
        mode: Literal["ignore", "allow", "forbid"] = "ignore" if extra is None else "allow" if extra else "forbid"
        config = ConfigDict(extra=mode)
        model: Any = create_model(str(node.get("title") or "Answer"), __config__=config, **fields)
        return model


def _field_name_ok(key: str) -> bool:
    from pydantic import BaseModel

    return key.isidentifier() and not key.startswith("_") and not keyword.iskeyword(key) and not hasattr(BaseModel, key)


def _constrained(base: Any, node: dict[str, Any], keys: dict[str, str]) -> Any:
    from pydantic import Field

    constraints = {keys[k]: node[k] for k in keys if k in node}
    return Annotated[base, Field(**constraints)] if constraints else base


def _literal(values: Any) -> Any:
    if not isinstance(values, list) or not values:
        raise Unmappable("enum without values")
    if any(v is not None and not isinstance(v, (str, int, bool)) for v in values):
        raise Unmappable(f"enum values {values!r}")  # Literal takes no floats, lists or dicts
    return Literal[tuple(values)]


def _enum_class(name: str, values: Any) -> Any:
    if not isinstance(values, list) or not values:
        raise Unmappable("enum without values")
    members = {f"m{i}": v for i, v in enumerate(values)}
    ident = "".join(ch if ch.isalnum() else "_" for ch in name) or "Choice"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return enum.IntEnum(ident, members)
    if any(isinstance(v, (list, dict)) for v in values):
        raise Unmappable(f"enum values {values!r}")
    return enum.Enum(ident, members)
