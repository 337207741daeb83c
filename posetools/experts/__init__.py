"""Person detectors and 2D pose experts behind one typed interface.

Backends are imported lazily by :func:`posetools.experts.base.build_detector` /
:func:`~posetools.experts.base.build_expert`; a missing optional backend raises
:class:`~posetools.errors.MissingBackendError` with the install hint.
"""
