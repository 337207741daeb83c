"""The shipped presets: package data, each a valid pipeline, found by name."""

from __future__ import annotations

import pytest

from posetools.config.algorithms import RefineConfig
from posetools.config.presets import list_presets, preset_text, resolve_pipeline
from posetools.config.schema import load_pipeline
from posetools.errors import ConfigError, PosetoolsError
from posetools.experts.zoo import ZOO


def test_every_preset_loads_and_names_known_models():
    names = list_presets()
    assert {"default", "yolo_blazepose", "action_body17_stride5"} <= set(names)
    for name in names:
        try:
            cfg = load_pipeline(resolve_pipeline(name))
        except PosetoolsError as e:  # pragma: no cover - reported with the preset name
            raise AssertionError(f"{name}: {e}") from e
        assert cfg.estimate.experts
        mm = [e.model for e in cfg.estimate.experts if e.backend == "mm"]
        if "detect" in cfg.stages and cfg.detect.detector.backend == "mm":
            mm.append(cfg.detect.detector.model)
        assert all(m in ZOO for m in mm), (name, mm)
    default = load_pipeline(resolve_pipeline("default"))
    assert default.stages[:2] == ("probe", "estimate")
    assert default.estimate.experts[0].backend == "mediapipe"


def test_temporal_refinement_where_measured_to_help():
    for name in ("default", "yolo_blazepose", "la2ds_heatmaps30", "pevl_heatmaps112",
                 "posec3d_heatmaps64"):
        assert load_pipeline(resolve_pipeline(name)).aggregate.refine == RefineConfig(), name
    stride5 = load_pipeline(resolve_pipeline("action_body17_stride5"))
    assert stride5.video.frame_stride == 5 and stride5.aggregate.refine is None


def test_resolve_prefers_a_file_and_lists_presets_when_unknown(tmp_path):
    f = tmp_path / "default"
    f.write_text("stages: [probe]\n")
    assert resolve_pipeline(str(f)) == f
    with pytest.raises(ConfigError, match="presets: .*default"):
        resolve_pipeline("no-such-preset")
    assert preset_text("default").startswith("#")
    with pytest.raises(ConfigError, match="no preset"):
        preset_text("nope")


def test_a_yaml_without_stages_is_an_error(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("estimate: {experts: [{name: a, backend: mediapipe}]}\n")
    with pytest.raises(ConfigError, match="stages: required key is missing"):
        load_pipeline(f)


def test_onnx_preset_names_files_to_export_and_loads_without_them(tmp_path, monkeypatch):
    cfg = load_pipeline(resolve_pipeline("onnx"))
    models = [cfg.detect.detector, *cfg.estimate.experts]
    assert [m.backend for m in models] == ["onnx", "onnx"]
    assert all(m.model.endswith(".onnx") for m in models)
    text = preset_text("onnx")
    for m in models:  # the comment gives the command that makes each file
        stem = m.model.rsplit("/", 1)[-1].removesuffix(".onnx")
        assert f"posetools export-onnx {stem}" in text and stem in ZOO
    pytest.importorskip("onnxruntime")
    from posetools.errors import CheckpointError
    from posetools.experts.build import build_expert

    monkeypatch.setenv("HOME", str(tmp_path))  # ~ has no exported files
    with pytest.raises(CheckpointError, match="not found.*posetools export-onnx"):
        build_expert(cfg.estimate.experts[0])
