"""Values <-> stored bytes: JSON first, pydantic-aware, pickle as the fallback.

Every stored value carries its format so a reader knows how to load it; every
value also gets a short text preview that UIs show (and that is always safe to
show: it is plain text, never unpickled).
"""

from __future__ import annotations

import importlib
import json
import math
import pickle
import reprlib
import sys
from typing import Any

JSON = "json"
PYDANTIC = "pydantic"
PICKLE = "pickle"

PREVIEW_CHARS = 200

_repr = reprlib.Repr()
_repr.maxstring = 160
_repr.maxother = 160
_repr.maxlist = 10
_repr.maxdict = 10
_repr.maxlevel = 3

_SCALARS = (str, int, bool, type(None))


#: json.dumps(value, separators=(",", ":")) without building an encoder per call (one per checkpoint)
_compact = json.JSONEncoder(separators=(",", ":"))


class SerializationError(Exception):
    """The value can be neither JSON-encoded nor pickled."""


def _plain_json(value: Any, depth: int = 0) -> bool:
    """True when ``json.loads(json.dumps(value)) == value`` with the same types."""
    t = type(value)
    if t in _SCALARS:
        return True
    if t is float:
        return math.isfinite(value)
    if depth > 50:
        return False
    if t is list:
        return all(_plain_json(v, depth + 1) for v in value)
    if t is dict:
        return all(type(k) is str and _plain_json(v, depth + 1) for k, v in value.items())
    return False


def _is_pydantic_model(value: Any) -> bool:
    pyd = sys.modules.get("pydantic")
    return pyd is not None and isinstance(value, pyd.BaseModel)


def dumps(value: Any) -> tuple[str, bytes]:
    """Encode ``value``; returns ``(format, data)``. Raises SerializationError."""
    t = type(value)
    if t is int or (t is float and math.isfinite(value)):
        return JSON, repr(value).encode()  # what json writes for a number, without its encoder
    if _plain_json(value):
        return JSON, _compact.encode(value).encode()
    if _is_pydantic_model(value):
        cls = type(value)
        payload = {"cls": f"{cls.__module__}:{cls.__qualname__}", "data": value.model_dump(mode="json")}
        try:
            return PYDANTIC, json.dumps(payload, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            pass
    try:
        return PICKLE, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # pickling raises many types
        raise SerializationError(
            f"a value of type {type(value).__module__}.{type(value).__qualname__} can be neither "
            f"JSON-encoded nor pickled ({type(exc).__name__}: {exc})"
        ) from exc


def loads(fmt: str, data: bytes | None) -> Any:
    """Decode a stored value."""
    if data is None:
        return None
    if fmt == JSON:
        return json.loads(data.decode())  # a str skips json's encoding detection (a resume reads thousands)
    if fmt == PYDANTIC:
        payload = json.loads(data)
        module, _, qualname = payload["cls"].partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            return payload["data"]
        return obj.model_validate(payload["data"])
    if fmt == PICKLE:
        return pickle.loads(data)
    raise ValueError(f"unknown stored value format {fmt!r}")


def loads_json_only(fmt: str, data: bytes | None) -> Any:
    """Decode without ever unpickling (for the server): JSON values only, else None."""
    if data is None:
        return None
    if fmt == JSON:
        return json.loads(data)
    if fmt == PYDANTIC:
        return json.loads(data)["data"]
    return None


def preview(value: Any) -> str:
    """A short, plain-text description of ``value`` for UIs."""
    t = type(value)
    if t is int or t is float or t is bool or value is None:
        text = repr(value)
        if len(text) <= _repr.maxlong:  # what reprlib shows (a longer int it shortens)
            return text
    try:
        text = _repr.repr(value)
    except Exception:  # a broken __repr__ must not break journaling
        text = f"<{type(value).__qualname__} object>"
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1] + "…"
    return text
