"""One module per stage artifact layout: a typed dataclass with its ``write`` / ``read``.

Every stage writes, and every consumer (the next stages, the exports, the torch
datasets, ``posetools show``) reads, an artifact only through these classes:

======================  ===================================================
``frames.FrameAxis``    the frame axis every per-frame artifact shares
``probe``               :class:`~.probe.ProbeArtifact`
``detect``              :class:`~.detect.DetectArtifact`
``estimate``            :class:`~.estimate.EstimateArtifact` (and ``ExpertPoses``)
``aggregate``           :class:`~.aggregate.AggregateArtifact` (and ``RefineRecord``)
``normalize``           :class:`~.normalize.NormalizeArtifact`
``heatmaps``            :class:`~.heatmaps.HeatmapsArtifact`
======================  ===================================================

The field-by-field description is ``docs/formats.md``; the provenance attributes
and the atomic commit are :mod:`posetools.io.store`'s.
"""
