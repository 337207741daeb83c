"""The metadata an exported ``.onnx`` file carries for the ONNX backend.

``posetools export-onnx`` writes these keys into the model's ``metadata_props``; the
ONNX backend reads them, so a pipeline YAML names only the file. Every key is
prefixed ``posetools.`` and every value is JSON text.

==================== ==================================================================
key                  value
==================== ==================================================================
``format``           :data:`FORMAT` (a newer number than this code reads is refused)
``family``           ``rtmdet`` (NMS in the graph), ``rtmdet-raw``, ``simcc``,
                     ``heatmap``, ``rtmo``
``model``            zoo name (or config stem) of the source model
``config``           file name of its OpenMMLab config
``weights_sha256``   sha256 of the source checkpoint, or ``random-init``
``input_size``       ``[W, H]`` of the network input
``tensor_layout``    ``NCHW`` (input ``(B, 3, H, W) float32``, dynamic ``B``)
``channel_order``    ``RGB`` / ``BGR``: what the network sees
``mean``, ``std``    normalisation, in that channel order
``preprocess``       ``resize_pad`` (mmdet Resize + Pad), ``topdown_affine`` (mmpose
                     GetBBoxCenterScale + TopdownAffine), ``bottomup_affine``
                     (mmpose BottomupResize)
``pad_value``        grey value of the canvas outside the image
``opset``            ONNX opset of the graph
``exporter``         ``posetools export-onnx`` and the torch / mmdet / mmpose versions
``outputs``          output names, in order
==================== ==================================================================

Detectors add ``classes``, ``score_thr``, ``nms_iou``, ``nms_pre``, ``max_det``,
``strides``, ``prior_offset``. Pose models add ``num_keypoints``, ``keypoint_layout``,
``bbox_padding``, ``flip_test``; SimCC ``simcc_split_ratio``; heatmaps
``heatmap_size [w, h]``, ``shift_heatmap``, ``refine`` (``quarter_offset``); RTMO
``score_thr``, ``nms_iou``, ``max_det``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PREFIX = "posetools."
"""Prefix of every key posetools writes."""
FORMAT = 1
"""Version of this key set."""


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """``{key: value}`` -> ``{"posetools.key": json}`` for ``metadata_props``."""
    return {PREFIX + k: json.dumps(v, sort_keys=True) for k, v in values.items()}


def decode(props: Mapping[str, str]) -> dict[str, Any]:
    """Read the ``posetools.*`` entries of a metadata map (other keys are ignored).

    Args:
        props: ``session.get_modelmeta().custom_metadata_map``, or an
            ``onnx.ModelProto``'s ``metadata_props`` as a dict.

    Returns:
        Key (without the prefix) -> decoded value; empty for files other exporters wrote.

    Raises:
        ValueError: A value is not JSON, or the format is newer than :data:`FORMAT`.
    """
    out: dict[str, Any] = {}
    for k, v in props.items():
        if k.startswith(PREFIX):
            try:
                out[k[len(PREFIX):]] = json.loads(v)
            except json.JSONDecodeError as e:
                raise ValueError(f"metadata {k}: not JSON ({e})") from e
    fmt = out.get("format", 0)
    if out and (not isinstance(fmt, int) or fmt > FORMAT):
        raise ValueError(f"metadata format {fmt!r} is newer than this posetools reads "
                         f"({FORMAT}); upgrade posetools or re-export the file")
    return out


__all__ = ["PREFIX", "FORMAT", "encode", "decode"]
