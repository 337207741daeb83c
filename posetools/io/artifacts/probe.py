"""``probe/<video_id>.h5``: the frame axis and per-frame brightness."""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import text
from .frames import FrameAxis


@dataclass(frozen=True)
class ProbeArtifact:
    """What probing a video found.

    Attributes:
        frames: The decoded frames.
        mean_luma: ``(T,) float32`` mean RGB intensity per frame, or ``None``.
        pix_fmt: Source pixel format.
        codec: Codec name.
    """

    frames: FrameAxis
    mean_luma: np.ndarray | None
    pix_fmt: str
    codec: str

    def write(self, out: h5py.File) -> None:
        """Write the layout of ``docs/formats.md`` ("probe")."""
        self.frames.write(out)
        if self.mean_luma is not None:
            out.create_dataset("mean_luma", data=np.asarray(self.mean_luma, dtype=np.float32))
        out.attrs["pix_fmt"] = self.pix_fmt
        out.attrs["codec"] = self.codec

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> ProbeArtifact:
        """Read a probe artifact.

        Raises:
            StoreError: It does not follow the layout.
        """
        try:
            luma = fh["mean_luma"][...] if "mean_luma" in fh else None
            return ProbeArtifact(FrameAxis.read(fh, video_id), luma, text(fh.attrs["pix_fmt"]),
                                 text(fh.attrs["codec"]))
        except KeyError as e:
            raise StoreError(f"probe artifact is malformed: missing {e}",
                             video_id=video_id) from None


__all__ = ["ProbeArtifact"]
