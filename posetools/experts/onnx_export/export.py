"""``export_onnx``: trace a family wrapper, write the metadata, check the file.

The model and its settings come from the mm adapter
(:func:`posetools.experts.backends.mm.export_source`); the graph is traced with
``torch.onnx`` (TorchScript exporter, no mmdeploy, no custom ops) with a dynamic batch
axis on the input and every output; the settings go into ``metadata_props``
(:mod:`posetools.experts.onnx_meta`); ``onnx.checker`` (full check) and one ONNX
Runtime run against the torch wrapper verify the file.
"""

from __future__ import annotations

import importlib.metadata as md
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import ConfigError, ExportError, MissingBackendError
from .. import onnx_meta, zoo
from .graphs import OUTPUTS, HeatmapGraph, RTMDetGraph, RTMOGraph, SimccGraph

DEFAULT_OPSET = 17
"""ONNX opset of exported graphs (``NonMaxSuppression`` needs >= 11)."""
MIN_OPSET = 11
RTMO_MAX_DET = 100
"""Instances per image of an RTMO graph (mmpose keeps every NMS survivor)."""


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_onnx` wrote.

    Attributes:
        path: The ``.onnx`` file.
        family: ``rtmdet``, ``rtmdet-raw``, ``simcc``, ``heatmap`` or ``rtmo``.
        outputs: Output names, in order.
        opset: ONNX opset.
        metadata: The ``posetools.*`` metadata written (decoded).
        max_abs_diff: Per output, the largest ``|ONNX Runtime - torch|`` of the check
            run (``None`` without ``verify``).
    """

    path: Path
    family: str
    outputs: tuple[str, ...]
    opset: int
    metadata: dict[str, Any]
    max_abs_diff: dict[str, float] | None


def _graph(src, nms: bool, score_thr: float | None, max_det: int | None,
           flip_test: bool | None) -> tuple[torch.nn.Module, str]:
    """The wrapper module of ``src``'s family; updates ``src.settings`` to what it does."""
    st = src.settings
    w, h = st["input_size"]
    if src.family == "rtmdet":
        if score_thr is not None:
            st["score_thr"] = float(score_thr)
        if max_det is not None:
            st["max_det"] = int(max_det)
        graph = RTMDetGraph(src.model, src.priors, src.level_sizes, (h, w), with_nms=nms,
                            score_thr=st["score_thr"], nms_pre=st["nms_pre"],
                            iou=st["nms_iou"], max_det=st["max_det"])
        return graph, "rtmdet" if nms else "rtmdet-raw"
    if src.family == "rtmo":
        if score_thr is not None:
            st["score_thr"] = float(score_thr)
        st["max_det"] = RTMO_MAX_DET if max_det is None else int(max_det)
        return RTMOGraph(src.model, src.priors, src.prior_strides, (w, h),
                         score_thr=st["score_thr"], iou=st["nms_iou"],
                         max_det=st["max_det"]), "rtmo"
    if flip_test is not None:
        st["flip_test"] = bool(flip_test)
    if src.family == "simcc":
        return SimccGraph(src.model, src.flip_indices, st["flip_test"]), "simcc"
    return HeatmapGraph(src.model, src.flip_indices, st["flip_test"],
                        st["shift_heatmap"]), "heatmap"


def _versions() -> str:
    out = []
    for p in ("torch", "onnx", "mmdet", "mmpose"):
        try:
            out.append(f"{p} {md.version(p)}")
        except md.PackageNotFoundError:
            continue
    return "posetools export-onnx; " + ", ".join(out)


def export_onnx(model: str, out: str | Path, checkpoint: str | None = None, *,
                kind: str | None = None, nms: bool = True, opset: int = DEFAULT_OPSET,
                flip_test: bool | None = None, score_thr: float | None = None,
                max_det: int | None = None, verify: bool = True) -> ExportReport:
    """Export a zoo model (or an OpenMMLab config) to an ONNX file the ONNX backend runs.

    Args:
        model: Zoo name (``rtmdet-nano``, ``rtmpose-m``, ``rtmw-m``, ``hrnet-w32``,
            ``rtmo-s``...) or an mmdet / mmpose config path (then give ``kind``).
        out: Destination ``.onnx`` path (parent folders are created).
        checkpoint: ``None`` (the zoo's released checkpoint), a local ``.pth`` file, or
            ``random-init`` (seeded random weights; tests and benchmarks).
        kind: ``detector`` or ``expert``; needed only for a config path.
        nms: RTMDet: NMS in the graph (``dets``, ``labels``) or raw outputs
            (``cls_scores``, ``bbox_dists``) that the backend decodes in numpy.
        opset: ONNX opset, >= 11.
        flip_test: Top-down pose models: override the config's ``test_cfg.flip_test``
            (on for every zoo config; the graph then runs each crop and its mirror).
        score_thr: Graphs with NMS (RTMDet, RTMO): candidate score threshold (default:
            the config's ``test_cfg``).
        max_det: Graphs with NMS: rows per image (default: ``max_per_img``; RTMO 100).
        verify: Run ``onnx.checker`` and compare an ONNX Runtime run (batch 2) with the
            torch wrapper.

    Returns:
        An :class:`ExportReport`.

    Raises:
        ConfigError: Unknown model, unsupported family or codec, bad option.
        CheckpointError: The weights cannot be found or do not fit.
        MissingBackendError: The mm stack or ``onnx`` is not installed.
        ExportError: Tracing, the checker or the ONNX Runtime check failed.
    """
    if opset < MIN_OPSET:
        raise ConfigError(f"export-onnx: opset {opset} < {MIN_OPSET} (NonMaxSuppression)")
    try:
        import onnx
    except ImportError as e:
        raise MissingBackendError(f"export-onnx needs the onnx package: pip install onnx "
                                  f"onnxruntime ({e})") from e
    entry = zoo.ZOO.get(model)
    kind = kind or (entry.kind if entry is not None else None)
    if kind not in ("detector", "expert"):
        raise ConfigError(f"export-onnx: {model!r} is no zoo name: give --kind detector|expert")
    from ..backends import mm
    src = mm.export_source(kind, model, checkpoint)  # type: ignore[arg-type]
    graph, family = _graph(src, nms, score_thr, max_det, flip_test)
    names = OUTPUTS[family]
    meta = {"format": onnx_meta.FORMAT, "family": family, **src.settings,
            "tensor_layout": "NCHW", "opset": opset, "exporter": _versions(),
            "outputs": list(names)}
    w, h = meta["input_size"]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(0))
    graph = graph.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(graph, (x,), str(out), dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=list(names),
                              dynamic_axes={n: {0: "batch"} for n in ("input", *names)},
                              do_constant_folding=True)
    except Exception as e:  # noqa: BLE001 - torch.onnx raises many types
        raise ExportError(f"export-onnx: torch.onnx failed for {src.settings['model']}: "
                          f"{type(e).__name__}: {e}") from e
    proto = onnx.load(str(out))
    for k, v in onnx_meta.encode(meta).items():
        proto.metadata_props.add(key=k, value=v)
    proto.doc_string = f"{meta['model']} ({family}), exported by posetools export-onnx"
    onnx.save(proto, str(out))
    diff = None
    if verify:
        try:
            onnx.checker.check_model(str(out), full_check=True)
        except Exception as e:  # noqa: BLE001 - onnx raises its own types
            raise ExportError(f"export-onnx: onnx.checker refused {out}: {e}") from e
        diff = _check_runtime(out, graph, x, names, family)
    return ExportReport(out, family, names, opset, meta, diff)


def _check_runtime(path: Path, graph: torch.nn.Module, x: torch.Tensor,
                   names: tuple[str, ...], family: str) -> dict[str, float]:
    """Per output, ``max |ONNX Runtime - torch|`` on ``x``.

    Raises:
        ExportError: A shape or dtype differs, or (graphs without NMS) an output differs
            by more than ``1e-3`` of its largest magnitude. Outputs after NMS are only
            reported: with random weights many boxes tie, and float rounding may pick
            another of two equal boxes.
    """
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(list(names), {"input": x.numpy()})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        want = graph(x)
    want = (want,) if isinstance(want, torch.Tensor) else want
    has_nms = family in ("rtmdet", "rtmo")
    diffs = {}
    for n, g, t in zip(names, got, want, strict=True):
        t = t.numpy()
        if g.shape != t.shape or g.dtype.kind != t.dtype.kind:
            raise ExportError(f"export-onnx: output {n} is {g.dtype} {g.shape} in ONNX Runtime,"
                              f" {t.dtype} {t.shape} in torch")
        d = float(np.abs(g.astype(np.float64) - t).max(initial=0.0))
        diffs[n] = d
        tol = 1e-3 * max(1.0, float(np.abs(t).max(initial=0.0)))
        if not has_nms and d > tol:
            raise ExportError(f"export-onnx: output {n} differs by {d:.3g} between ONNX "
                              f"Runtime and torch (tolerance {tol:.3g})")
    return diffs


__all__ = ["DEFAULT_OPSET", "ExportReport", "export_onnx"]
