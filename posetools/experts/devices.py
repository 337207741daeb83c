"""Which device a model runs on: ``auto`` resolved, CUDA checked, never a silent fallback.

A config's ``device`` is ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (``None`` in a YAML
means "the run's device", filled in by the run layer before a model is built).
:func:`resolve_device` turns it into what the backend gets:

* CPU-only backends (MediaPipe, HOG) run on ``cpu``; asking one of them for CUDA
  explicitly is a :class:`~posetools.errors.DeviceError`, while ``auto`` is fine.
* ``auto`` becomes ``cuda:0`` where the backend can use a GPU here, else ``cpu``.
* ``cuda`` / ``cuda:N`` is checked now: no CUDA build, no GPU visible or ``N`` out of
  range is a one-line :class:`~posetools.errors.DeviceError`, never a CPU run.

ONNX Runtime decides at session creation whether its CUDA provider really runs; the
ONNX backend checks the session's providers against the resolved device.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..config.models import valid_device
from ..errors import DeviceError

CPU_ONLY_BACKENDS = frozenset({"mediapipe", "hog", "import"})
"""Backends that always run on the CPU (``import`` runs no model at all)."""

TORCH_BACKENDS = frozenset({"mm", "ultralytics"})
"""Backends whose models are PyTorch modules."""


def cuda_index(device: str) -> int:
    """``N`` of ``cuda:N`` (``0`` for plain ``cuda``)."""
    return int(device.split(":", 1)[1]) if ":" in device else 0


def torch_cuda_problem(device: str = "cuda") -> str | None:
    """Why PyTorch cannot run on ``device`` here, or ``None`` if it can."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        build = torch.version.cuda
        return ("no CUDA GPU is visible" if build else
                f"this PyTorch ({torch.__version__}) is a CPU-only build")
    n = torch.cuda.device_count()
    if cuda_index(device) >= n:
        return f"only {n} CUDA device(s) are visible"
    return None


def onnx_cuda_problem(device: str = "cuda") -> str | None:
    """Why ONNX Runtime cannot run on CUDA ``device`` here, or ``None`` if it can."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return ("the installed onnxruntime has no CUDA provider "
                "(pip install onnxruntime-gpu instead of onnxruntime)")
    n = visible_gpus()
    if n is not None and cuda_index(device) >= n:
        return "no CUDA GPU is visible" if n == 0 else f"only {n} CUDA device(s) are visible"
    return None


def visible_gpus() -> int | None:
    """How many NVIDIA GPUs this process may use, or ``None`` when it cannot tell.

    Asks PyTorch when it is installed, else the NVIDIA driver's ``/proc`` listing
    (Linux), limited by ``CUDA_VISIBLE_DEVICES``.
    """
    if _has_torch():
        import torch

        return torch.cuda.device_count()
    gpus = Path("/proc/driver/nvidia/gpus")
    if not gpus.is_dir():
        return 0 if Path("/proc").is_dir() else None
    n = len(list(gpus.iterdir()))
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mask is not None:
        n = min(n, len([d for d in mask.split(",") if d.strip() and d.strip() != "-1"]))
    return n


def cuda_problem(backend: str, device: str = "cuda") -> str | None:
    """Why ``backend`` cannot run on CUDA ``device`` here, or ``None`` if it can."""
    if backend in CPU_ONLY_BACKENDS:
        return f"the {backend} backend runs on the CPU only"
    if backend in TORCH_BACKENDS:
        return torch_cuda_problem(device)
    if backend == "onnx":
        return onnx_cuda_problem(device)
    return f"unknown backend {backend!r}"


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def check_device_string(device: str | None, what: str = "device") -> None:
    """Raise :class:`DeviceError` unless ``device`` is ``None`` or a valid device string."""
    if not valid_device(device):
        raise DeviceError(f"{what}: {device!r} is not one of cpu, cuda, cuda:N, auto")


def resolve_device(device: str | None, backend: str) -> str:
    """The concrete device (``cpu`` or ``cuda:N``) a ``backend`` model runs on.

    Args:
        device: ``cpu``, ``cuda``, ``cuda:N``, ``auto``, or ``None`` (= ``auto``).
        backend: The config's backend.

    Raises:
        DeviceError: CUDA was asked for and this backend cannot use it here.
    """
    device = device or "auto"
    check_device_string(device)
    if device == "cpu":
        return "cpu"
    if device == "auto":
        if backend in CPU_ONLY_BACKENDS:
            return "cpu"
        return "cpu" if cuda_problem(backend) else "cuda:0"
    problem = cuda_problem(backend, device)
    if problem:
        raise DeviceError(f"device: {device!r} requested for the {backend} backend, but "
                          f"{problem}")
    return f"cuda:{cuda_index(device)}"


__all__ = ["CPU_ONLY_BACKENDS", "check_device_string", "cuda_problem",
           "resolve_device", "torch_cuda_problem", "onnx_cuda_problem", "cuda_index",
           "visible_gpus"]
