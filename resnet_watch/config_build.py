"""Mapping (parsed YAML, environment) -> frozen dataclass, checked against its annotations.

Generic on purpose: it knows nothing of resnet-watch's keys, only how to turn a value
into the annotated type or raise one ``ConfigError`` naming the dotted key and what was
expected (``model.top_k: must be an integer, got 'five'``), and how to make relative
paths absolute against the config file's folder.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from resnet_watch.errors import ConfigError

__all__ = ["build_dataclass", "resolve_paths"]


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    if tp is Path:
        return "a path"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(key: str, value: Any, tp: Any, base: Path) -> Any:
    """Check ``value`` against the annotation ``tp``; return it in its final type."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(key, f"must be {_type_name(tp)}, got {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg, base)
            except ConfigError:
                continue
        raise ConfigError(key, f"must be {_type_name(tp)}, got {value!r}")
    if origin is tuple:
        (item_tp, *_) = typing.get_args(tp)
        if isinstance(value, str | Path):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(key, f"must be {_type_name(tp)}, got {value!r}")
        return tuple(_coerce(f"{key}[{i}]", v, item_tp, base) for i, v in enumerate(value))
    if origin is Mapping:
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be a mapping, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, str | Path) or str(value) == "":
            raise ConfigError(key, f"must be a path, got {value!r}")
        return Path(os.path.expanduser(str(value)))
    raise ConfigError(key, f"unsupported type {tp!r}")  # pragma: no cover - schema bug


def build_dataclass(cls: Any, data: Mapping[str, Any], prefix: str, base: Path) -> Any:
    """``cls`` built from ``data``: an unknown key is an error, so a typo is not ignored.

    ``source`` (the file a config came from) is set by the loader, never by a key.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    for key in data:
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{prefix}{key}", f"unknown key (known keys here: {known})")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        tp: Any = hints[f.name]
        if dataclasses.is_dataclass(tp):
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ConfigError(f"{prefix}{f.name}", f"must be a mapping, got {value!r}")
            kwargs[f.name] = build_dataclass(tp, value, f"{prefix}{f.name}.", base)
        else:
            kwargs[f.name] = _coerce(f"{prefix}{f.name}", value, tp, base)
    # nested sections left out of the file still need their relative paths resolved
    for f in dataclasses.fields(cls):
        section: Any = hints[f.name]
        if f.name not in kwargs and dataclasses.is_dataclass(section):
            kwargs[f.name] = build_dataclass(section, {}, f"{prefix}{f.name}.", base)
    return cls(**kwargs)


def resolve_paths(obj: Any, base: Path) -> Any:
    """Make every relative path absolute against ``base`` (the config file's folder)."""
    if isinstance(obj, Path):
        return obj if obj.is_absolute() else base / obj
    if isinstance(obj, tuple):
        return tuple(resolve_paths(v, base) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {
            f.name: resolve_paths(getattr(obj, f.name), base) for f in dataclasses.fields(obj)
        }
        return dataclasses.replace(obj, **changes)
    return obj
