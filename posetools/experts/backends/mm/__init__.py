"""OpenMMLab backend: mmdet person detectors and mmpose pose experts.

This package is the only part of posetools that imports ``mmcv`` / ``mmengine`` /
``mmdet`` / ``mmpose`` (all in :mod:`.models`). Importing it without that stack raises
:class:`~posetools.errors.MissingBackendError` with the install hint. Modules:
:mod:`.models` (building, the per-process cache, scopes), :mod:`.backend`
(:class:`MMDetector`, :class:`MMPoseExpert`), :mod:`.export` (what the ONNX exporter
reads from a model: :func:`export_source`).

Models are named by a short zoo name (see :mod:`posetools.experts.zoo`: ``rtmdet-tiny``,
``faster-rcnn-r50``, ``rtmpose-m``, ``rtmw-l``, ``hrnet-w32``, ``rtmo-s``...) whose config
is the one bundled in the installed package, or by a path to any mmdet / mmpose config.
Weights come from the zoo cache, a local file, or (tests / benchmarks only) the
explicit ``checkpoint: random-init``.

What this backend does beyond mmpose's own APIs:

* **Batches across frames.** ``MMPoseInferencer`` and ``inference_topdown`` run one
  image at a time. Here detector inputs are batched over ``batch_size`` frames, and
  top-down crops of *all* frames in a call are pooled and run ``batch_size`` crops per
  forward pass; one-stage models batch ``batch_size`` frames.
* **Empty detections give zero instances.** mmpose's ``inference_topdown`` (and the
  inferencer) invent a whole-image box when there is none; here a frame without boxes
  never reaches the model.
* **Detector scores are kept** as the instances' ``box_scores``.
* **Scope isolation.** mmengine keeps one global "default scope" that decides which
  package's registry resolves a type name; building or running an mmdet model while it
  says ``mmpose`` (or the reverse) picks the wrong transforms (mmpose issue #2044). Every
  build and every call here runs inside ``DefaultScope.overwrite_default_scope`` for the
  model's own scope, and the caller's scope is restored afterwards.
* **Detector post-processing.** The config's pre-NMS score threshold is raised to the
  ``score_threshold`` asked for. Class-wise NMS only lets a box be suppressed by a
  higher-scoring one, so the boxes kept above the threshold are unchanged, while the NMS
  no longer sorts thousands of hopeless candidates. Only the ``person`` class is kept
  (index of ``person`` in the config's class list, else class 0); the stage then applies
  the final per-frame NMS at ``nms_iou`` and keeps the ``max_detections`` best.
* **Models are cached per process** (keyed by config, weights, device and detector
  threshold), so a worker reused across videos builds each model once.
* **Inference rewrites** (``models.FAST_INFERENCE``, on by default): BatchNorm folded into
  the preceding conv (OpenMMLab's ``--fuse-conv-bn``; skipped for models that share a
  conv across BNs) and channels-last memory. Same function up to float rounding; on CPU here
  about 1.4x faster end to end (``benchmarks/mm_vs_inferencer.py``).

Keypoint score calibration: this backend returns the raw scores below; the stage's
:func:`~posetools.experts.finalize.finalize_poses` clips them to ``[0, 1]`` and gives
a joint whose score is 0, or below ``min_keypoint_score``, score 0 and NaN coordinates:

* **SimCC heads (RTMPose, RTMW):** mmpose reports ``min(max_x, max_y)`` of the raw 1-D
  classification logits. Training matches ``softmax(beta * logits)`` to Gaussian labels
  whose peak is 1, so a confidently localised joint scores about 1; values above 1 are
  over-confident peaks and values <= 0 mark joints mmpose itself treats as not found.
  We **clip to [0, 1]**. Clipping rather than a squashing function keeps the thresholds
  RTMPose users know (e.g. 0.3 in OpenMMLab's demos) meaning the same thing; the only
  information lost is the ordering among joints already at full confidence.
* **Heatmap heads (HRNet):** the heatmap maximum (targets are Gaussians of peak 1);
  clipped to [0, 1].
* **RTMO:** keypoint visibility scores come out of a sigmoid; clipped for safety only.
"""

from __future__ import annotations

from .backend import MMDetector, MMPoseExpert
from .export import ExportSource, export_source
from .models import RANDOM_INIT_SEED, BuiltModel, build_model, clear_model_cache

__all__ = ["MMDetector", "MMPoseExpert", "RANDOM_INIT_SEED", "BuiltModel", "ExportSource",
           "build_model", "clear_model_cache", "export_source"]
