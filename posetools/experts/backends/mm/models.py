"""Building OpenMMLab models: the one module of posetools that imports ``mm*``.

Importing it without the stack raises :class:`~posetools.errors.MissingBackendError`
with the install hint. :func:`build_model` (uncached: the ONNX exporter, tests) and
:func:`cached_model` (cached per process: the detector and expert classes) return a
:class:`BuiltModel`; :func:`scope` runs code under a model's mmengine default scope.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2

from ....errors import CheckpointError, ConfigError, MissingBackendError
from ... import zoo
from ...devices import resolve_device
from ...install import MM_INSTALL_HINT

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mmcv  # noqa: F401 - fail early: mmpose needs the full mmcv (mmcv.ops)
        import mmdet.registry
        import mmdet.utils
        import mmpose.registry
        import mmpose.utils
        import torch
        from mmcv.cnn import fuse_conv_bn
        from mmengine.config import Config
        from mmengine.dataset import Compose, pseudo_collate
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import DefaultScope
        from mmpose.apis.inference import dataset_meta_from_config

        mmdet.utils.register_all_modules(init_default_scope=False)
        mmpose.utils.register_all_modules(init_default_scope=False)
except ImportError as _e:  # pragma: no cover - exercised only without the stack
    raise MissingBackendError(f"{MM_INSTALL_HINT} ({_e})") from _e

__all__ = ["BuiltModel", "Config", "RANDOM_INIT_SEED", "FAST_INFERENCE", "LAYOUT_BY_K",
           "build_model", "cached_model", "clear_model_cache", "load_config", "pseudo_collate",
           "scope"]

Kind = Literal["detector", "expert"]

RANDOM_INIT_SEED = 0
"""Seed of ``checkpoint: random-init`` weights (same weights in every process)."""
FAST_INFERENCE = True
"""Apply :func:`_fast_inference` to every model the detector / expert classes build (set
``models.FAST_INFERENCE = False`` to keep models as built, e.g. to save their
``state_dict`` as a checkpoint)."""

LAYOUT_BY_K = {17: "coco17", 133: "coco_wholebody133"}
"""posetools layout of a model with ``K`` keypoints (when the zoo does not name one)."""
_BUILD_LOCK = threading.RLock()


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Run with mmengine's default scope set to ``name``; restore the caller's after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DefaultScope.overwrite_default_scope(name):
            yield


@contextmanager
def running(b: BuiltModel, half: bool = False) -> Iterator[None]:
    """Forward passes of ``b``: its scope, no autograd, and CUDA fp16 autocast if ``half``."""
    with scope(b.scope), torch.inference_mode(), \
            torch.autocast("cuda", dtype=torch.float16, enabled=half):
        yield


@dataclass
class BuiltModel:
    """A built model with what running it needs.

    Attributes:
        model: The ``torch.nn.Module`` (eval mode, on its device).
        scope: Its mmengine default scope (``mmdet`` / ``mmpose``).
        pipeline: The config's test pipeline (image loading replaced for arrays).
        meta: Dataset meta (experts: keypoint metainfo; detectors: ``classes``).
        checksum: sha256 of the weights file, or ``random-init``.
        name: Zoo name, else the config file's stem.
        cfg: The mmengine config.
        rgb_ok: No test transform can tell RGB from BGR (see :meth:`prepare`).
    """

    model: torch.nn.Module
    scope: str
    pipeline: Compose
    meta: dict
    checksum: str
    name: str
    cfg: Config
    rgb_ok: bool = False

    def prepare(self, info: dict) -> dict:
        """Run the test pipeline on ``info['img']`` (RGB) and return the packed sample.

        The models expect BGR. When every transform treats the three channels alike
        (resize, affine warp, padding with one grey value), the RGB frame goes through
        the pipeline and only the small packed tensor has its channels swapped: the
        same numbers as converting the full frame first, without the full-frame copy.
        """
        if self.rgb_ok:
            packed = self.pipeline(info)
            packed["inputs"] = packed["inputs"][[2, 1, 0]]
            return packed
        info["img"] = cv2.cvtColor(info["img"], cv2.COLOR_RGB2BGR)
        return self.pipeline(info)


def _check_device(device: str | None) -> str:
    return resolve_device(device, "mm")


def _load_weights(model: torch.nn.Module, checkpoint: str) -> None:
    sd = zoo.load_state_dict(Path(checkpoint))
    try:
        res = model.load_state_dict(sd, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise CheckpointError(f"checkpoint {checkpoint} does not fit the model config: {e}") from e
    missing = [
        k for k in res.missing_keys
        if not k.endswith("num_batches_tracked") and not k.startswith("data_preprocessor.")
    ]
    if missing:
        raise CheckpointError(
            f"checkpoint {checkpoint} does not fit the model config: {len(missing)} weights "
            f"missing (e.g. {', '.join(missing[:3])})"
        )


@functools.lru_cache(maxsize=16)
def cached_model(kind: Kind, config: str, checkpoint: str, device: str | None,
                 score_thr: float) -> BuiltModel:
    """Build (once per process) a detector or pose model; see the package docstring."""
    device = _check_device(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _build_quiet(kind, Config.fromfile(config), checkpoint, device, score_thr,
                            FAST_INFERENCE)


def _build_quiet(kind: Kind, cfg: Config, checkpoint: str, device: str, score_thr: float,
                 fast: bool) -> BuiltModel:
    scope_name = cfg.get("default_scope") or ("mmdet" if kind == "detector" else "mmpose")
    if kind == "detector":
        tc = cfg.model.get("test_cfg") or {}
        tc = tc.get("rcnn", tc)  # two-stage detectors: threshold of the R-CNN stage
        if "score_thr" in tc:
            tc["score_thr"] = max(float(tc["score_thr"]), score_thr)
        steps = [
            t for t in cfg.test_dataloader.dataset.pipeline
            if not str(t["type"]).split(".")[-1].startswith("LoadAnnotations")
        ]
        steps[0] = dict(type="mmdet.LoadImageFromNDArray")
        registry = mmdet.registry.MODELS
    else:
        steps = list(cfg.test_dataloader.dataset.pipeline)
        registry = mmpose.registry.MODELS
    with _BUILD_LOCK, scope(scope_name), torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model = revert_sync_batchnorm(registry.build(cfg.model))
        pipeline = Compose(steps)
    if checkpoint != zoo.RANDOM_INIT:
        _load_weights(model, checkpoint)
    meta: dict = {}
    if kind == "expert":
        meta = dataset_meta_from_config(cfg, dataset_mode="train") or {}
        if "num_keypoints" not in meta:
            raise ConfigError(f"model: cannot read the keypoint metainfo of {cfg.filename}")
        model.dataset_meta = meta
    else:
        classes = (cfg.test_dataloader.dataset.get("metainfo") or {}).get("classes")
        meta = {"classes": tuple(classes) if classes else None}
    model.cfg = cfg
    model.to(device).eval()
    if fast:
        model = _fast_inference(model)
    return BuiltModel(model, scope_name, pipeline, meta, zoo.checkpoint_checksum(checkpoint),
                      Path(cfg.filename).stem, cfg, _channel_symmetric(steps))


def load_config(model: str, kind: Kind) -> tuple[Config, zoo.ZooEntry | None]:
    """The mmengine config a zoo name or config path names, and its zoo entry.

    Raises:
        ConfigError: Unknown name, or a config file that does not exist.
    """
    path, entry = zoo.resolve_config(model, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Config.fromfile(str(path)), entry


def build_model(kind: Kind, model: str, checkpoint: str | None = None, *,
                device: str | None = "cpu", fast: bool = False) -> BuiltModel:
    """Build a detector / pose model outside the per-process cache (ONNX export, tests).

    Args:
        kind: ``"detector"`` or ``"expert"``.
        model: A zoo name or an OpenMMLab config path.
        checkpoint: As ``checkpoint:`` in a pipeline: ``None`` (zoo default), a local
            ``.pth`` file, or ``random-init``.
        device: Torch device.
        fast: Apply the inference rewrites (folded BN, channels-last), as the detector
            and expert classes do.

    Returns:
        A fresh :class:`BuiltModel` (``name`` is the zoo name when ``model`` is one).

    Raises:
        ConfigError: Unknown model, unusable device.
        CheckpointError: Weights missing / wrong / not downloadable.
    """
    cfg, entry = load_config(model, kind)
    ckpt = zoo.resolve_checkpoint(checkpoint, entry)
    device = _check_device(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = _build_quiet(kind, cfg, str(ckpt), device, 0.0, fast)
    if entry is not None:
        built.name = entry.name
    return built


def _fast_inference(model):
    """Inference-only rewrites: fold BatchNorm into the conv before it, channels-last memory.

    Folding (OpenMMLab's ``--fuse-conv-bn``) computes the same function up to float
    rounding, but only when every conv has its own BN: RTMDet's head shares one conv
    between pyramid levels that each have their own BN, and folding those would be
    wrong. Models with a shared conv are therefore left unfolded. Channels-last memory
    lets oneDNN / cuDNN pick faster convolution kernels; it never changes results.
    """
    convs = Counter(id(m) for _, m in model.named_modules(remove_duplicate=False)
                    if isinstance(m, torch.nn.modules.conv._ConvNd))
    if all(n == 1 for n in convs.values()):
        model = fuse_conv_bn(model)
    return model.to(memory_format=torch.channels_last)


_SYMMETRIC = {"LoadImageFromNDArray", "LoadImage", "Resize", "Pad", "PackDetInputs",
              "GetBBoxCenterScale", "TopdownAffine", "PackPoseInputs", "BottomupResize"}


def _channel_symmetric(steps: list) -> bool:
    """True if no test transform can tell RGB from BGR (see :meth:`BuiltModel.prepare`)."""
    for t in steps:
        if str(t["type"]).split(".")[-1] not in _SYMMETRIC:
            return False
        pad = t.get("pad_val")
        pad = pad.get("img", pad) if isinstance(pad, dict) else pad
        if isinstance(pad, list | tuple) and len(set(pad)) > 1:
            return False
    return True


def clear_model_cache() -> None:
    """Drop the per-process model cache (frees the models' memory)."""
    cached_model.cache_clear()
