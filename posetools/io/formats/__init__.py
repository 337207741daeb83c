"""Keypoint formats of other tools: one module per tool, with its reader (and writer).

* :mod:`.sequence` — :class:`~.sequence.PoseSequence`, the format-neutral dense exchange
  type, and :func:`~.sequence.read_artifact` (from a posetools artifact);
* :mod:`.records` — :class:`~.records.PoseRecords`, per-frame instance lists with explicit
  frame numbers (what the importers return), and their shared helpers;
* :mod:`.pyskl` — the mmaction2 / pyskl annotation pickle (write, read);
* :mod:`.coco` — COCO keypoint annotation JSON (write, read) and results JSON (read);
* :mod:`.mmpose` — MMPose inferencer predictions (read);
* :mod:`.openpose` — OpenPose ``--write_json`` folders, BODY_25 / COCO-18 (read);
* :mod:`.alphapose` — AlphaPose results JSON (read).

Field-by-field descriptions: ``docs/interop.md``.
"""
