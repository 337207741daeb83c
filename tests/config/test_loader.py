from dataclasses import dataclass, field
from typing import Literal

import pytest

from posetools.config import from_dict, require
from posetools.config.presets import list_presets, resolve_pipeline
from posetools.config.schema import PipelineConfig, load_pipeline
from posetools.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    sigma: float = 1.0
    mode: Literal["a", "b"] = "a"

    def __post_init__(self):
        require(self.sigma > 0, "sigma: must be > 0")


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1,)
    opt: int | None = None


def test_strict_loading():
    o = from_dict(Outer, {"name": "x", "inner": {"sigma": 2}, "sizes": [3, 4], "opt": None})
    assert o.inner.sigma == 2.0 and o.sizes == (3, 4)
    with pytest.raises(ConfigError, match=r"^inner\.sigmaa: unknown key"):
        from_dict(Outer, {"name": "x", "inner": {"sigmaa": 2}})
    with pytest.raises(ConfigError, match=r"^inner\.sigma: must be > 0"):
        from_dict(Outer, {"name": "x", "inner": {"sigma": -1}})
    with pytest.raises(ConfigError, match=r"inner\.mode: must be one of 'a', 'b'"):
        from_dict(Outer, {"name": "x", "inner": {"mode": "c"}})
    with pytest.raises(ConfigError, match=r"^name: required"):
        from_dict(Outer, {})
    with pytest.raises(ConfigError, match=r"sizes\[1\]: expected an integer"):
        from_dict(Outer, {"name": "x", "sizes": [1, "2"]})
    with pytest.raises(ConfigError, match="name: expected a string, got True"):
        from_dict(Outer, {"name": True})
    with pytest.raises(ConfigError, match="expected a mapping"):
        from_dict(Outer, {"name": "x", "inner": 3})


def test_pipeline_yaml_errors_name_their_path(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("stages: [probe]\nvideo: {frame_stride: 0}\n")
    with pytest.raises(ConfigError, match=r"video\.frame_stride: must be >= 1"):
        load_pipeline(p)
    p.write_text("stages: [probe]\nbogus: 1\n")
    with pytest.raises(ConfigError, match="bogus: unknown key"):
        load_pipeline(p)
    p.write_text("stages: [estimate, probe]\n")
    with pytest.raises(ConfigError, match="stages: must follow the order"):
        load_pipeline(p)
    p.write_text("stages: [probe\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_pipeline(p)


def test_presets_all_load():
    names = list_presets()
    assert "default" in names
    for n in names:
        cfg = load_pipeline(resolve_pipeline(n))
        assert isinstance(cfg, PipelineConfig)
    with pytest.raises(ConfigError, match="no such preset"):
        resolve_pipeline("nope-not-here")
