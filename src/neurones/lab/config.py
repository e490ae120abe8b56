"""Experiment configurations: frozen dataclasses at three scales, and overrides parsed from the command line.

A configuration class is a frozen dataclass whose field defaults are the **full** scale, the source's protocol;
the decorator :func:`scales` states what the two smaller scales change::

    @scales(quick=dict(draws=6, batch=32), smoke=dict(depth=6, draws=3, batch=4))
    @dataclass(frozen=True)
    class InitPropagationConfig:
        depth: int = 50
        ...

**quick** is a run of at most 90 seconds on this two-core machine that is still large enough for every verdict to
mean something; **smoke** a run of seconds that only tests the mechanics. The *rule* that decides claims is the
same at every scale; only the sample sizes change. :func:`at_scale` builds the config of a scale.

``with_overrides(config, {"depth": "100"})`` replaces fields, parsing strings by the field's declared type
(``int``, ``float``, ``bool``, ``str``, ``Literal[...]`` and tuples of those, written ``10,100,1000``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from neurones.errors import ConfigError

SCALES = ("smoke", "quick", "full")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


_SCALES_ATTRIBUTE = "__lab_scales__"


def scales(*, quick: Mapping[str, Any], smoke: Mapping[str, Any]) -> Callable[[type], type]:
    """Class decorator of a config dataclass: the fields that the quick and smoke scales change (the defaults are
    the full scale). Every named field must exist; the values are checked when a scale's config is built."""

    def declare(cls: type) -> type:
        if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
            raise TypeError(f"@scales decorates a dataclass: put it above @dataclass(frozen=True) on {cls!r}")
        names = {field.name for field in dataclasses.fields(cls)}
        for scale, changes in (("quick", quick), ("smoke", smoke)):
            unknown = set(changes) - names
            if unknown:
                raise TypeError(f"{cls.__name__}: the {scale} scale sets unknown fields {sorted(unknown)}")
        setattr(cls, _SCALES_ATTRIBUTE, {"full": {}, "quick": dict(quick), "smoke": dict(smoke)})
        return cls

    return declare


def check_config_class(cls: type) -> None:
    """Raise ``TypeError`` unless ``cls`` is a frozen dataclass with declared :func:`scales` and parseable field
    types: an experiment that registers a bad config fails at import, not in the middle of a report."""
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not cls.__dataclass_params__.frozen:
        raise TypeError(f"{cls.__name__} must be a frozen dataclass (@dataclass(frozen=True))")
    if not isinstance(getattr(cls, _SCALES_ATTRIBUTE, None), dict):
        raise TypeError(f"{cls.__name__} declares no scales: decorate it with @scales(quick=..., smoke=...)")
    for name, hint in field_types(cls).items():
        describe_type(hint, f"{cls.__name__}.{name}")


def at_scale(cls: type, scale: str):
    """The configuration of ``cls`` at ``scale`` (``"smoke"``, ``"quick"`` or ``"full"``); a value that the
    config rejects (its ``__post_init__``, or a data folder that does not exist) is a :class:`ConfigError`."""
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r} (choose one of {', '.join(SCALES)})")
    try:
        return cls(**getattr(cls, _SCALES_ATTRIBUTE)[scale])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {cls.__name__} at {scale} scale: {exc}") from exc


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of each field (annotations may be strings under ``from __future__ import annotations``)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``["depth=100", "betas=0.25,0.5"]`` → ``{"depth": "100", "betas": "0.25,0.5"}``."""
    overrides = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {text!r}")
        overrides[key] = value.strip()
    return overrides


def with_overrides(config, overrides: Mapping[str, Any]):
    """A copy of ``config`` with the given fields replaced. String values are parsed by the field's type; other
    values must already have that type. Raises :class:`ConfigError` naming the key, the type and the value."""
    cls = type(config)
    types_by_name = field_types(cls)
    changes = {}
    for key, value in overrides.items():
        if key not in types_by_name:
            known = ", ".join(types_by_name)
            raise ConfigError(f"unknown config key {key!r} for {cls.__name__} (keys: {known})")
        changes[key] = _coerce(types_by_name[key], value, key)
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:  # a __post_init__ that validates the new combination of values
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from exc


def config_to_dict(config) -> dict[str, Any]:
    """The configuration as a JSON-ready dict (tuples become lists)."""
    return {
        field.name: list(value) if isinstance(value := getattr(config, field.name), tuple) else value
        for field in dataclasses.fields(config)
    }


def _coerce(hint, value, key: str):
    if isinstance(value, str):
        return _parse(hint, value, key)
    if _matches(hint, value):
        return float(value) if hint is float else value
    if isinstance(value, list) and typing.get_origin(hint) is tuple:
        return _coerce(hint, tuple(value), key)
    raise ConfigError(f"config key {key!r} expects {describe_type(hint, key)}, got {value!r}")


def _parse(hint, text: str, key: str):
    def fail():
        return ConfigError(f"config key {key!r} expects {describe_type(hint, key)}, got {text!r}")

    if typing.get_origin(hint) is tuple:
        items = [item.strip() for item in text.split(",")] if text.strip() else []
        args = typing.get_args(hint)
        element_hints = [args[0]] * len(items) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if not items or len(element_hints) != len(items):  # an empty list of depths, betas... is never meant
            raise fail()
        try:
            return tuple(_parse_scalar(h, item) for h, item in zip(element_hints, items))
        except ValueError:
            raise fail() from None
    try:
        return _parse_scalar(hint, text)
    except ValueError:
        raise fail() from None


def _parse_scalar(hint, text: str):
    text = text.strip()
    if hint is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(text)
    if hint is int:
        try:
            return int(text)
        except ValueError:
            number = float(text)  # "1e5" is a fine way to write 100000
            if not number.is_integer():
                raise
            return int(number)
    if hint is float:
        return float(text)
    if hint is str:
        return text
    if typing.get_origin(hint) is typing.Literal:
        for choice in typing.get_args(hint):
            if str(choice) == text:
                return choice
        raise ValueError(text)
    optional = _optional_inner(hint)
    if optional is not None:
        return None if text.lower() == "none" else _parse_scalar(optional, text)
    raise ValueError(text)


def _matches(hint, value) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(float(value))
    if hint is str:
        return isinstance(value, str)
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, tuple):
            return False
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(args[0], item) for item in value)
        return len(args) == len(value) and all(_matches(h, item) for h, item in zip(args, value))
    optional = _optional_inner(hint)
    if optional is not None:
        return value is None or _matches(optional, value)
    return False


def _optional_inner(hint):
    """``X`` for ``X | None`` (or ``Optional[X]``), else ``None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


def describe_type(hint, where: str) -> str:
    """A readable name of a supported type; ``TypeError`` for a type that overrides could not parse."""
    if hint in (int, float, bool, str):
        return hint.__name__
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"comma-separated {describe_type(args[0], where)} values"
        return "comma-separated values (" + ", ".join(describe_type(arg, where) for arg in args) + ")"
    optional = _optional_inner(hint)
    if optional is not None:
        return f"{describe_type(optional, where)} or none"
    raise TypeError(f"{where}: unsupported config field type {hint!r} (use int, float, bool, str, Literal, tuples)")
