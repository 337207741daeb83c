"""Looking at what the pipeline did: overlay videos, confidence plots, heatmap montages.

* :mod:`.draw` — pure drawing functions on ``(H, W, 3) uint8`` RGB images
  (skeletons, joint markers, boxes, labels, a text panel), reusable from a notebook;
* :mod:`.overlay` — the overlay video (every expert, the SST-A aggregate on top,
  dropped / filled / rejected marks) written as an H.264 MP4;
* :mod:`.plots` — confidence over time with SST-A's per-joint selection, and the
  normalized-pose grid (matplotlib, the ``[viz]`` extra, imported lazily);
* :mod:`.montage` — channels x frames of a heatmap cache and its crop box;
* :mod:`.selection` — ``--frames a:b`` / ``--every N``;
* :mod:`.show` — what ``posetools show`` writes for one video.

This package reads artifacts only through :mod:`posetools.io.artifacts` and never
imports the stages, the runner or the CLI.
"""

from .selection import FrameSelection

__all__ = ["FrameSelection"]
