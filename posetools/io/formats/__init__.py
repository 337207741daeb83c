"""Keypoint formats of other tools, each with its reader and writer.

* :mod:`.sequence` — :class:`~.sequence.PoseSequence`, the format-neutral exchange type,
  and :func:`~.sequence.read_artifact` (from a posetools artifact);
* :mod:`.pyskl` — the mmaction2 / pyskl annotation pickle;
* :mod:`.coco` — COCO keypoint JSON.
"""
