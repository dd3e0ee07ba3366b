"""A form built from a wait's JSON Schema; pydantic (through the client) judges what was typed.

str -> Text, int/float -> Text (the raw value goes to pydantic), bool -> Checkbox,
enum/Literal -> Dropdown, date -> DatePicker, list[str] -> TagsInput, nested
model -> a fieldset, anything else -> JSON in a Textarea. Each field has an
error line under it; ``show_errors`` puts every validation error under the field
its ``loc`` names, and errors about the whole value on top.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

Loc = tuple[str | int, ...]

_OMIT = object()


def slug(path: Loc) -> str:
    """A CSS-class-safe name for a field path (``address.zip`` -> ``address-zip``)."""
    if not path:
        return "value"
    return "-".join(re.sub(r"[^A-Za-z0-9_]", "_", str(p)) for p in path)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (local ``#/$defs/...``), keeping sibling keys (description, default)."""
    seen = 0
    while "$ref" in node and seen < 20:
        ref = node["$ref"]
        target: Any = root
        if isinstance(ref, str) and ref.startswith("#/"):
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
        merged = dict(target) if isinstance(target, dict) else {}
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
        seen += 1
    if "allOf" in node and len(node["allOf"]) == 1:
        inner = _resolve(node["allOf"][0], root)
        node = {**inner, **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def _unwrap_optional(node: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``anyOf: [X, null]`` -> (X with the outer keys, nullable)."""
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list):
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(non_null) == 1 and len(non_null) < len(options):
                inner = _resolve(non_null[0], root)
                outer = {k: v for k, v in node.items() if k != key}
                return {**inner, **outer}, True
    return node, False


def _kind(node: dict[str, Any], root: dict[str, Any]) -> str:
    if "enum" in node or "const" in node:
        return "enum"
    t = node.get("type")
    if t == "string":
        return "date" if node.get("format") == "date" else "str"
    if t in ("integer", "number"):
        return "int" if t == "integer" else "float"
    if t == "boolean":
        return "bool"
    if t == "array":
        items = _resolve(node.get("items", {}), root) if isinstance(node.get("items"), dict) else {}
        if items.get("type") == "string" and "enum" not in items and "format" not in items:
            return "tags"
        return "json"
    if t == "object" and isinstance(node.get("properties"), dict):
        return "object"
    return "json"


def _error_widget(path: Loc) -> W.HTML:
    err = W.HTML(value="")
    err.add_class("kitaru-error")
    err.add_class(f"kitaru-error-{slug(path)}")
    return err


def error_html(messages: list[str]) -> str:
    return "".join(
        f"<div style='color:var(--jp-error-color1, #cf222e);font-size:12px'>{html.escape(m)}</div>" for m in messages
    )


@dataclass
class Field:
    path: Loc
    kind: str
    required: bool
    nullable: bool
    input: Any
    error: W.HTML
    box: Any
    children: list[Field] = field(default_factory=list)

    def raw(self, problems: list[dict[str, Any]]) -> Any:
        """The JSON-ready value to send, or _OMIT to leave the field out (its default applies).

        Text that cannot be read at all (broken JSON) is reported in ``problems`` like a
        validation error, so the form can show it without asking the kernel.
        """
        w = self.input
        if self.kind == "object":
            out: dict[str, Any] = {}
            for ch in self.children:
                v = ch.raw(problems)
                if v is not _OMIT:
                    out[str(ch.path[-1])] = v
            if not out and self.path and not self.required:
                return _OMIT  # an optional nested model left blank keeps its default
            return out
        if self.kind == "bool":
            return bool(w.value)
        if self.kind == "enum":
            return _OMIT if w.value is _OMIT else w.value
        if self.kind == "date":
            return _OMIT if w.value is None else w.value.isoformat()
        if self.kind == "tags":
            return list(w.value)
        text = str(w.value)
        if self.kind == "str":
            return _OMIT if text == "" else text
        stripped = text.strip()
        if stripped == "":
            return _OMIT
        if self.kind in ("int", "float"):
            for conv in (int, float):
                try:
                    return conv(stripped)
                except ValueError:
                    pass
            return text  # pydantic says what is wrong with it
        try:
            return json.loads(stripped)
        except ValueError as exc:
            if stripped[0] in '[{"':
                problems.append({"loc": self.path, "msg": f"not valid JSON: {exc}", "type": "json_invalid"})
                return _OMIT
            return text  # plain words: a string

    def walk(self) -> list[Field]:
        out = [self]
        for ch in self.children:
            out.extend(ch.walk())
        return out


class SchemaForm:
    """Widgets for one JSON Schema: ``.widget`` to display, ``.value()``, ``.show_errors(errors)``."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema or {}
        self.form_error = W.HTML(value="")
        self.form_error.add_class("kitaru-form-error")
        root = _resolve(self.schema, self.schema)
        root, _ = _unwrap_optional(root, self.schema)
        self.root = self._field((), root, required=True, title=None)
        self.widget = W.VBox([self.form_error, self.root.box])
        self.widget.add_class("kitaru-form")

    # -- building ---------------------------------------------------------------------
    def _field(self, path: Loc, node: dict[str, Any], *, required: bool, title: str | None) -> Field:
        node = _resolve(node, self.schema)
        node, nullable = _unwrap_optional(node, self.schema)
        kind = _kind(node, self.schema)
        name = node.get("title") or title or (str(path[-1]) if path else "value")
        label_text = f"{name} *" if required and path else str(name)
        label = W.Label(value=label_text)
        label.add_class("kitaru-field-label")
        help_text = node.get("description")
        error = _error_widget(path)
        default = node.get("default", _OMIT)
        if kind == "object":
            props: dict[str, Any] = node.get("properties", {})
            req = set(node.get("required", []))
            children = [
                self._field((*path, key), sub if isinstance(sub, dict) else {}, required=key in req, title=key)
                for key, sub in props.items()
            ]
            parts: list[Any] = []
            if path:
                legend = W.HTML(value=f"<b>{html.escape(label_text)}</b>")
                parts.append(legend)
            if help_text:
                parts.append(self._help(help_text))
            parts.extend(ch.box for ch in children)
            parts.append(error)
            fieldset = {"border": "1px solid var(--jp-border-color2, #ccc)", "padding": "4px 8px", "margin": "4px 0"}
            box = W.VBox(parts, layout=W.Layout(**fieldset) if path else W.Layout())
            box.add_class("kitaru-fieldset")
            box.add_class(f"kitaru-field-{slug(path)}")
            return Field(path, kind, required, nullable, None, error, box, children)
        inp = self._input(kind, node, default, nullable)
        inp.add_class("kitaru-input")
        parts = [label, inp]
        if help_text:
            parts.append(self._help(help_text))
        parts.append(error)
        box = W.VBox(parts)
        box.add_class("kitaru-field")
        box.add_class(f"kitaru-field-{slug(path)}")
        return Field(path, kind, required, nullable, inp, error, box)

    @staticmethod
    def _help(text: Any) -> W.Label:
        w = W.Label(value=str(text), layout=W.Layout(margin="0 0 0 4px"))
        w.add_class("kitaru-help")
        return w

    @staticmethod
    def _input(kind: str, node: dict[str, Any], default: Any, nullable: bool = False) -> Any:
        has_default = default is not _OMIT
        if kind == "bool":
            return W.Checkbox(value=bool(default) if has_default else False, indent=False)
        if kind == "enum":
            values = node["enum"] if "enum" in node else [node["const"]]
            options: list[tuple[str, Any]] = [(str(v), v) for v in values]
            if nullable:
                options.insert(0, ("\u2014 none \u2014", None))
            elif not has_default:
                options.insert(0, ("\u2014 choose \u2014", _OMIT))
            index = next((i for i, (_, v) in enumerate(options) if has_default and v is not _OMIT and v == default), 0)
            return W.Dropdown(options=options, index=index)  # by index: a None value would mean "no selection"
        if kind == "date":
            value = None
            if has_default and isinstance(default, str):
                try:
                    value = dt.date.fromisoformat(default)
                except ValueError:
                    value = None
            return W.DatePicker(value=value)
        if kind == "tags":
            return W.TagsInput(value=list(default) if has_default and isinstance(default, list) else [])
        if kind in ("str", "int", "float"):
            text = "" if not has_default or default is None else str(default)
            placeholder = {"int": "an integer", "float": "a number"}.get(kind, "")
            return W.Text(value=text, placeholder=placeholder, continuous_update=True)
        text = "" if not has_default else json.dumps(default)
        return W.Textarea(value=text, placeholder="JSON value", rows=3)

    # -- using ------------------------------------------------------------------------
    def fields(self) -> list[Field]:
        return self.root.walk()

    def field(self, path: Loc) -> Field | None:
        for f in self.fields():
            if f.path == tuple(path):
                return f
        return None

    def value(self) -> Any:
        v = self.root.raw([])
        return None if v is _OMIT else v

    def read(self) -> tuple[Any, list[dict[str, Any]]]:
        """(the value to submit, problems found before any validation)."""
        problems: list[dict[str, Any]] = []
        v = self.root.raw(problems)
        return (None if v is _OMIT else v), problems

    def clear_errors(self) -> None:
        self.form_error.value = ""
        for f in self.fields():
            f.error.value = ""

    def show_errors(self, errors: list[dict[str, Any]]) -> None:
        """Each error under the deepest field its ``loc`` starts with; the rest on top."""
        self.clear_errors()
        by_field: dict[Loc, list[str]] = {}
        top: list[str] = []
        fields = self.fields()
        for e in errors:
            loc = tuple(e.get("loc", ()))
            msg = str(e.get("msg", "invalid"))
            target = None
            for f in fields:
                if loc[: len(f.path)] == f.path and (target is None or len(f.path) > len(target.path)):
                    target = f
            if target is None or (target is self.root and self.root.kind == "object"):
                where = ".".join(str(p) for p in loc)
                top.append(f"{where}: {msg}" if where else msg)
                continue
            rest = loc[len(target.path) :]
            by_field.setdefault(target.path, []).append(f"{msg} (item {'.'.join(map(str, rest))})" if rest else msg)
        for f in fields:
            if f.path in by_field:
                f.error.value = error_html(by_field[f.path])
        self.form_error.value = error_html(top)

    def set_disabled(self, disabled: bool) -> None:
        for f in self.fields():
            if f.input is not None:
                f.input.disabled = disabled
