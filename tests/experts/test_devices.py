"""Device resolution: ``auto``, CPU-only backends, and a clear error when CUDA is absent."""

from __future__ import annotations

import pytest

from posetools.errors import ConfigError, DeviceError
from posetools.experts.devices import cuda_problem, resolve_device, torch_cuda_problem

torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")
HAS_CUDA = torch.cuda.is_available()


def test_cpu_and_cpu_only_backends():
    assert resolve_device("cpu", "mm") == "cpu"
    for backend in ("mediapipe", "hog"):
        assert resolve_device("auto", backend) == "cpu"
        assert resolve_device(None, backend) == "cpu"
        with pytest.raises(DeviceError, match="runs on the CPU only"):
            resolve_device("cuda", backend)


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "CPU", "cuda:0,cuda:1"])
def test_bad_device_strings_are_config_errors(bad):
    with pytest.raises(ConfigError, match="not one of cpu, cuda, cuda:N, auto"):
        resolve_device(bad, "mm")


@pytest.mark.skipif(HAS_CUDA, reason="checks the no-CUDA error; this machine has CUDA")
@pytest.mark.parametrize("backend", ["mm", "ultralytics"])
def test_cuda_without_cuda_is_one_clear_error_and_auto_is_cpu(backend):
    assert resolve_device("auto", backend) == "cpu"
    with pytest.raises(DeviceError) as e:
        resolve_device("cuda:0", backend)
    msg = str(e.value)
    assert "'cuda:0' requested for the" in msg and backend in msg and "\n" not in msg
    assert torch_cuda_problem() in msg


def test_onnx_cuda_needs_the_cuda_provider():
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    assert "onnxruntime-gpu" in cuda_problem("onnx")
    assert resolve_device("auto", "onnx") == "cpu"
    with pytest.raises(DeviceError, match="no CUDA provider"):
        resolve_device("cuda", "onnx")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_with_cuda_auto_is_the_first_gpu_and_bad_indices_fail():
    assert resolve_device("auto", "mm") == "cuda:0"
    assert resolve_device("cuda", "mm") == "cuda:0"
    n = torch.cuda.device_count()
    with pytest.raises(DeviceError, match="visible"):
        resolve_device(f"cuda:{n}", "mm")
