"""Pure numpy / OpenCV pre- and post-processing of the ONNX backend (no I/O, no sessions).

Small functions in the style of rtmlib. Each reproduces one step of mmdet / mmpose's
test-time processing exactly, so the ONNX backend matches the mm backend on the same
weights (the same crops pixel for pixel: the same OpenCV calls on the same float32
matrices; the same float64 arithmetic mapping keypoints back to the image):

* :func:`resize_pad` - mmdet ``Resize(keep_ratio=True)`` + ``Pad`` (top-left).
* :func:`warp_matrix`, :func:`box_center_scale`, :func:`topdown_crops` - mmpose
  ``GetBBoxCenterScale`` + ``TopdownAffine``; :func:`bottomup_warp` - ``BottomupResize``.
* :func:`to_nchw` - the data preprocessor (channel swap, mean / std) for a whole batch.
* :func:`simcc_decode`, :func:`heatmap_decode` - ``SimCCLabel`` / ``MSRAHeatmap``
  decoding; :func:`input_to_image` - mmpose's mapping back to image pixels.
* :func:`grid_priors`, :func:`rtmdet_decode`, :func:`rescale_factors` - RTMDet box
  decoding, per-level top-k, rescaling and class-wise NMS (mmdet's
  ``_predict_by_feat_single``), with :func:`posetools.geometry.nms`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..geometry import nms


def resize_pad(image: np.ndarray, size_wh: tuple[int, int], pad_value: float = 114.0,
               out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Resize keeping the aspect ratio into a ``(H, W)`` canvas, image at the top-left.

    Args:
        image: ``(h, w, 3) uint8``.
        size_wh: Canvas ``(W, H)`` (mmdet's ``Resize.scale``).
        pad_value: Canvas fill.
        out: Optional ``(H, W, 3) uint8`` canvas to write into.

    Returns:
        ``(canvas (H, W, 3) uint8, scale (2,) float64)``: ``scale = (new_w / w, new_h / h)``,
        the factors mmdet divides boxes by.
    """
    h, w = image.shape[:2]
    cw, ch = size_wh
    f = min(max(cw, ch) / max(h, w), min(cw, ch) / min(h, w))
    nw, nh = int(w * f + 0.5), int(h * f + 0.5)
    canvas = np.empty((ch, cw, 3), np.uint8) if out is None else out
    cv2.resize(image, (nw, nh), dst=canvas[:nh, :nw], interpolation=cv2.INTER_LINEAR)
    canvas[nh:] = pad_value
    canvas[:nh, nw:] = pad_value
    return canvas, np.array([nw / w, nh / h])


def warp_matrix(center: np.ndarray, scale: np.ndarray, size_wh: Sequence[int]) -> np.ndarray:
    """Mmpose's ``get_warp_matrix`` (no rotation, no shift): image -> input ``(2, 3)``.

    Args:
        center: ``(2,)`` region centre in image pixels.
        scale: ``(2,)`` region ``(width, height)`` in image pixels.
        size_wh: Output ``(W, H)``.
    """
    dw, dh = size_wh
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([scale[0] * -0.5, 0.0])
    dst[0] = [dw * 0.5, dh * 0.5]
    dst[1] = np.array([dw * 0.5, dh * 0.5]) + np.array([dw * -0.5, 0.0])
    for p in (src, dst):  # third point: (p0 - p1) turned 90 degrees about p1
        d = p[0] - p[1]
        p[2] = p[1] + np.r_[-d[1], d[0]]
    return cv2.getAffineTransform(src, dst)


