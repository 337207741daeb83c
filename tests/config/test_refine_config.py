"""RefineConfig: validation with the field name, YAML loading under aggregate.refine."""

from __future__ import annotations

from dataclasses import replace

import pytest

from posetools.config import from_dict
from posetools.config.algorithms import RefineConfig
from posetools.config.schema import STAGE_ORDER, AggregateConfig, PipelineConfig
from posetools.errors import ConfigError
from posetools.stages import build_stage


@pytest.mark.parametrize("field,value", [
    ("hampel_window_s", 0.0), ("hampel_sigmas", 0.0), ("hampel_min_dev", -1.0),
    ("max_speed", -1.0), ("max_gap_s", -0.1), ("gap_method", "cubic"),
    ("filled_score_factor", 0.0), ("filled_score_factor", 1.5), ("smoother", "kalman"),
    ("cutoff_hz", 0.0), ("butter_order", 3), ("butter_order", 0), ("savgol_window_s", 0.0),
    ("savgol_polyorder", -1), ("gaussian_sigma_s", 0.0), ("one_euro_min_cutoff", 0.0),
    ("one_euro_beta", -0.1), ("one_euro_d_cutoff", 0.0), ("min_segment", 1), ("outliers", "x"),
])
def test_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}: "):
        RefineConfig(**{field: value})


def test_loaded_under_aggregate_refine():
    assert from_dict(AggregateConfig, {}).refine is None  # off unless enabled
    assert from_dict(AggregateConfig, {"refine": {}}).refine == RefineConfig()
    cfg = from_dict(AggregateConfig, {"refine": {"smoother": "savgol", "max_gap_s": 0.1}})
    assert cfg.refine == RefineConfig(smoother="savgol", max_gap_s=0.1)
    with pytest.raises(ConfigError, match=r"^refine\.cutoff_hz: must be > 0"):
        from_dict(AggregateConfig, {"refine": {"cutoff_hz": 0}})
    with pytest.raises(ConfigError, match=r"^refine\.window: unknown key"):
        from_dict(AggregateConfig, {"refine": {"window": 3}})


def test_a_filter_change_moves_only_the_aggregate_parameters():
    """Other filter settings rerun aggregate (and, through its fingerprint, what reads it),
    never estimate."""
    base = from_dict(PipelineConfig, {"stages": list(STAGE_ORDER),
                                      "detect": {"detector": {"backend": "hog"}},
                                      "aggregate": {"refine": {}}})
    other = replace(base, aggregate=replace(base.aggregate,
                                            refine=RefineConfig(cutoff_hz=6.0)))
    moved = {n for n in STAGE_ORDER
             if build_stage(n, base).params() != build_stage(n, other).params()}
    assert moved == {"aggregate"}
