"""The ``heatmaps`` stage: crop each sequence and render a pseudo-heatmap cache.

Reads ``aggregate/<vid>.h5``, crops the union box of all valid keypoints
(:func:`posetools.heatmaps.compute_crop`), renders ``(T, C, S, S)`` heatmaps
straight on the ``S x S`` grid (:func:`posetools.heatmaps.render_heatmaps`) in
blocks of frames and writes them zstd-compressed, together with the grid
keypoints a trainer needs to render the same tensors itself. Layout:
``docs/formats.md`` ("heatmaps").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

import h5py
import hdf5plugin
import numpy as np

from ..config import require
from ..errors import StoreError
from ..heatmaps import (
    channel_flip_permutation,
    channel_names,
    compute_crop,
    joint_mask,
    render_heatmaps,
)
from ..skeletons import get_layout
from ..store import write_strings
from .base import ProgressFn, Stage, VideoJob
from .common import upstream_file

RENDER_BLOCK_FRAMES = 64
"""Frames rendered per call (bounds memory; output does not depend on it)."""


@dataclass(frozen=True)
class HeatmapsConfig:
    """Options of the ``heatmaps`` stage.

    Presets: ``size: 56, sigma: 0.6`` or ``size: 64, sigma: 0.6`` (PoseC3D,
    joints), ``size: 112, sigma: 1.2`` (PeVL), ``size: 30, sigma: 1.0, limbs:
    true`` (LA2DS alignment, joints + limbs).

    Attributes:
        size: Heatmap side ``S`` in pixels.
        sigma: Gaussian sigma in heatmap pixels (maps are exactly 0 beyond 3 sigma).
        joints: Emit one channel per joint.
        limbs: Emit one channel per limb of the layout (after the joint channels).
        use_score: Scale each Gaussian by the keypoint score (else by 1).
        min_score: Joints scoring below this are missing (mmaction2's ``eps``).
        padding: The crop is the union keypoint box scaled by this factor.
        square: Widen the crop to a square (keeps the aspect ratio).
        min_crop_size: Below this box side (source pixels) the full frame is used.
        dtype: Stored heatmap dtype.
        chunk_frames: Frames per HDF5 chunk (storage only; not in the fingerprint).
        compression_level: zstd level 1-22, 0 for no compression (storage only).
    """

    size: int = 56
    sigma: float = 0.6
    joints: bool = True
    limbs: bool = False
    use_score: bool = True
    min_score: float = 1e-4
    padding: float = 1.25
    square: bool = True
    min_crop_size: float = 10.0
    dtype: Literal["float16", "float32"] = "float16"
    chunk_frames: int = 4
    compression_level: int = 3

    def __post_init__(self) -> None:
        require(2 <= self.size <= 1024, "size: must be in [2, 1024]")
        require(self.sigma > 0, "sigma: must be > 0")
        require(self.joints or self.limbs, "joints: at least one of joints, limbs must be true")
        require(0 <= self.min_score < 1, "min_score: must be in [0, 1)")
        require(self.padding >= 1, "padding: must be >= 1")
        require(self.min_crop_size >= 0, "min_crop_size: must be >= 0")
        require(self.chunk_frames >= 1, "chunk_frames: must be >= 1")
        require(0 <= self.compression_level <= 22, "compression_level: must be in [0, 22]")

    def render_params(self) -> dict[str, Any]:
        """The fields that change the output (everything but storage knobs)."""
        d = asdict(self)
        d.pop("chunk_frames")
        d.pop("compression_level")
        return d


class HeatmapsStage(Stage):
    """Render the heatmap cache of one video (see ``docs/formats.md``)."""

    name = "heatmaps"
    version = "1"

    def inputs(self) -> tuple[str, ...]:
        """Reads the aggregated keypoints."""
        return ("aggregate",)

    @property
    def config(self) -> HeatmapsConfig:
        """The ``heatmaps`` section of the pipeline."""
        return self.pipeline.heatmaps

    def params(self) -> dict[str, Any]:
        """Semantic parameters (storage knobs excluded)."""
        return self.config.render_params()

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Crop, render in blocks, write the cache."""
        cfg = self.config
        with upstream_file(job, "aggregate") as src:
            try:
                kp = src["keypoints"][...].astype(np.float32)
                sc = src["scores"][...].astype(np.float32)
                valid = src["valid"][...].astype(bool)
                frame_index = src["frame_index"][...]
                pts = src["pts"][...]
                layout_name = _text(src.attrs["layout"])
                width, height = int(src.attrs["width"]), int(src.attrs["height"])
                extra = {k: src.attrs[k] for k in ("fps", "frame_stride") if k in src.attrs}
            except KeyError as e:
                raise StoreError(f"aggregate artifact lacks {e}", video_id=job.video_id,
                                 stage=self.name) from None
        layout = get_layout(layout_name)
        n_t, n_p, n_k = sc.shape
        if kp.shape != (n_t, n_p, n_k, 2) or valid.shape != (n_t, n_p) or n_k != layout.num_joints:
            raise StoreError(
                f"aggregate arrays do not match: keypoints {kp.shape}, scores {sc.shape}, "
                f"valid {valid.shape}, layout {layout_name} (K={layout.num_joints})",
                video_id=job.video_id, stage=self.name)
        crop = compute_crop(kp, sc, valid, frame_size=(width, height), padding=cfg.padding,
                            square=cfg.square, min_size=cfg.min_crop_size,
                            min_score=cfg.min_score)
        grid = crop.to_grid(kp, cfg.size)
        mask = joint_mask(kp, sc, valid, min_score=cfg.min_score)
        grid[~mask] = np.nan  # what is not rendered is not stored as a coordinate either
        limbs = np.asarray(layout.limbs if cfg.limbs else [], np.int64).reshape(-1, 2)
        names = channel_names(layout, joints=cfg.joints, limbs=cfg.limbs)
        n_c, s = len(names), cfg.size

        out.create_dataset("frame_index", data=frame_index.astype(np.int64))
        out.create_dataset("pts", data=pts.astype(np.float64))
        out.create_dataset("keypoints", data=grid, compression="gzip", compression_opts=4)
        out.create_dataset("scores", data=sc, compression="gzip", compression_opts=4)
        out.create_dataset("valid", data=valid)
        out.create_dataset("crop_box", data=crop.as_array())
        out.create_dataset("scale", data=np.array(crop.scale(s), dtype=np.float64))
        out.create_dataset("limbs", data=limbs.astype(np.int32))
        write_strings(out, "channel_names", names)
        out.create_dataset("channel_flip", data=channel_flip_permutation(
            layout, joints=cfg.joints, limbs=cfg.limbs))
        filt = ({} if cfg.compression_level == 0
                else dict(hdf5plugin.Zstd(clevel=cfg.compression_level)))
        ds = out.create_dataset(
            "heatmaps", shape=(n_t, n_c, s, s), dtype=cfg.dtype, maxshape=(None, n_c, s, s),
            chunks=(min(cfg.chunk_frames, max(n_t, 1)), n_c, s, s), **filt)
        for t0 in range(0, n_t, RENDER_BLOCK_FRAMES):
            t1 = min(n_t, t0 + RENDER_BLOCK_FRAMES)
            ds[t0:t1] = render_heatmaps(
                grid[t0:t1], sc[t0:t1], size=s, sigma=cfg.sigma, joints=cfg.joints,
                limbs=limbs, use_score=cfg.use_score, min_score=cfg.min_score,
                valid=valid[t0:t1], dtype=np.dtype(cfg.dtype))
            progress(t1 - t0)

        a = out.attrs
        a["width"], a["height"] = width, height
        for k, v in extra.items():
            a[k] = v
        a["layout"] = layout.name
        a["size"], a["sigma"] = s, cfg.sigma
        a["joints"], a["limbs"] = cfg.joints, cfg.limbs
        a["use_score"], a["min_score"] = cfg.use_score, cfg.min_score
        a["padding"], a["square"], a["min_crop_size"] = cfg.padding, cfg.square, cfg.min_crop_size
        a["num_joints"], a["num_limbs"] = n_k, len(limbs)
        a["coordinates"] = "grid"
        a["render_json"] = json.dumps(cfg.render_params(), sort_keys=True)
        out.flush()
        stored = int(ds.id.get_storage_size())
        raw32 = n_t * n_c * s * s * 4
        return {
            "frames": n_t,
            "channels": n_c,
            "size": s,
            "crop_box": [round(v, 2) for v in crop.as_array().tolist()],
            "frames_with_pose": int(mask.any(axis=(1, 2)).sum()),
            "stored_bytes": stored,
            "compression_vs_float32": round(raw32 / stored, 1) if stored else None,
        }


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