def box_center_scale(boxes: np.ndarray, aspect: float,
                     padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Box centres and padded, aspect-fixed sizes (``GetBBoxCenterScale`` + ``TopdownAffine``).

    Args:
        boxes: ``(N, 4) float32`` xyxy.
        aspect: Input ``W / H``.
        padding: Box enlargement.

    Returns:
        ``(center (N, 2) float32, scale (N, 2) float32)``.
    """
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    scale = (b[:, 2:] - b[:, :2]) * padding
    center = (b[:, 2:] + b[:, :2]) * 0.5
    w, h = scale[:, :1], scale[:, 1:]
    scale = np.where(w > h * aspect, np.hstack([w, w / aspect]), np.hstack([h * aspect, h]))
    return center, scale.astype(np.float32)


def topdown_crops(images: Sequence[np.ndarray], jobs: Sequence[tuple[int, np.ndarray]],
                  size_wh: tuple[int, int], padding: float = 1.25,
                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every ``(frame index, box)`` job out of its frame into one uint8 batch.

    Args:
        images: Frames ``(h, w, 3) uint8``.
        jobs: ``(frame index, box (4,) xyxy)`` per crop.
        size_wh: Model input ``(W, H)``.
        padding: Box enlargement.
        out: Optional ``(>= N, H, W, 3) uint8`` buffer written in place.

    Returns:
        ``(crops (N, H, W, 3) uint8, center (N, 2), scale (N, 2))``.
    """
    w, h = size_wh
    boxes = np.stack([b for _, b in jobs]) if jobs else np.zeros((0, 4), np.float32)
    center, scale = box_center_scale(boxes, w / h, padding)
    crops = np.empty((len(jobs), h, w, 3), np.uint8) if out is None else out[: len(jobs)]
    for n, (f, _) in enumerate(jobs):
        cv2.warpAffine(images[f], warp_matrix(center[n], scale[n], size_wh), (w, h),
                       dst=crops[n], flags=cv2.INTER_LINEAR)
    return crops, center, scale


def bottomup_warp(image: np.ndarray, size_wh: tuple[int, int], pad_value: float = 0.0,
                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mmpose ``BottomupResize`` (``fit``, no UDP): the frame centred in the input.

    Returns:
        ``(canvas (H, W, 3) uint8, center (2,) float32, scale (2,) float32)``.
    """
    ih, iw = image.shape[:2]
    w, h = size_wh
    ratio = iw / ih
    rw, rh = min(w, h * ratio), min(h, w / ratio)
    center = np.array([iw / 2, ih / 2], np.float32)
    scale = np.array([iw * w / rw, ih * h / rh], np.float32)
    canvas = np.empty((h, w, 3), np.uint8) if out is None else out
    cv2.warpAffine(image, warp_matrix(center, scale, size_wh), (w, h), dst=canvas,
                   flags=cv2.INTER_LINEAR, borderValue=(pad_value,) * 3)
    return canvas, center, scale


def to_nchw(batch: np.ndarray, mean: np.ndarray, std: np.ndarray, swap_rb: bool,
            out: np.ndarray | None = None) -> np.ndarray:
    """``(B, H, W, 3) uint8`` -> normalised ``(B, 3, H, W) float32`` in one pass per channel.

    Args:
        batch: Images in RGB (or BGR) order.
        mean: ``(3,)`` in the network's channel order.
        std: ``(3,)`` in the network's channel order.
        swap_rb: Reverse the channel order first (RGB frames into a BGR network).
        out: Optional ``(>= B, 3, H, W) float32`` buffer.
    """
    b = batch.shape[0]
    res = np.empty((b, 3, *batch.shape[1:3]), np.float32) if out is None else out[:b]
    for c in range(3):
        src = batch[..., 2 - c] if swap_rb else batch[..., c]
        np.subtract(src, np.float32(mean[c]), out=res[:, c], dtype=np.float32)
        np.divide(res[:, c], np.float32(std[c]), out=res[:, c])
    return res


def simcc_decode(simcc_x: np.ndarray, simcc_y: np.ndarray,
                 ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """SimCC vectors -> input-space locations and raw scores (``SimCCLabel.decode``).

    Args:
        simcc_x: ``(B, K, W*r)``.
        simcc_y: ``(B, K, H*r)``.
        ratio: ``simcc_split_ratio``.

    Returns:
        ``(locs (B, K, 2) float32, scores (B, K) float32)``; scores are
        ``min(max_x, max_y)``; joints scoring <= 0 sit at ``-1 / ratio`` (as in mmpose).
    """
    locs = np.stack([simcc_x.argmax(-1), simcc_y.argmax(-1)], -1).astype(np.float32)
    scores = np.minimum(simcc_x.max(-1), simcc_y.max(-1)).astype(np.float32)
    locs[scores <= 0] = -1
    return locs / np.float32(ratio), scores


def heatmap_decode(heatmaps: np.ndarray,
                   input_wh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps -> input-space locations and scores (``MSRAHeatmap``, ``unbiased=False``).

    Argmax, then a quarter-pixel step towards the higher neighbour (mmpose's
    ``refine_keypoints``, with its exact border conditions), then scaling by
    ``input / heatmap`` size.

    Args:
        heatmaps: ``(B, K, h, w)``.
        input_wh: Model input ``(W, H)``.

    Returns:
        ``(locs (B, K, 2) float32, scores (B, K) float32)``.
    """
    b, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(b, k, -1)
    idx = flat.argmax(-1)
    scores = np.take_along_axis(flat, idx[..., None], -1)[..., 0].astype(np.float32)
    x, y = (idx % w).astype(np.int64), (idx // w).astype(np.int64)
    neg = scores <= 0
    x[neg], y[neg] = -1, -1
    bi, ki = np.meshgrid(np.arange(b), np.arange(k), indexing="ij")
    okx = (x > 1) & (x < w - 1) & (y > 0) & (y < h)
    oky = (y > 1) & (y < h - 1) & (x > 0) & (x < w)
    xc, yc = np.clip(x, 1, w - 2), np.clip(y, 1, h - 2)
    yy, xx = np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)
    dx = np.where(okx, heatmaps[bi, ki, yy, xc + 1] - heatmaps[bi, ki, yy, xc - 1], 0)
    dy = np.where(oky, heatmaps[bi, ki, yc + 1, xx] - heatmaps[bi, ki, yc - 1, xx], 0)
    locs = np.stack([x, y], -1).astype(np.float32)
    locs += np.stack([np.sign(dx), np.sign(dy)], -1).astype(np.float32) * np.float32(0.25)
    factor = np.array([input_wh[0] / w, input_wh[1] / h], np.float32)
    return locs * factor, scores


def input_to_image(locs: np.ndarray, center: np.ndarray, scale: np.ndarray,
                   input_wh: tuple[int, int]) -> np.ndarray:
    """Input-space points -> image pixels, as mmpose (float64 arithmetic, float32 result).

    Args:
        locs: ``(N, ..., 2)``.
        center: ``(N, 2)`` (or ``(2,)``) centre of the region each input covers.
        scale: ``(N, 2)`` (or ``(2,)``) size of that region.
        input_wh: Model input ``(W, H)``.
    """
    shape = (-1,) + (1,) * (locs.ndim - 2) + (2,)
    c = np.asarray(center, np.float32).reshape(shape)
    s = np.asarray(scale, np.float32).reshape(shape)
    size = np.asarray(input_wh, np.int64)
    return (locs / size * s + c - 0.5 * s).astype(np.float32)


def grid_priors(size_wh: tuple[int, int], strides: Sequence[int],
                offset: float = 0.0) -> tuple[np.ndarray, list[int]]:
    """Anchor points of all levels (mmdet ``MlvlPointGenerator``), row-major per level.

    Returns:
        ``(priors (N, 2) float32, anchors per level)``.
    """
    pts, sizes = [], []
    for s in strides:
        fw, fh = -(-size_wh[0] // s), -(-size_wh[1] // s)
        yy, xx = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        pts.append(np.stack([(xx.ravel() + offset) * s, (yy.ravel() + offset) * s], -1))
        sizes.append(fw * fh)
    return np.concatenate(pts).astype(np.float32), sizes


def rescale_factors(scale: np.ndarray) -> np.ndarray:
    """``(4,) float32`` factors mapping xyxy input pixels to image pixels (mmdet's rescale).

    Args:
        scale: ``(2,)`` resize factors of :func:`resize_pad`.
    """
    return np.array([1 / float(scale[0]), 1 / float(scale[1])] * 2, np.float32)


def rtmdet_decode(scores: np.ndarray, dists: np.ndarray, priors: np.ndarray,
                  level_sizes: Sequence[int], size_wh: tuple[int, int], score_thr: float,
                  nms_pre: int, iou: float, max_det: int,
                  scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw RTMDet outputs of one image -> kept boxes, as mmdet's ``predict_by_feat``.

    Per level, the ``nms_pre`` best (anchor, class) pairs scoring above ``score_thr``;
    boxes ``prior -/+ distances`` clamped to the input; mapped to the image (when
    ``scale`` is given: times ``float32(1 / scale)``, mmdet's ``rescale``); zero-size
    boxes dropped; class-wise NMS at ``iou``; the ``max_det`` best.

    Args:
        scores: ``(N, C)`` sigmoid scores.
        dists: ``(N, 4)`` left, top, right, bottom distances (input pixels).
        priors: ``(N, 2)`` anchor points.
        level_sizes: Anchors per level.
        size_wh: Input ``(W, H)``.
        score_thr: Candidate threshold (``test_cfg.score_thr``).
        nms_pre: Candidates kept per level (``test_cfg.nms_pre``).
        iou: NMS IoU threshold.
        max_det: Boxes kept (``test_cfg.max_per_img``).
        scale: ``(2,)`` resize factors ``(new_w / w, new_h / h)`` of :func:`resize_pad`.

    Returns:
        ``(boxes (M, 4) float32, scores (M,) float32, labels (M,) int64)``, best first;
        boxes in image pixels when ``scale`` is given, else in input pixels.
    """
    num_cls = scores.shape[1]
    keep_s, keep_a, keep_l = [], [], []
    start = 0
    for n in level_sizes:
        flat = scores[start:start + n].reshape(-1)
        valid = np.flatnonzero(flat > score_thr)
        if len(valid) > nms_pre:
            valid = valid[np.argsort(-flat[valid], kind="stable")[:nms_pre]]
        keep_s.append(flat[valid])
        keep_a.append(start + valid // num_cls)
        keep_l.append(valid % num_cls)
        start += n
    s, a, lab = np.concatenate(keep_s), np.concatenate(keep_a), np.concatenate(keep_l)
    p, d = priors[a], dists[a]
    boxes = np.concatenate([p - d[:, :2], p + d[:, 2:]], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, size_wh[0])
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, size_wh[1])
    if scale is not None:
        boxes = boxes * rescale_factors(scale)
    ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, s, lab = boxes[ok], s[ok], lab[ok]
    keep = [np.flatnonzero(lab == c)[nms(boxes[lab == c], s[lab == c], iou)]
            for c in np.unique(lab)]
    k = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    k = k[np.argsort(-s[k], kind="stable")][:max_det]
    return boxes[k].astype(np.float32), s[k].astype(np.float32), lab[k].astype(np.int64)


__all__ = [
    "resize_pad", "warp_matrix", "box_center_scale", "topdown_crops", "bottomup_warp",
    "to_nchw", "simcc_decode", "heatmap_decode", "input_to_image", "grid_priors",
    "rescale_factors", "rtmdet_decode",
]
