"""The detector and pose-expert implementations, one module per backend.

Imported only through :mod:`posetools.experts.build`, so a missing optional
dependency fails only the pipelines that use its backend. Only :mod:`.mm` imports
the OpenMMLab packages.
"""
