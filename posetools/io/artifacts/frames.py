"""The frame axis every per-frame artifact shares, and row reads of per-frame datasets.

Datasets ``frame_index (T,) int64`` (original indices in the decoded stream) and
``pts (T,) float64`` (seconds, from the container); root attributes
:data:`FRAME_ATTRS` describing the video (size after rotation, rotation, stride,
header fps and frame count, decoded count, notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import text
from ..video import VideoInfo

FRAME_ATTRS = ("width", "height", "rotation", "frame_stride", "fps", "header_frames",
               "decoded_frames", "frame_count_mismatch", "video_notes")
"""Root attributes describing the frame axis, in the order they are written."""


@dataclass(frozen=True)
class FrameAxis:
    """The frames of one video a stage processed.

    Attributes:
        frame_index: ``(T,) int64`` original frame indices.
        pts: ``(T,) float64`` presentation times in seconds.
        width: Frame width after rotation.
        height: Frame height after rotation.
        rotation: Clockwise degrees applied to every frame.
        frame_stride: The ``video.frame_stride`` used.
        fps: Header frame rate (informational).
        header_frames: Header frame count (0 if unknown).
        decoded_frames: Frames decoded, -1 when decoding stopped at ``end``.
        frame_count_mismatch: Decoded and header counts differ.
        video_notes: ``"; "``-joined notes of the reader.
    """

    frame_index: np.ndarray
    pts: np.ndarray
    width: int
    height: int
    rotation: int
    frame_stride: int
    fps: float
    header_frames: int
    decoded_frames: int
    frame_count_mismatch: bool
    video_notes: str

    @staticmethod
    def from_video(frame_index, pts, info: VideoInfo, frame_stride: int) -> FrameAxis:
        """The axis of frames decoded with a :class:`~posetools.io.video.VideoReader`."""
        return FrameAxis(
            np.asarray(frame_index, dtype=np.int64), np.asarray(pts, dtype=np.float64),
            info.width, info.height, info.rotation, frame_stride, info.fps, info.header_frames,
            -1 if info.decoded_frames is None else info.decoded_frames,
            bool(info.frame_count_mismatch), "; ".join(info.notes))

    def write(self, out: h5py.File) -> None:
        """Write the two datasets and :data:`FRAME_ATTRS`."""
        out.create_dataset("frame_index", data=self.frame_index)
        out.create_dataset("pts", data=self.pts)
        for name in FRAME_ATTRS:
            out.attrs[name] = getattr(self, name)

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> FrameAxis:
        """Read the axis of an artifact.

        Raises:
            StoreError: A dataset or attribute is missing.
        """
        try:
            a = fh.attrs
            return FrameAxis(
                np.asarray(fh["frame_index"][...], dtype=np.int64),
                np.asarray(fh["pts"][...], dtype=np.float64),
                int(a["width"]), int(a["height"]), int(a["rotation"]), int(a["frame_stride"]),
                float(a["fps"]), int(a["header_frames"]), int(a["decoded_frames"]),
                bool(a["frame_count_mismatch"]), text(a["video_notes"]))
        except KeyError as e:
            raise StoreError(f"artifact has no frame axis: missing {e}",
                             video_id=video_id) from None

    @property
    def num_frames(self) -> int:
        """``T``."""
        return int(self.frame_index.shape[0])

    @staticmethod
    def count(fh: h5py.File) -> int:
        """``T`` of an open per-frame artifact, without reading its datasets."""
        return int(fh["frame_index"].shape[0])

    @staticmethod
    def indices(fh: h5py.File, pos: np.ndarray) -> np.ndarray:
        """Original frame numbers at positions ``pos`` of an open per-frame artifact."""
        return read_rows(fh["frame_index"], np.asarray(pos).ravel()).reshape(np.shape(pos))


def read_rows(ds: h5py.Dataset, pos: np.ndarray) -> np.ndarray:
    """Rows ``pos`` (any order, repeats allowed) of a dataset's first axis.

    Reads runs of adjacent chunks as plain slices (HDF5 decompresses each needed
    chunk once); h5py's fancy indexing is avoided because it is orders of
    magnitude slower on chunked, compressed datasets.
    """
    uniq, inv = np.unique(np.asarray(pos, dtype=np.int64), return_inverse=True)
    step = ds.chunks[0] if ds.chunks else max(len(ds), 1)
    cid = uniq // step
    cuts = np.flatnonzero(np.diff(cid) > 1) + 1
    out = np.empty((len(uniq), *ds.shape[1:]), dtype=ds.dtype)
    for s, e in zip(np.r_[0, cuts], np.r_[cuts, len(uniq)], strict=True):
        lo, hi = int(uniq[s]), int(uniq[e - 1]) + 1
        if hi - lo == e - s:
            ds.read_direct(out, np.s_[lo:hi], np.s_[s:e])
        else:
            out[s:e] = ds[lo:hi][uniq[s:e] - lo]
    return out[inv.reshape(-1)]


__all__ = ["FRAME_ATTRS", "FrameAxis", "read_rows"]
