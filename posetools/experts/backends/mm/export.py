"""What the ONNX exporter needs from an OpenMMLab model, read from its config.

:func:`export_source` builds a model (uncached, as built: no conv-BN folding, which
ONNX Runtime does itself) and reads everything the exported file must reproduce out of
its mmengine config: input size, mean / std, channel order, padding, the test-time
post-processing settings, anchor points, flip pairs. The exporter
(:mod:`posetools.experts.onnx_export`) gets plain values and a torch module, so it
never reads an OpenMMLab config or imports ``mm*``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ....errors import ConfigError
from .models import LAYOUT_BY_K, BuiltModel, Kind, build_model, load_config

__all__ = ["ExportSource", "FAMILIES", "export_family", "export_source"]

FAMILIES = ("rtmdet", "simcc", "heatmap", "rtmo")
"""Model families the exporter has a graph for."""


@dataclass
class ExportSource:
    """A built model and the settings an exported file of it carries.

    Attributes:
        model: The ``torch.nn.Module`` (eval mode, CPU, as built).
        family: One of :data:`FAMILIES`.
        settings: Plain JSON-able settings (the metadata keys of
            :mod:`posetools.experts.onnx_meta`): ``model``, ``config``,
            ``weights_sha256``, ``input_size [W, H]``, ``channel_order``, ``mean``,
            ``std``, ``preprocess``, ``pad_value`` and the family's own keys.
        priors: ``(N, 2) float32`` anchor points of all levels, input pixels (RTMDet,
            RTMO).
        prior_strides: ``(N,) float32`` stride of each anchor point (RTMO).
        level_sizes: Anchor points per level, in level order (RTMDet).
        flip_indices: Index of each joint's mirror joint (top-down pose models).
    """

    model: torch.nn.Module
    family: str
    settings: dict[str, Any]
    priors: torch.Tensor | None = None
    prior_strides: torch.Tensor | None = None
    level_sizes: tuple[int, ...] = ()
    flip_indices: tuple[int, ...] = ()


def _step(cfg, name: str) -> dict:
    """The test-pipeline transform called ``name`` (without scope prefix), or ``{}``."""
    for t in cfg.test_dataloader.dataset.pipeline:
        if str(t["type"]).split(".")[-1] == name:
            return dict(t)
    return {}


def _first(value) -> float:
    """The grey value of a ``pad_val`` (number, per-channel tuple or ``{"img": ...}``)."""
    value = value.get("img", value) if isinstance(value, dict) else value
    return float(value[0] if isinstance(value, list | tuple) else value)


def export_family(kind: Kind, cfg) -> str:
    """The export family of a config, decided before anything is built.

    Raises:
        ConfigError: A model no exported graph covers: non-RTMDet detectors (two-stage
            Faster R-CNN pools a variable number of proposals with mmcv's ``RoIAlign``,
            which has no ONNX symbolic without mmdeploy's rewrites) or pose heads other
            than SimCC, heatmap and RTMO ones.
    """
    if kind == "detector":
        head = str((cfg.model.get("bbox_head") or {}).get("type", ""))
        if cfg.model.type == "RTMDet" and head.startswith("RTMDet"):
            return "rtmdet"
        raise ConfigError(f"export-onnx: {cfg.model.type} detectors are not supported (RTMDet "
                          "only: two-stage R-CNNs need mmdeploy's RoIAlign rewrite)")
    head = str((cfg.model.get("head") or {}).get("type", ""))
    family = {"RTMCCHead": "simcc", "RTMWHead": "simcc", "HeatmapHead": "heatmap",
              "RTMOHead": "rtmo"}.get(head)
    if family is None:
        raise ConfigError(f"export-onnx: pose head {head or cfg.model.type!r} is not supported "
                          "(SimCC RTMPose / RTMW, HeatmapHead, RTMO)")
    return family


def _common(b: BuiltModel) -> dict[str, Any]:
    dp = b.cfg.model.data_preprocessor
    return {
        "model": b.name, "config": Path(str(b.cfg.filename)).name,
        "weights_sha256": b.checksum,
        "channel_order": "RGB" if bool(dp.get("bgr_to_rgb", False)) else "BGR",
        "mean": [float(v) for v in dp.get("mean", (0, 0, 0))],
        "std": [float(v) for v in dp.get("std", (1, 1, 1))],
    }


def _rtmdet(b: BuiltModel, src: ExportSource) -> None:
    w, h = (int(v) for v in _step(b.cfg, "Resize")["scale"])
    tc = b.cfg.model.test_cfg
    head = b.model.bbox_head
    with torch.no_grad():
        cls, _ = head(b.model.extract_feat(torch.zeros(1, 3, h, w)))
    sizes = [tuple(c.shape[-2:]) for c in cls]
    src.priors = torch.cat(head.prior_generator.grid_priors(sizes, device="cpu"))[:, :2].float()
    src.level_sizes = tuple(int(a * c) for a, c in sizes)
    nms_pre = int(tc.get("nms_pre", -1))
    src.settings.update(
        input_size=[w, h], preprocess="resize_pad",
        pad_value=_first(_step(b.cfg, "Pad").get("pad_val", 114)),
        classes=list(b.meta.get("classes") or ()), score_thr=float(tc.get("score_thr", 0.0)),
        nms_iou=float(tc.nms.iou_threshold),
        nms_pre=nms_pre if nms_pre > 0 else int(src.priors.shape[0]),
        max_det=int(tc.get("max_per_img", 100)),
        strides=[int(s[0]) for s in head.prior_generator.strides],
        prior_offset=float(head.prior_generator.offset))


def _rtmo(b: BuiltModel, src: ExportSource) -> None:
    tc = b.cfg.model.test_cfg
    w, h = (int(v) for v in tc.get("input_size", (640, 640)))
    head = b.model.head
    if callable(getattr(b.model.neck, "switch_to_deploy", None)):
        b.model.neck.switch_to_deploy(tc)  # positional encodings as buffers, for tracing
    sizes = [(h // s, w // s) for s in head.featmap_strides]
    src.priors = torch.cat(head.prior_generator.grid_priors(sizes, device="cpu")).float()
    src.prior_strides = torch.cat([torch.full((a * c,), float(s)) for (a, c), s in
                                   zip(sizes, head.featmap_strides, strict=True)])
    src.settings.update(
        input_size=[w, h], preprocess="bottomup_affine",
        pad_value=_first(_step(b.cfg, "BottomupResize").get("pad_val", 0)),
        score_thr=float(tc["score_thr"]), nms_iou=float(tc["nms_thr"]), flip_test=False,
        bbox_padding=float(head.bbox_padding))


def _top_down(b: BuiltModel, src: ExportSource) -> None:
    tc = b.cfg.model.get("test_cfg") or {}
    codec = b.cfg.model.head.decoder
    w, h = (int(v) for v in codec["input_size"])
    src.flip_indices = tuple(int(i) for i in b.meta["flip_indices"])
    src.settings.update(
        input_size=[w, h], preprocess="topdown_affine", pad_value=0.0,
        bbox_padding=float(_step(b.cfg, "GetBBoxCenterScale").get("padding", 1.25)),
        flip_test=bool(tc.get("flip_test", False)))
    if src.family == "simcc":
        if codec.get("use_dark", False) or codec.get("decode_visibility", False):
            raise ConfigError("export-onnx: SimCC codecs with use_dark / decode_visibility "
                              "are not supported")
        src.settings["simcc_split_ratio"] = float(codec["simcc_split_ratio"])
        return
    if codec["type"] != "MSRAHeatmap" or codec.get("unbiased", False):
        raise ConfigError(f"export-onnx: heatmap codec {codec['type']} (unbiased="
                          f"{codec.get('unbiased', False)}) is not supported (MSRAHeatmap)")
    if tc.get("flip_test", False) and tc.get("flip_mode", "heatmap") != "heatmap":
        raise ConfigError(f"export-onnx: flip_mode {tc['flip_mode']!r} is not supported")
    src.settings.update(heatmap_size=[int(v) for v in codec["heatmap_size"]],
                        shift_heatmap=bool(tc.get("shift_heatmap", False)),
                        refine="quarter_offset")


def export_source(kind: Kind, model: str, checkpoint: str | None = None) -> ExportSource:
    """Build ``model`` for export and read its settings.

    Args:
        kind: ``"detector"`` or ``"expert"``.
        model: Zoo name or OpenMMLab config path.
        checkpoint: ``None`` (zoo default), a local ``.pth`` file, or ``random-init``.

    Returns:
        The :class:`ExportSource`.

    Raises:
        ConfigError: Unknown or unsupported model (checked before building it).
        CheckpointError: The weights cannot be found or do not fit.
    """
    cfg, entry = load_config(model, kind)
    family = export_family(kind, cfg)
    b = build_model(kind, model, checkpoint)
    b.model.eval()
    src = ExportSource(b.model, family, _common(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "rtmdet":
            _rtmdet(b, src)
        elif family == "rtmo":
            _rtmo(b, src)
        else:
            _top_down(b, src)
    if kind == "expert":
        k = int(b.meta["num_keypoints"])
        layout = entry.layout if entry is not None and entry.layout else LAYOUT_BY_K.get(k)
        src.settings.update(num_keypoints=k, keypoint_layout=layout)
    return src
