"""The ``heatmaps`` stage: crop each sequence and render a pseudo-heatmap cache.

Reads ``aggregate/<vid>.h5``, crops the union box of all valid keypoints of the
whole video, renders ``(T, C, S, S)`` heatmaps straight on the ``S x S`` grid in
blocks of frames and writes them zstd-compressed, together with the grid
keypoints a trainer needs to render the same tensors itself. ``style`` picks the
crop and renderer: :func:`posetools.heatmaps.compute_crop` /
:func:`~posetools.heatmaps.render_heatmaps` (``posetools``) or
:func:`~posetools.heatmaps.compute_compact_crop` /
:func:`~posetools.heatmaps.render_heatmaps_mmaction2` (``mmaction2``). Layout:
:class:`~posetools.io.artifacts.heatmaps.HeatmapsArtifact`.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from ..config.loader import semantic
from ..config.schema import HeatmapsConfig
from ..errors import PosetoolsError
from ..heatmaps import (
    CompactCrop,
    CropBox,
    channel_flip_permutation,
    channel_names,
    compute_compact_crop,
    compute_crop,
    joint_mask,
    render_heatmaps,
    render_heatmaps_mmaction2,
    resolve_limbs,
)
from ..io.artifacts.aggregate import AggregateArtifact
from ..io.artifacts.heatmaps import HeatmapsArtifact
from ..skeletons import get_layout
from .base import ProgressFn, Stage, VideoJob
from .common import upstream_file

RENDER_BLOCK_FRAMES = 64
"""Frames rendered per call (bounds memory; output does not depend on it)."""


class HeatmapsStage(Stage):
    """Render the heatmap cache of one video (see ``docs/formats.md``)."""

    name = "heatmaps"
    version = "2"
    config: HeatmapsConfig

    def inputs(self) -> tuple[str, ...]:
        """Reads the aggregated keypoints."""
        return ("aggregate",)

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Crop, render in blocks, write the cache."""
        cfg = self.config
        with upstream_file(job, "aggregate") as src:
            agg = AggregateArtifact.read(src, job.video_id)
        layout = get_layout(agg.layout)
        kp, sc, valid = agg.keypoints, agg.scores, agg.valid
        fr = agg.frames
        spec = cfg.limb_spec()
        try:
            limbs = np.asarray(resolve_limbs(layout, spec), np.int64).reshape(-1, 2)
        except PosetoolsError as e:
            raise e.with_context(video_id=job.video_id, stage=self.name) from None
        compact: CompactCrop | None = None
        if cfg.style == "mmaction2":
            compact = compute_compact_crop(kp, sc, valid, frame_size=(fr.width, fr.height),
                                           size=cfg.size, padding=cfg.padding,
                                           square=cfg.square, min_size=cfg.min_crop_size)
            crop: CropBox = compact.crop_box()
            grid = compact.to_grid(kp)
            scale = np.asarray(compact.scale, np.float64)
            render = render_heatmaps_mmaction2
            mask = joint_mask(kp, sc, valid, min_score=0.0) & ~(
                sc.astype(np.float32) < np.float32(cfg.min_score))
        else:
            crop = compute_crop(kp, sc, valid, frame_size=(fr.width, fr.height),
                                padding=cfg.padding, square=cfg.square,
                                min_size=cfg.min_crop_size, min_score=cfg.min_score)
            grid = crop.to_grid(kp, cfg.size)
            scale = np.array(crop.scale(cfg.size), dtype=np.float64)
            render = render_heatmaps
            mask = joint_mask(kp, sc, valid, min_score=cfg.min_score)
        grid[~mask] = np.nan  # what is not rendered is not stored as a coordinate either
        limb_set = ("default" if not cfg.limbs else
                    "custom" if cfg.limb_pairs is not None else cfg.limb_set)
        art = HeatmapsArtifact(
            fr.frame_index, fr.pts, grid, sc, valid, crop.as_array(), scale, limbs,
            tuple(channel_names(layout, joints=cfg.joints, limbs=spec)),
            channel_flip_permutation(layout, joints=cfg.joints, limbs=spec),
            fr.width, fr.height, fr.fps, fr.frame_stride, layout.name, cfg.size, cfg.sigma,
            cfg.joints, cfg.limbs, cfg.use_score, cfg.min_score, cfg.padding, cfg.square,
            cfg.min_crop_size, json.dumps(semantic(cfg), sort_keys=True), cfg.dtype,
            cfg.style, limb_set, compact)
        n_t = fr.num_frames

        def blocks():
            for t0 in range(0, n_t, RENDER_BLOCK_FRAMES):
                t1 = min(n_t, t0 + RENDER_BLOCK_FRAMES)
                yield t0, t1, render(
                    grid[t0:t1], sc[t0:t1], size=cfg.size, sigma=cfg.sigma, joints=cfg.joints,
                    limbs=limbs, use_score=cfg.use_score, min_score=cfg.min_score,
                    valid=valid[t0:t1], dtype=np.dtype(cfg.dtype))
                progress(t1 - t0)

        stored = art.write(out, blocks(), chunk_frames=cfg.chunk_frames,
                           compression_level=cfg.compression_level)
        n_c, s = len(art.channel_names), cfg.size
        raw32 = n_t * n_c * s * s * 4
        return {
            "frames": n_t,
            "channels": n_c,
            "size": s,
            "style": cfg.style,
            "crop_box": [round(v, 2) for v in crop.as_array().tolist()],
            **({"compact_box": list(compact.box)} if compact is not None else {}),
            "frames_with_pose": int(mask.any(axis=(1, 2)).sum()),
            "stored_bytes": stored,
            "compression_vs_float32": round(raw32 / stored, 1) if stored else None,
        }
