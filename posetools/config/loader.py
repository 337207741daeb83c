"""Strict YAML -> frozen dataclass loading.

Every config section is a ``@dataclass(frozen=True)``. :func:`from_dict` builds it
from plain data, rejecting unknown keys and wrongly typed values with a
:class:`~posetools.errors.ConfigError` that names the dotted path
(``heatmaps.sigma: must be > 0``). Validation of values lives in each dataclass's
``__post_init__``, which raises :class:`ValueError`; the loader re-raises it with
the path.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]``,
``X | None``, ``tuple[X, ...]``, nested dataclasses, ``dict[str, X]``.

**Semantic vs runtime fields.** Every field changes results (and so enters the
fingerprints of the stages that use it) unless it is declared otherwise, once, where
the field is defined:

* :func:`runtime` — a knob that never changes results (device, batch size, prefetch,
  storage chunking);
* :func:`weights` — the weights a model loads, identified in fingerprints by the
  model checksum instead of its path.

:func:`semantic` is the one function that turns a config into the parameters a
fingerprint covers.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from ..errors import ConfigError

T = TypeVar("T")

_ROLE = "posetools_role"


def runtime(default: Any, **kwargs: Any) -> Any:
    """A dataclass field that never changes results: left out of :func:`semantic`.

    Args:
        default: The default value.
        **kwargs: Passed to :func:`dataclasses.field`.
    """
    return dataclasses.field(default=default, metadata={_ROLE: "runtime"}, **kwargs)


def weights(default: Any, **kwargs: Any) -> Any:
    """A field naming model weights: left out of :func:`semantic`.

    The model checksum stands for it in fingerprints.
    """
    return dataclasses.field(default=default, metadata={_ROLE: "weights"}, **kwargs)


def role(f: dataclasses.Field) -> str:
    """``"semantic"``, ``"runtime"`` or ``"weights"`` for a dataclass field."""
    return f.metadata.get(_ROLE, "semantic")


def semantic(obj: Any) -> Any:
    """The result-changing part of a config, as plain JSON-able data.

    Like :func:`to_dict` but without the fields declared :func:`runtime` or
    :func:`weights` (at any depth).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: semantic(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if role(f) == "semantic"}
    if isinstance(obj, (list, tuple)):
        return [semantic(v) for v in obj]
    if isinstance(obj, dict):
        return {k: semantic(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data`` (a mapping), strictly.

    Args:
        cls: A dataclass type.
        data: Mapping of field name to value; ``None`` means all defaults.
        path: Dotted prefix used in error messages.

    Returns:
        An instance of ``cls``.

    Raises:
        ConfigError: Unknown key, missing required key, wrong type or invalid value.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or '<root>'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(fields))})"
        )
    kwargs = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: required key is missing")
    try:
        return cls(**kwargs)
    except ValueError as e:
        msg = str(e)
        # __post_init__ messages are written "field: problem"; prefix the section path.
        raise ConfigError(f"{path + '.' if path else ''}{msg}") from None


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, path)
            except ConfigError as e:
                errors.append(e)
        raise errors[0]
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{path}: must be one of {allowed}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} items, got {len(value)}")
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in pairs)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
        return {str(k): _convert(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported config type {tp!r}")  # pragma: no cover


def to_dict(obj: Any) -> Any:
    """Convert a (nested) config dataclass to plain JSON-able data."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file, turning syntax errors into :class:`ConfigError`."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None


def require(cond: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``cond``; for ``__post_init__`` checks."""
    if not cond:
        raise ValueError(message)
