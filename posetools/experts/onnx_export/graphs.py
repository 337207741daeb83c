"""Exportable torch wrappers around built OpenMMLab models, one per model family.

Each wrapper takes the normalised model input ``(B, 3, H, W) float32`` and returns the
tensors the ONNX backend consumes (names in :data:`OUTPUTS`). The wrappers only call
the models' own ``extract_feat`` / head ``forward`` / DCC modules and reproduce the
post-processing mmdet / mmpose run *after* the network in torch (flip test, box
decoding, NMS, instance selection), so an exported graph computes what the mm backend
computes. Nothing here imports ``mm*``: the models and their settings come from
:func:`posetools.experts.backends.mm.export_source`.

Fixed-size outputs: graphs with NMS return ``max_det`` rows per image, best first;
rows past the last kept instance have score 0 (the backend drops them).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

OUTPUTS: dict[str, tuple[str, ...]] = {
    "rtmdet": ("dets", "labels"),
    "rtmdet-raw": ("cls_scores", "bbox_dists"),
    "simcc": ("simcc_x", "simcc_y"),
    "heatmap": ("heatmaps",),
    "rtmo": ("dets", "keypoints"),
}
"""Output names of each family's graph."""


class _NMS(torch.autograd.Function):
    """Per-class NMS exported as ONNX ``NonMaxSuppression`` (eager: torchvision's nms)."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_out: int, iou: float,
                score_thr: float) -> Tensor:
        """Selected ``(K, 3) int64`` rows ``(image, class, box)``, as ONNX's operator.

        Args:
            ctx: Autograd context (unused).
            boxes: ``(B, N, 4)`` xyxy.
            scores: ``(B, C, N)``.
            max_out: Boxes kept per image and class.
            iou: Suppression IoU.
            score_thr: Candidates score above this.
        """
        from torchvision.ops import nms

        rows = []
        for b in range(boxes.shape[0]):
            for c in range(scores.shape[1]):
                idx = torch.nonzero(scores[b, c] > score_thr).reshape(-1)
                keep = idx[nms(boxes[b, idx], scores[b, c, idx], iou)][:max_out]
                rows.append(torch.stack([torch.full_like(keep, b), torch.full_like(keep, c),
                                         keep], 1))
        return torch.cat(rows) if rows else boxes.new_zeros((0, 3), dtype=torch.int64)

    @staticmethod
    def symbolic(g, boxes, scores, max_out: int, iou: float, score_thr: float):
        """The ONNX ``NonMaxSuppression`` node (corner boxes)."""
        return g.op(
            "NonMaxSuppression", boxes, scores,
            g.op("Constant", value_t=torch.tensor([max_out], dtype=torch.int64)),
            g.op("Constant", value_t=torch.tensor([iou], dtype=torch.float32)),
            g.op("Constant", value_t=torch.tensor([score_thr], dtype=torch.float32)),
            center_point_box_i=0,
        )


def nms_topk(boxes: Tensor, scores: Tensor, iou: float, score_thr: float,
             max_det: int) -> tuple[Tensor, Tensor, Tensor]:
    """Class-wise NMS, then the ``max_det`` best survivors of each image.

    Args:
        boxes: ``(B, N, 4)`` xyxy.
        scores: ``(B, C, N)``; only scores above ``score_thr`` are candidates.
        iou: A box overlapping a kept, higher-scored box of its class by more is dropped.
        score_thr: Candidate threshold.
        max_det: Rows returned per image.

    Returns:
        ``(scores (B, max_det), labels (B, max_det) int64, box_index (B, max_det) int64)``,
        best first; rows past the survivors have score 0.
    """
    b, c, n = scores.shape
    sel = _NMS.apply(boxes, scores, max_det, iou, score_thr)
    flat = sel[:, 0] * (c * n) + sel[:, 1] * n + sel[:, 2]
    dense = torch.zeros_like(scores).reshape(-1)
    dense = dense.scatter(0, flat, scores.reshape(-1).gather(0, flat)).reshape(b, c * n)
    vals, idx = dense.topk(min(max_det, c * n), dim=1)
    return vals, idx // n, idx % n


def _gather_rows(x: Tensor, idx: Tensor) -> Tensor:
    """``x[b, idx[b, j]]`` for ``x (B, N, D)`` and ``idx (B, M)``: ``(B, M, D)``."""
    return x.gather(1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def _flatten_levels(maps: Sequence[Tensor]) -> Tensor:
    """``[(B, C, H_l, W_l)]`` -> ``(B, sum H_l W_l, C)`` row-major per level."""
    return torch.cat([m.permute(0, 2, 3, 1).flatten(1, 2) for m in maps], dim=1)


class RTMDetGraph(nn.Module):
    """RTMDet: backbone + neck + head, then sigmoid scores and distances (raw) or NMS.

    Args:
        model: A built mmdet ``RTMDet`` (eval mode).
        priors: ``(N, 2)`` anchor points of all levels (input pixels).
        level_sizes: Anchors per level (``H_l * W_l``), in level order.
        input_hw: Model input ``(H, W)`` (boxes are clamped to it, as mmdet does).
        with_nms: Put score filter, per-level top-k, NMS and top ``max_det`` in the graph.
        score_thr: Candidate threshold.
        nms_pre: Candidates kept per level.
        iou: NMS IoU threshold.
        max_det: Rows per image.
    """

    def __init__(self, model: nn.Module, priors: Tensor, level_sizes: Sequence[int],
                 input_hw: tuple[int, int], *, with_nms: bool, score_thr: float, nms_pre: int,
                 iou: float, max_det: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("priors", priors.float())
        self.level_sizes = list(level_sizes)
        self.input_hw = input_hw
        self.with_nms = with_nms
        self.score_thr, self.nms_pre, self.iou, self.max_det = score_thr, nms_pre, iou, max_det

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, 3, H, W)`` -> ``dets (B, M, 5), labels (B, M)`` or raw outputs.

        Raw: ``cls_scores (B, N, C)`` sigmoid scores, ``bbox_dists (B, N, 4)`` left, top,
        right, bottom distances of each anchor's box in input pixels.
        """
        cls, reg = self.model.bbox_head(self.model.extract_feat(x))
        scores = _flatten_levels(cls).sigmoid()
        dists = _flatten_levels(reg)
        if not self.with_nms:
            return scores, dists
        p = self.priors.unsqueeze(0)
        boxes = torch.cat([p - dists[..., :2], p + dists[..., 2:]], dim=-1)
        h, w = self.input_hw
        boxes = torch.stack([boxes[..., 0].clamp(0, w), boxes[..., 1].clamp(0, h),
                             boxes[..., 2].clamp(0, w), boxes[..., 3].clamp(0, h)], -1)
        cand_boxes, cand_scores = [], []
        num_cls = scores.shape[-1]
        for lvl_boxes, lvl_scores in zip(boxes.split(self.level_sizes, 1),
                                         scores.split(self.level_sizes, 1), strict=True):
            # mmdet's filter_scores_and_topk: best nms_pre (anchor, class) pairs per level
            flat = lvl_scores.flatten(1)
            flat = torch.where(flat > self.score_thr, flat, torch.zeros_like(flat))
            vals, idx = flat.topk(min(self.nms_pre, flat.shape[1]), dim=1)
            onehot = nn.functional.one_hot(idx % num_cls, num_cls).to(vals.dtype)
            cand_scores.append((onehot * vals.unsqueeze(-1)).transpose(1, 2))
            cand_boxes.append(_gather_rows(lvl_boxes, idx // num_cls))
        cand_b, cand_s = torch.cat(cand_boxes, 1), torch.cat(cand_scores, 2)
        # mmdet drops empty / inverted boxes (min_bbox_size) before NMS
        ok = (cand_b[..., 2] > cand_b[..., 0]) & (cand_b[..., 3] > cand_b[..., 1])
        cand_s = cand_s * ok.unsqueeze(1).to(cand_s.dtype)
        vals, labels, idx = nms_topk(cand_b, cand_s, self.iou, self.score_thr, self.max_det)
        dets = torch.cat([_gather_rows(cand_b, idx), vals.unsqueeze(-1)], dim=-1)
        return dets, labels


def _flip_test(model: nn.Module, x: Tensor, flip: bool):
    """Head outputs on ``x`` and (when ``flip``) on ``x`` mirrored, in one batch."""
    if not flip:
        return model.head.forward(model.extract_feat(x)), None
    out = model.head.forward(model.extract_feat(torch.cat([x, x.flip(3)], dim=0)))
    b = x.shape[0]
    if isinstance(out, Tensor):
        return out[:b], out[b:]
    return tuple(o[:b] for o in out), tuple(o[b:] for o in out)


class SimccGraph(nn.Module):
    """RTMPose / RTMW: SimCC vectors, flip test as the config's ``test_cfg`` says.

    Args:
        model: A built mmpose ``TopdownPoseEstimator`` with a SimCC head.
        flip_indices: Keypoint index of each joint's mirror joint.
        flip_test: Average with the mirrored crop (mmpose's ``flip_test``).
    """

    def __init__(self, model: nn.Module, flip_indices: Sequence[int], flip_test: bool) -> None:
        super().__init__()
        self.model = model
        self.flip_indices = list(flip_indices)
        self.flip_test = flip_test

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, 3, H, W)`` -> ``simcc_x (B, K, W*r), simcc_y (B, K, H*r)``."""
        (px, py), flipped = _flip_test(self.model, x, self.flip_test)
        if flipped is None:
            return px, py
        fx, fy = flipped
        fx = fx[:, self.flip_indices].flip(-1)
        fy = fy[:, self.flip_indices]
        return (px + fx) * 0.5, (py + fy) * 0.5


class HeatmapGraph(nn.Module):
    """HRNet-style heatmap models: heatmaps with mmpose's heatmap-mode flip test.

    Args:
        model: A built mmpose ``TopdownPoseEstimator`` with a heatmap head.
        flip_indices: Keypoint index of each joint's mirror joint.
        flip_test: Average with the mirrored crop.
        shift_heatmap: Shift the mirrored heatmaps one pixel right (``shift_heatmap``).
    """

    def __init__(self, model: nn.Module, flip_indices: Sequence[int], flip_test: bool,
                 shift_heatmap: bool) -> None:
        super().__init__()
        self.model = model
        self.flip_indices = list(flip_indices)
        self.flip_test, self.shift_heatmap = flip_test, shift_heatmap

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, 3, H, W)`` -> ``heatmaps (B, K, h, w)``."""
        hm, flipped = _flip_test(self.model, x, self.flip_test)
        if flipped is None:
            return hm
        f = flipped.flip(-1)[:, self.flip_indices]
        if self.shift_heatmap:
            f = torch.cat([f[..., :1], f[..., :-1]], dim=-1)
        return (hm + f) * 0.5


class RTMOGraph(nn.Module):
    """RTMO one-stage: boxes, NMS, then the DCC keypoints of the kept instances.

    Args:
        model: A built mmpose ``BottomupPoseEstimator`` with an ``RTMOHead``.
        priors: ``(N, 2)`` grid points of all levels.
        strides: ``(N,)`` stride of each grid point.
        input_wh: Model input ``(W, H)``; boxes are clamped to it after the DCC step.
        score_thr: Candidate threshold (``test_cfg.score_thr``).
        iou: NMS IoU threshold (``test_cfg.nms_thr``).
        max_det: Instances kept per image (mmpose keeps every NMS survivor).
    """

    def __init__(self, model: nn.Module, priors: Tensor, strides: Tensor,
                 input_wh: tuple[int, int], *, score_thr: float, iou: float,
                 max_det: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("priors", priors.float())
        self.register_buffer("strides", strides.float())
        self.input_wh = input_wh
        self.score_thr, self.iou, self.max_det = score_thr, iou, max_det

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, 3, H, W)`` -> ``dets (B, M, 5), keypoints (B, M, K, 3)`` (input pixels)."""
        head = self.model.head
        cls, bbox, _, vis, pose = head.forward(self.model.extract_feat(x))
        scores = _flatten_levels(cls).sigmoid().amax(-1)  # (B, N)
        s = self.strides.view(1, -1, 1)
        raw = _flatten_levels(bbox)
        xy = raw[..., :2] * s + self.priors.unsqueeze(0)
        wh = raw[..., 2:].exp() * s
        boxes = torch.cat([xy - wh / 2, xy + wh / 2], dim=-1)
        vals, _, idx = nms_topk(boxes, scores.unsqueeze(1), self.iou, self.score_thr,
                                self.max_det)
        b, m = idx.shape
        kb = _gather_rows(boxes, idx)
        cs = torch.cat([(kb[..., :2] + kb[..., 2:]) * 0.5,
                        (kb[..., 2:] - kb[..., :2]) * head.bbox_padding], dim=-1)
        grids = self.priors[idx.reshape(-1)]
        feats = _gather_rows(_flatten_levels(pose), idx).reshape(b * m, -1)
        kpts = head.dcc.forward_test(feats, cs.reshape(b * m, 4), grids).reshape(b, m, -1, 2)
        kvis = _gather_rows(_flatten_levels(vis).sigmoid(), idx)
        w, h = self.input_wh
        kb = torch.stack([kb[..., 0].clamp(0, w), kb[..., 1].clamp(0, h),
                          kb[..., 2].clamp(0, w), kb[..., 3].clamp(0, h)], -1)
        return (torch.cat([kb, vals.unsqueeze(-1)], -1),
                torch.cat([kpts, kvis.unsqueeze(-1)], -1))


__all__ = ["OUTPUTS", "RTMDetGraph", "SimccGraph", "HeatmapGraph", "RTMOGraph", "nms_topk"]
