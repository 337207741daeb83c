"""The run's devices: ``--device`` fills unset model devices, ``--devices`` parses."""

from __future__ import annotations

import pytest

from posetools.config import from_dict
from posetools.config.schema import PipelineConfig
from posetools.errors import DeviceError
from posetools.run.devices import check_run_devices, parse_devices, with_device, worker_device
from posetools.stages import build_stage


def _cfg() -> PipelineConfig:
    return from_dict(PipelineConfig, {
        "stages": ["probe", "detect", "estimate"],
        "detect": {"detector": {"backend": "mm", "model": "rtmdet-tiny"}},
        "estimate": {"experts": [
            {"name": "rtm", "backend": "mm", "top_down": True},
            {"name": "onx", "backend": "onnx", "model": "m.onnx", "device": "cpu"},
            {"name": "bp", "backend": "mediapipe"},
        ]},
    })


def test_the_run_device_fills_unset_devices_only():
    cfg = with_device(_cfg(), "cuda:1")
    assert cfg.detect.detector.device == "cuda:1"
    assert [e.device for e in cfg.estimate.experts] == ["cuda:1", "cpu", "cpu"]
    assert with_device(_cfg(), None) == _cfg()
    with pytest.raises(DeviceError, match="'gpu' is not one of"):
        with_device(_cfg(), "gpu")


@pytest.mark.parametrize("stage", ["detect", "estimate"])
def test_the_device_is_not_in_the_fingerprint(stage):
    a = build_stage(stage, _cfg()).params()
    assert build_stage(stage, with_device(_cfg(), "cuda:3")).params() == a


def test_parse_devices_and_turns():
    assert parse_devices("cuda:0, cuda:1,") == ("cuda:0", "cuda:1")
    with pytest.raises(DeviceError, match="--devices: 'gpu1'"):
        parse_devices("cuda:0,gpu1")
    with pytest.raises(DeviceError, match="at least one"):
        parse_devices(" , ")
    assert [worker_device(("a", "b"), i) for i in range(5)] == ["a", "b", "a", "b", "a"]


def test_check_run_devices_refuses_cuda_up_front_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("checks the no-CUDA error; this machine has CUDA")
    cfg = _cfg()
    check_run_devices(cfg, ["probe", "estimate"], ["cpu", "auto"])  # no error
    with pytest.raises(DeviceError, match="requested for the mm backend"):
        check_run_devices(cfg, ["detect"], ["cuda:0"])
