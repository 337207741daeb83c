"""The devices of a run: ``--device`` for every model, ``--devices`` one per pool worker.

The run's device fills every model whose YAML leaves ``device`` unset
(:func:`with_device`); a YAML value wins, and CPU-only backends (MediaPipe, HOG)
stay on the CPU.
With ``--devices cuda:0,cuda:1`` the process-pool workers take the listed devices
in turn (worker ``i`` gets ``devices[i % len(devices)]``). Before a local run
starts any stage, :func:`check_run_devices` checks every CUDA request here, so a
CUDA request on a machine without CUDA is one line, not one failure per video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..config.models import DetectorConfig, ExpertConfig, valid_device
from ..config.schema import PipelineConfig
from ..errors import DeviceError
from ..experts.devices import CPU_ONLY_BACKENDS, resolve_device


def parse_devices(text: str) -> tuple[str, ...]:
    """``"cuda:0,cuda:1"`` -> ``("cuda:0", "cuda:1")``.

    Raises:
        DeviceError: An entry is not ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
    """
    devices = tuple(d.strip() for d in text.split(",") if d.strip())
    if not devices:
        raise DeviceError("--devices: list at least one device, e.g. cuda:0,cuda:1")
    for d in devices:
        if not valid_device(d):
            raise DeviceError(f"--devices: {d!r} is not one of cpu, cuda, cuda:N, auto")
    return devices


def with_device(pipeline: PipelineConfig, device: str | None) -> PipelineConfig:
    """``pipeline`` with ``device`` for every GPU-capable model whose ``device`` is unset.

    ``None`` returns ``pipeline``. The device is a runtime knob: fingerprints stay.

    Raises:
        DeviceError: ``device`` is not a device string.
    """
    if device is None:
        return pipeline
    if not valid_device(device):
        raise DeviceError(f"device: {device!r} is not one of cpu, cuda, cuda:N, auto")

    def fill(m):
        if m.device is not None:
            return m
        return replace(m, device="cpu" if m.backend in CPU_ONLY_BACKENDS else device)

    return replace(
        pipeline,
        detect=replace(pipeline.detect, detector=fill(pipeline.detect.detector)),
        estimate=replace(pipeline.estimate,
                         experts=tuple(fill(e) for e in pipeline.estimate.experts)),
    )


def models_of(pipeline: PipelineConfig,
              stages: Sequence[str]) -> list[DetectorConfig | ExpertConfig]:
    """The model configs the given stages build."""
    models: list[DetectorConfig | ExpertConfig] = []
    if "detect" in stages:
        models.append(pipeline.detect.detector)
    if "estimate" in stages:
        models.extend(pipeline.estimate.experts)
    return models


def check_run_devices(pipeline: PipelineConfig, stages: Sequence[str],
                      devices: Sequence[str]) -> None:
    """Check every explicit CUDA request of the run's models, here and now.

    ``auto`` and ``cpu`` are not checked (they always work), so a run that asks for no
    GPU never imports a GPU library here.

    Raises:
        DeviceError: A model asks for CUDA and cannot have it on this machine.
    """
    for device in dict.fromkeys(devices):
        for m in models_of(with_device(pipeline, device), stages):
            if m.device is not None and m.device.startswith("cuda"):
                resolve_device(m.device, m.backend)


def worker_device(devices: Sequence[str], index: int) -> str:
    """The device of pool worker ``index``."""
    return devices[index % len(devices)]


__all__ = ["parse_devices", "with_device", "models_of", "check_run_devices", "worker_device"]
