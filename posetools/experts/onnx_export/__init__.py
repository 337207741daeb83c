"""ONNX files from the installed mmdet / mmpose models, for the ONNX backend.

``posetools export-onnx MODEL -o FILE.onnx`` calls :func:`export_onnx`. Families:
RTMDet (NMS in the graph, or raw outputs), RTMPose / RTMW (SimCC), HRNet and other
``HeatmapHead`` + ``MSRAHeatmap`` models, RTMO. Two-stage Faster R-CNN is refused
(mmcv's ``RoIAlign`` has no ONNX symbolic without mmdeploy).

* :mod:`.graphs` - one torch wrapper per family (flip test, box decoding, NMS inside
  the graph, as mmdet / mmpose compute after the network).
* :mod:`.export` - tracing with ``torch.onnx`` (no mmdeploy), metadata
  (:mod:`posetools.experts.onnx_meta`), ``onnx.checker`` and the ONNX Runtime check.

Needs torch (imported with this package), ``onnx`` and the mm stack (imported when
exporting); nothing here imports ``mm*``: models and their settings come from the mm
adapter (:func:`posetools.experts.backends.mm.export_source`).
"""

from __future__ import annotations

from ...errors import MissingBackendError

try:
    from .export import DEFAULT_OPSET, ExportReport, export_onnx
except ImportError as _e:  # pragma: no cover - exercised only without torch
    if isinstance(_e, MissingBackendError):
        raise
    raise MissingBackendError(f"export-onnx needs torch and the OpenMMLab stack (README "
                              f"section [mm]) ({_e})") from _e

__all__ = ["DEFAULT_OPSET", "ExportReport", "export_onnx"]
