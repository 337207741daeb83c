"""``heatmaps/<video_id>.h5``: the zstd-compressed heatmap cache and its grid keypoints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import h5py
import hdf5plugin
import numpy as np

from ...errors import StoreError
from ...heatmaps import CompactCrop
from ..store import read_strings, text, write_strings
from .frames import read_rows

_GZIP = {"compression": "gzip", "compression_opts": 4}


@dataclass(frozen=True)
class HeatmapsArtifact:
    """Everything of a heatmap cache but the ``(T, C, S, S)`` maps themselves.

    Attributes:
        frame_index: ``(T,) int64`` original frame numbers.
        pts: ``(T,) float64`` seconds.
        keypoints: ``(T, P, K, 2) float32`` heatmap-grid pixels (NaN: not rendered).
        scores: ``(T, P, K) float32``.
        valid: ``(T, P) bool``.
        crop_box: ``(4,) float64`` ``[x0, y0, x1, y1]`` in source pixels.
        scale: ``(2,) float64`` grid pixels per source pixel ``(sx, sy)``.
        limbs: ``(L, 2) int32`` joint pairs of the limb channels.
        channel_names: ``C`` names.
        channel_flip: ``(C,) int64`` channel permutation of a horizontal flip.
        width: Source frame width.
        height: Source frame height.
        fps: Header fps (``None`` when upstream had none).
        frame_stride: Frame stride (``None`` when upstream had none).
        layout: Skeleton layout name.
        size: Grid side ``S``.
        sigma: Gaussian sigma (grid pixels).
        render_joints: Joint channels rendered.
        render_limbs: Limb channels rendered.
        use_score: Maps scaled by scores.
        min_score: Scores below it were missing.
        padding: Crop padding factor.
        square: Square crop.
        min_crop_size: Full-frame threshold of the crop.
        render_json: JSON of the semantic config.
        dtype: Stored heatmap dtype.
        style: ``posetools`` or ``mmaction2`` (files without the attr: ``posetools``).
        limb_set: Name of the limb set of the limb channels (``custom`` for an
            explicit list; ``default`` when there are none).
        compact: ``style: mmaction2`` only: the exact crop (``PoseCompact`` box,
            ``Resize`` factors, ``CenterCrop`` offsets).
    """

    frame_index: np.ndarray
    pts: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    crop_box: np.ndarray
    scale: np.ndarray
    limbs: np.ndarray
    channel_names: tuple[str, ...]
    channel_flip: np.ndarray
    width: int
    height: int
    fps: float | None
    frame_stride: int | None
    layout: str
    size: int
    sigma: float
    render_joints: bool
    render_limbs: bool
    use_score: bool
    min_score: float
    padding: float
    square: bool
    min_crop_size: float
    render_json: str
    dtype: str = "float16"
    style: str = "posetools"
    limb_set: str = "default"
    compact: CompactCrop | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, C, S, S)`` of the maps."""
        return (int(self.frame_index.shape[0]), len(self.channel_names), self.size, self.size)

    def write(self, out: h5py.File, blocks: Iterable[tuple[int, int, np.ndarray]], *,
              chunk_frames: int = 4, compression_level: int = 3) -> int:
        """Write the layout of ``docs/formats.md`` ("heatmaps").

        Args:
            out: The (temp) artifact.
            blocks: ``(t0, t1, maps (t1 - t0, C, S, S))`` covering ``[0, T)`` in order,
                so that the whole cache never has to be in memory.
            chunk_frames: Frames per HDF5 chunk.
            compression_level: zstd level (0: none).

        Returns:
            Bytes the maps occupy on disk.
        """
        out.create_dataset("frame_index", data=self.frame_index.astype(np.int64))
        out.create_dataset("pts", data=self.pts.astype(np.float64))
        out.create_dataset("keypoints", data=self.keypoints, **_GZIP)
        out.create_dataset("scores", data=self.scores, **_GZIP)
        out.create_dataset("valid", data=self.valid)
        out.create_dataset("crop_box", data=self.crop_box)
        out.create_dataset("scale", data=np.asarray(self.scale, dtype=np.float64))
        out.create_dataset("limbs", data=self.limbs.astype(np.int32))
        write_strings(out, "channel_names", list(self.channel_names))
        out.create_dataset("channel_flip", data=self.channel_flip)
        n_t, n_c, s, _ = self.shape
        filt = {} if compression_level == 0 else dict(hdf5plugin.Zstd(clevel=compression_level))
        ds = out.create_dataset(
            "heatmaps", shape=(n_t, n_c, s, s), dtype=self.dtype, maxshape=(None, n_c, s, s),
            chunks=(min(chunk_frames, max(n_t, 1)), n_c, s, s), **filt)
        for t0, t1, block in blocks:
            ds[t0:t1] = block
        a = out.attrs
        a["width"], a["height"] = self.width, self.height
        if self.fps is not None:
            a["fps"] = self.fps
        if self.frame_stride is not None:
            a["frame_stride"] = self.frame_stride
        a["layout"] = self.layout
        a["size"], a["sigma"] = self.size, self.sigma
        a["joints"], a["limbs"] = self.render_joints, self.render_limbs
        a["use_score"], a["min_score"] = self.use_score, self.min_score
        a["padding"], a["square"] = self.padding, self.square
        a["min_crop_size"] = self.min_crop_size
        a["num_joints"], a["num_limbs"] = int(self.keypoints.shape[2]), int(len(self.limbs))
        a["coordinates"] = "grid"
        a["render_json"] = self.render_json
        a["style"], a["limb_set"] = self.style, self.limb_set
        if self.compact is not None:
            c = self.compact
            a["compact_box"] = np.asarray(c.box, np.int64)
            a["compacted"] = bool(c.compacted)
            a["compact_scale"] = np.asarray(c.scale, np.float64)  # float32 values, exact
            a["compact_offset"] = np.asarray(c.offset, np.int64)
        out.flush()
        return int(ds.id.get_storage_size())

    @staticmethod
    def rows(fh: h5py.File, pos: np.ndarray, *, maps: bool = False) -> dict[str, np.ndarray]:
        """Per-frame rows at frame positions ``pos``, read chunk-wise.

        ``frame_index``, ``keypoints``, ``scores``, ``valid`` (and ``heatmaps`` with ``maps``).
        """
        names = ("frame_index", "keypoints", "scores", "valid") + (("heatmaps",) if maps else ())
        return {n: read_rows(fh[n], pos) for n in names}

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> HeatmapsArtifact:
        """Read everything but the maps (``fh["heatmaps"]`` is the ``(T, C, S, S)`` dataset).

        Raises:
            StoreError: It does not follow the layout.
        """
        try:
            a = fh.attrs
            return HeatmapsArtifact(
                fh["frame_index"][...], fh["pts"][...], fh["keypoints"][...], fh["scores"][...],
                np.asarray(fh["valid"][...], bool), fh["crop_box"][...], fh["scale"][...],
                fh["limbs"][...], tuple(read_strings(fh, "channel_names")),
                fh["channel_flip"][...], int(a["width"]), int(a["height"]),
                float(a["fps"]) if "fps" in a else None,
                int(a["frame_stride"]) if "frame_stride" in a else None,
                text(a["layout"]), int(a["size"]), float(a["sigma"]), bool(a["joints"]),
                bool(a["limbs"]), bool(a["use_score"]), float(a["min_score"]),
                float(a["padding"]), bool(a["square"]), float(a["min_crop_size"]),
                text(a["render_json"]), str(fh["heatmaps"].dtype),
                text(a.get("style", "posetools")), text(a.get("limb_set", "default")),
                _read_compact(a))
        except KeyError as e:
            raise StoreError(f"heatmaps artifact is malformed: missing {e}",
                             video_id=video_id) from None


def _read_compact(a) -> CompactCrop | None:
    if "compact_box" not in a:
        return None
    box = tuple(int(v) for v in a["compact_box"])
    sx, sy = (float(v) for v in a["compact_scale"])
    left, top = (int(v) for v in a["compact_offset"])
    return CompactCrop(box, bool(a["compacted"]), int(a["size"]), (sx, sy), (left, top))


__all__ = ["HeatmapsArtifact"]
