"""PyTorch consumers of posetools outputs (the ``[torch]`` extra).

* :mod:`posetools.torch.render`: heatmap rendering on the trainer's device
  (:class:`~posetools.torch.render.GpuHeatmapRenderer`) and keypoint augmentations.
* :mod:`posetools.torch.datasets`: clip datasets over an output folder.
* :mod:`posetools.torch.sampling`: clip sampling (pure numpy).
* :mod:`posetools.torch.posedist`: blockwise pose distances and negative masks on tensors.
"""
