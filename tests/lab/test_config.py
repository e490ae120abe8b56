"""Experiment configs: declared scales, overrides parsed by field type, and one-line errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import pytest

from neurones.errors import ConfigError
from neurones.lab.config import (
    at_scale,
    check_config_class,
    config_to_dict,
    parse_assignments,
    scales,
    with_overrides,
)


@scales(quick=dict(depth=5), smoke=dict(depth=2))
@dataclass(frozen=True)
class SampleConfig:
    depth: int = 10
    beta: float = 0.5
    smooth: bool = False
    name: str = "res-1"
    depths: tuple[int, ...] = (10, 100)
    betas: tuple[float, ...] = (0.25, 0.5)
    shape: tuple[int, float] = (3, 0.5)
    architecture: Literal["res-1", "res-2", "res-3"] = "res-1"
    width: int | None = None

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"depth must be ≥ 1, got {self.depth}")


def test_scales():
    assert at_scale(SampleConfig, "full") == SampleConfig()  # the defaults are the full scale
    assert at_scale(SampleConfig, "quick").depth == 5
    assert at_scale(SampleConfig, "smoke").depth == 2
    with pytest.raises(ConfigError, match="unknown scale 'huge'"):
        at_scale(SampleConfig, "huge")


def test_scales_are_checked():
    with pytest.raises(TypeError, match=r"the smoke scale sets unknown fields \['dpeth'\]"):
        scales(quick={}, smoke={"dpeth": 3})(SampleConfig)
    with pytest.raises(TypeError, match="put it above @dataclass"):
        scales(quick={}, smoke={})(dict)
    with pytest.raises(ConfigError, match=r"invalid SampleConfig at quick scale: depth must be ≥ 1"):
        at_scale(scales(quick={"depth": 0}, smoke={})(SampleConfig), "quick")


def test_overrides_are_parsed_by_field_type():
    config = with_overrides(
        SampleConfig(),
        {
            "depth": "100",
            "beta": "0.75",
            "smooth": "true",
            "name": "my run",
            "depths": "10,100,1000",
            "betas": "0.25, 0.5 ,1",
            "shape": "4,2.5",
            "architecture": "res-3",
            "width": "64",
        },
    )
    assert config == SampleConfig(
        depth=100,
        beta=0.75,
        smooth=True,
        name="my run",
        depths=(10, 100, 1000),
        betas=(0.25, 0.5, 1.0),
        shape=(4, 2.5),
        architecture="res-3",
        width=64,
    )
    assert type(config.depth) is int and type(config.beta) is float and type(config.depths[0]) is int
    assert type(config.betas[2]) is float


@pytest.mark.parametrize(
    "text, value",
    [("true", True), ("False", False), ("1", True), ("0", False), ("yes", True), ("off", False)],
)
def test_booleans(text, value):
    assert with_overrides(SampleConfig(), {"smooth": text}).smooth is value


def test_small_conveniences():
    assert with_overrides(SampleConfig(), {"depth": "1e5"}).depth == 100_000
    assert with_overrides(SampleConfig(), {"width": "none"}).width is None
    with pytest.raises(ConfigError, match="config key 'depths' expects comma-separated int values, got ''"):
        with_overrides(SampleConfig(), {"depths": ""})  # an empty grid is never meant (it failed deep in a run)
    assert with_overrides(SampleConfig(), {"beta": "2"}).beta == 2.0


def test_typed_values_are_accepted_as_they_are():
    config = with_overrides(SampleConfig(), {"depth": 7, "beta": 1, "depths": [1, 2], "smooth": True, "width": None})
    assert (config.depth, config.beta, config.depths, config.smooth, config.width) == (7, 1.0, (1, 2), True, None)
    assert type(config.beta) is float


def test_the_original_is_unchanged():
    original = SampleConfig()
    with_overrides(original, {"depth": "5"})
    assert original.depth == 10


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"dept": "100"}, r"unknown config key 'dept' for SampleConfig \(keys: depth, beta, smooth,"),
        ({"depth": "abc"}, "config key 'depth' expects int, got 'abc'"),
        ({"depth": "1.5"}, "config key 'depth' expects int, got '1.5'"),
        ({"beta": "fast"}, "config key 'beta' expects float, got 'fast'"),
        ({"smooth": "maybe"}, "config key 'smooth' expects bool, got 'maybe'"),
        ({"depths": "10,x"}, "config key 'depths' expects comma-separated int values, got '10,x'"),
        ({"shape": "1,2,3"}, r"config key 'shape' expects comma-separated values \(int, float\), got '1,2,3'"),
        ({"architecture": "res-9"}, "config key 'architecture' expects one of res-1, res-2, res-3, got 'res-9'"),
        ({"width": "wide"}, "config key 'width' expects int or none, got 'wide'"),
        ({"depth": 2.5}, "config key 'depth' expects int, got 2.5"),
        ({"depth": True}, "config key 'depth' expects int, got True"),
        ({"depths": (1, "a")}, "config key 'depths' expects comma-separated int values"),
        ({"depth": "0"}, r"invalid SampleConfig: depth must be ≥ 1, got 0"),
    ],
)
def test_override_errors_name_the_key_the_type_and_the_value(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        with_overrides(SampleConfig(), overrides)
    assert "\n" not in str(info.value)


def test_parse_assignments():
    assert parse_assignments(["depth=100", "depths=10,100", " name = a=b "]) == {
        "depth": "100",
        "depths": "10,100",
        "name": "a=b",
    }
    for bad in ("depth", "=3"):
        with pytest.raises(ConfigError, match="expected key=value"):
            parse_assignments([bad])


def test_config_to_dict_is_json_ready():
    assert config_to_dict(SampleConfig()) == {
        "depth": 10,
        "beta": 0.5,
        "smooth": False,
        "name": "res-1",
        "depths": [10, 100],
        "betas": [0.25, 0.5],
        "shape": [3, 0.5],
        "architecture": "res-1",
        "width": None,
    }


def test_check_config_class_accepts_a_good_class():
    check_config_class(SampleConfig)


def test_check_config_class_rejects_bad_classes():
    @scales(quick={}, smoke={})
    @dataclass
    class NotFrozen:
        depth: int = 1

    with pytest.raises(TypeError, match="frozen dataclass"):
        check_config_class(NotFrozen)

    @dataclass(frozen=True)
    class Undeclared:
        depth: int = 1

    with pytest.raises(TypeError, match=r"Undeclared declares no scales"):
        check_config_class(Undeclared)

    with pytest.raises(TypeError, match="not a dataclass"):
        check_config_class(dict)

    WithList = scales(quick={}, smoke={})(dataclasses.make_dataclass("WithList", [("depths", list[int])], frozen=True))
    with pytest.raises(TypeError, match="unsupported config field type"):
        check_config_class(WithList)
