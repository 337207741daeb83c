"""Pipeline configuration: strict YAML -> frozen dataclasses.

* :mod:`~posetools.config.loader`: the loader, the semantic/runtime field markers and
  :func:`~posetools.config.loader.semantic`.
* :mod:`~posetools.config.schema`: the pipeline and its stage sections.
* :mod:`~posetools.config.models`: detector and pose-expert configs.
* :mod:`~posetools.config.algorithms`: tracking, SST-A and normalization options.
* :mod:`~posetools.config.presets`: the shipped pipelines (package data).
"""

from .loader import from_dict, load_yaml, require, runtime, semantic, to_dict, weights
from .schema import STAGE_ORDER, PipelineConfig, load_pipeline

__all__ = ["from_dict", "load_yaml", "require", "runtime", "semantic", "to_dict", "weights",
           "STAGE_ORDER", "PipelineConfig", "load_pipeline"]
